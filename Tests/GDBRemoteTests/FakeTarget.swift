// A RemoteTarget with no machine behind it: 16 registers, 4 KiB of memory at
// 0x1000, a breakpoint set, and scripted run results.  Shared by the stub and
// server tests.

@testable import GDBRemote

final class FakeTarget: RemoteTarget {
    var regs: [UInt32] = (0..<16).map { UInt32($0) * 0x1111_1111 }
    var memory = [UInt8](repeating: 0, count: 0x1000)
    let memoryBase: UInt32 = 0x1000
    var breakpoints: [(BreakpointKind, UInt32, Int)] = []
    var steps = 0
    var resumes = 0
    /// What `resume` returns; nil: run until `interrupted` says so.
    var resumeResult: StopEvent? = .signal(5)
    var stopReason: StopEvent = .signal(5)
    var monitorCommands: [String] = []
    /// Calls to `interrupted` during the last resume.
    var polls = 0

    init() {
        for i in 0..<memory.count { memory[i] = UInt8(i & 0xFF) }
    }

    func registers() -> [UInt32] { regs }

    func setRegister(_ n: Int, _ value: UInt32) -> Bool {
        guard n < 16 else { return false }
        if n == 10 && value != regs[10] { return false }     // CS is read-only, as on the machine
        regs[n] = value
        return true
    }

    func readMemory(_ address: UInt32, _ count: Int) -> [UInt8]? {
        guard address >= memoryBase, address < memoryBase + UInt32(memory.count) else { return nil }
        let start = Int(address - memoryBase)
        return Array(memory[start..<min(start + count, memory.count)])
    }

    func writeMemory(_ address: UInt32, _ bytes: [UInt8]) -> Bool {
        guard address >= memoryBase, UInt64(address) + UInt64(bytes.count) <= UInt64(memoryBase) + UInt64(memory.count) else { return false }
        let start = Int(address - memoryBase)
        memory.replaceSubrange(start..<start + bytes.count, with: bytes)
        return true
    }

    func step() -> StopEvent {
        steps += 1
        regs[8] &+= 1
        stopReason = .signal(5)
        return stopReason
    }

    func resume(until interrupted: () -> Bool) -> StopEvent {
        resumes += 1
        polls = 0
        if let r = resumeResult { stopReason = r; return r }
        while true {
            polls += 1
            if interrupted() { stopReason = .signal(2); return stopReason }
            usleepShort()
        }
    }

    func supports(_ kind: BreakpointKind) -> Bool { kind == .software || kind == .hardware }

    func insertBreakpoint(_ kind: BreakpointKind, at address: UInt32, length: Int) -> Bool {
        guard address != 0xDEAD else { return false }
        breakpoints.append((kind, address, length))
        return true
    }

    func removeBreakpoint(_ kind: BreakpointKind, at address: UInt32, length: Int) -> Bool {
        guard let i = breakpoints.firstIndex(where: { $0.0 == kind && $0.1 == address }) else { return false }
        breakpoints.remove(at: i)
        return true
    }

    func monitor(_ command: String) -> String {
        monitorCommands.append(command)
        return command == "quiet" ? "" : "ran: \(command)\n"
    }
}

#if canImport(Glibc)
import Glibc
#endif
func usleepShort() { usleep(1000) }
