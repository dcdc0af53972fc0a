// MachineTarget over a real PC.Machine: gdb's register order, memory through
// the guest's page tables without side effects, breakpoints in the CPU's set,
// stepping, running, Ctrl-C, the ends of a run, and the monitor built-ins.

import Testing
@testable import GDBRemote
import PC
import X86

/// A standard PC with `code` at 0x1000, started flat at CPL 0.
func machine(_ code: [UInt8]) -> (Machine, MachineTarget) {
    let m = Machine.standardPC(memoryMiB: 1)
    m.load(code, at: 0x1000)
    m.cpu.resetFlat(entry: 0x1000, stack: m.ramSize)
    return (m, MachineTarget(machine: m))
}

// mov eax,1 / inc eax / mov [0x2000],eax / mov al,2 / out 0xf4,al / hlt
let program: [UInt8] = [0xB8, 0x01, 0x00, 0x00, 0x00,   // 0x1000
                        0x40,                           // 0x1005
                        0xA3, 0x00, 0x20, 0x00, 0x00,   // 0x1006
                        0xB0, 0x02,                     // 0x100b
                        0xE6, 0xF4,                     // 0x100d
                        0xF4]                           // 0x100f

@Suite struct MachineTargetTests {
    @Test func registersInGdbOrder() {
        let (m, t) = machine(program)
        m.cpu.regs[Reg.ebx] = 0x1234
        let r = t.registers()
        #expect(r.count == 16)
        #expect(r[3] == 0x1234)
        #expect(r[4] == m.ramSize)          // ESP
        #expect(r[8] == 0x1000)             // EIP
        #expect(r[9] == 0x2)                // EFLAGS
        #expect(r[10] == 0x08)              // CS
        #expect(r[11...15].allSatisfy { $0 == 0x10 })
    }

    @Test func settingRegisters() {
        let (m, t) = machine(program)
        #expect(t.setRegister(0, 0xCAFE))
        #expect(m.cpu.regs[Reg.eax] == 0xCAFE)
        #expect(t.setRegister(8, 0x1005))
        #expect(m.cpu.eip == 0x1005)
        #expect(t.setRegister(9, 0x246))
        #expect(m.cpu.eflags == 0x246)
        #expect(t.setRegister(12, 0x10))     // DS unchanged: fine
        #expect(!t.setRegister(10, 0x18))    // CS never
        #expect(!t.setRegister(12, 0x18))    // no GDT entry: refused like MOV DS would be
        #expect(!t.setRegister(12, 0x10000))
        #expect(!t.setRegister(16, 0))
        #expect(m.cpu.segs[Seg.ds].selector == 0x10)
    }

    @Test func memoryWithoutPaging() {
        let (_, t) = machine(program)
        #expect(t.readMemory(0x1000, 5) == [0xB8, 0x01, 0x00, 0x00, 0x00])
        // Past the end of RAM: the part that exists.
        #expect(t.readMemory(0xFFFFE, 4) == [0, 0])
        #expect(t.readMemory(0x200000, 4) == nil)
        #expect(t.writeMemory(0x3000, [1, 2, 3]))
        #expect(t.readMemory(0x3000, 3) == [1, 2, 3])
        #expect(!t.writeMemory(0xFFFFF, [1, 2]))     // all or nothing
        #expect(t.readMemory(0xFFFFF, 1) == [0])
    }

    @Test func memoryThroughPageTablesWithoutSideEffects() {
        let (m, t) = machine(program)
        // CR3 = 0x10000, PDE 0 -> table at 0x11000, linear page 0x400000>>12... map linear 0x5000 -> physical 0x1000 only.
        m.load([0x03, 0x10, 0x01, 0x00], at: 0x10000)          // PDE 0: 0x11000 | P | RW
        m.load([0x03, 0x10, 0x00, 0x00], at: 0x11000 + 5 * 4)  // PTE 5: 0x1000 | P | RW
        m.cpu.cr3 = 0x10000
        m.cpu.cr0 |= CR0.pg
        #expect(t.readMemory(0x5000, 2) == [0xB8, 0x01])
        #expect(t.readMemory(0x1000, 1) == nil)                 // not mapped
        #expect(t.readMemory(0x5FFE, 4) == [0, 0])              // stops where the mapping ends
        #expect(t.writeMemory(0x5010, [0xAA]))
        #expect(m.cpu.readPhysical(0x1010, 1) == 0xAA)
        #expect(!t.writeMemory(0x5FFF, [1, 2]))
        // No accessed or dirty bits, no CR2.
        #expect(m.cpu.readPhysical(0x10000, 4) == 0x11003)
        #expect(m.cpu.readPhysical(0x11014, 4) == 0x1003)
        #expect(m.cpu.cr2 == 0)
    }

    @Test func stepAndBreakpoints() {
        let (m, t) = machine(program)
        #expect(t.step() == .signal(5))
        #expect(m.cpu.eip == 0x1005 && m.cpu.regs[Reg.eax] == 1)
        #expect(t.supports(.software) && t.supports(.hardware))
        #expect(t.supports(.writeWatchpoint) && t.supports(.readWatchpoint) && t.supports(.accessWatchpoint))
        #expect(t.insertBreakpoint(.software, at: 0x100B, length: 1))
        #expect(m.cpu.breakpoints == [0x100B])
        #expect(t.resume(until: { false }) == .signal(5))
        #expect(m.cpu.eip == 0x100B)
        #expect(m.cpu.readPhysical(0x2000, 4) == 2)
        // Stepping from a breakpoint executes it, it does not stop again.
        #expect(t.step() == .signal(5))
        #expect(m.cpu.eip == 0x100D)
        #expect(t.removeBreakpoint(.software, at: 0x100B, length: 1))
        #expect(t.removeBreakpoint(.software, at: 0x100B, length: 1))   // twice is harmless
        #expect(m.cpu.breakpoints.isEmpty)
        #expect(t.monitor("info stop") == "stepped\n")
    }

    /// Z2/Z3/Z4 put ranges into the CPU's watchpoint list; the run stops after
    /// the instruction that touched one, and the reply names the kind and the
    /// first watched byte touched (gdb manual E.3, `watch`/`rwatch`/`awatch`).
    @Test func watchpoints() {
        let (m, t) = machine(program)
        #expect(t.insertBreakpoint(.writeWatchpoint, at: 0x2000, length: 4))
        #expect(t.insertBreakpoint(.writeWatchpoint, at: 0x2000, length: 4))   // twice: one range, counted
        #expect(t.insertBreakpoint(.readWatchpoint, at: 0x2000, length: 4))
        #expect(m.cpu.watchpoints == [Watchpoint(address: 0x2000, length: 4, kind: .write),
                                      Watchpoint(address: 0x2000, length: 4, kind: .read)])
        #expect(t.resume(until: { false }) == .watchpoint(.writeWatchpoint, address: 0x2000))
        #expect(m.cpu.eip == 0x100B, "after mov [0x2000],eax")
        #expect(t.lastMachineStop == .watchpoint(0x2000, write: true))
        #expect(t.monitor("info stop") == "watchpoint at 0x00002000 (write)\n")
        #expect(t.removeBreakpoint(.writeWatchpoint, at: 0x2000, length: 4))
        #expect(m.cpu.watchpoints.count == 2)
        #expect(t.removeBreakpoint(.writeWatchpoint, at: 0x2000, length: 4))
        #expect(t.removeBreakpoint(.writeWatchpoint, at: 0x2000, length: 4))   // once more is harmless
        #expect(t.removeBreakpoint(.readWatchpoint, at: 0x2000, length: 4))
        #expect(m.cpu.watchpoints.isEmpty)
        #expect(t.resume(until: { false }) == .exited(5))
    }

    @Test func accessWatchpointThroughTheStub() {
        let (m, t) = machine(program)
        let stub = GDBStub(target: t)
        #expect(send(stub, "Z4,2002,1") == "OK")
        #expect(send(stub, "s") == "T05thread:01;")                       // mov eax,1: no access
        #expect(send(stub, "c") == "T05awatch:2002;thread:01;")           // the dword store covers 0x2002
        #expect(m.cpu.eip == 0x100B)
        #expect(send(stub, "?") == "T05awatch:2002;thread:01;")
        #expect(send(stub, "z4,2002,1") == "OK")
        #expect(send(stub, "Z3,2000,0") == "E01")                         // no length
        #expect(send(stub, "Z2,2000,100000") == "E01")                    // longer than a page
        #expect(send(stub, "c") == "W05")
    }

    /// A single step that stores into the range answers with the watchpoint, not a plain SIGTRAP.
    @Test func stepOntoAWatchedStore() {
        let (m, t) = machine(program)
        #expect(t.insertBreakpoint(.accessWatchpoint, at: 0x2000, length: 4))
        #expect(t.step() == .signal(5))
        #expect(t.step() == .signal(5))
        #expect(t.step() == .watchpoint(.accessWatchpoint, address: 0x2000))
        #expect(m.cpu.eip == 0x100B && m.cpu.readPhysical(0x2000, 4) == 2)
    }

    @Test func continuingFromABreakpointPassesIt() {
        let (m, t) = machine(program)
        #expect(t.insertBreakpoint(.software, at: 0x1000, length: 1))
        #expect(t.insertBreakpoint(.hardware, at: 0x1000, length: 1))
        // Stopped at the entry, which has a breakpoint: continue runs on to the exit.
        #expect(t.resume(until: { false }) == .exited(5))      // debug-exit 2: (2 << 1) | 1
        #expect(t.stopReason == .exited(5))
        #expect(t.lastMachineStop == .debugExit(5))
        #expect(t.monitor("info stop") == "debug-exit, status 5\n")
        #expect(t.removeBreakpoint(.hardware, at: 0x1000, length: 1))
        #expect(m.cpu.breakpoints == [0x1000])                 // the Z0 one is still there
    }

    @Test func writingCodeDropsItsDecodedBlock() {
        let (m, t) = machine(program)
        #expect(t.step() == .signal(5))        // the block at 0x1000 is decoded now
        #expect(t.writeMemory(0x1005, [0x90])) // inc eax -> nop
        #expect(t.step() == .signal(5))
        #expect(m.cpu.regs[Reg.eax] == 1)
    }

    @Test func controlCStopsAnEndlessLoop() {
        let (m, t) = machine([0xEB, 0xFE])    // jmp $
        t.sliceInstructions = 1000
        var polls = 0
        #expect(t.resume(until: { polls += 1; return polls == 5 }) == .signal(2))
        #expect(m.cpu.eip == 0x1000)
        #expect(m.cpu.instructions == 5000)
        #expect(t.stopReason == .signal(2))
    }

    @Test func theEndsOfARun() {
        #expect(MachineTarget.event(for: .halted) == .exited(0))
        #expect(MachineTarget.event(for: .idleForever) == .exited(0))
        #expect(MachineTarget.event(for: .debugExit(33)) == .exited(33))
        #expect(MachineTarget.event(for: .reset) == .exited(5))
        #expect(MachineTarget.event(for: .tripleFault) == .signal(11))
        #expect(MachineTarget.event(for: .unsupported("x")) == .signal(4))
        #expect(MachineTarget.event(for: .breakpoint(0x10)) == .signal(5))
        #expect(MachineTarget.event(for: .interrupted) == .signal(2))
        let (_, t) = machine([0xFA, 0xF4])    // cli / hlt
        #expect(t.resume(until: { false }) == .exited(0))
    }

    @Test func monitorBuiltIns() {
        let (m, t) = machine(program)
        #expect(t.monitor("info rings") == "CPL 0, IOPL 0, IF 0\n")
        m.cpu.setEFLAGS(0x3202)
        #expect(t.monitor("info rings") == "CPL 0, IOPL 3, IF 1\n")
        #expect(t.monitor("help").contains("info rings"))
        #expect(t.monitor("").contains("info registers"))
        #expect(t.monitor("frobnicate").hasPrefix("unknown monitor command: frobnicate"))
        #expect(t.monitor("info stop") == "stopped at the entry point\n")
        let regs = t.monitor("info registers")
        #expect(regs.hasPrefix("eax            0x0                0\n"))
        #expect(regs.contains("eip            0x1000             0x1000\n"))
        #expect(regs.contains("eflags         0x3202             [ IF ]\n"))
        #expect(MachineTarget.flagsText(0x46) == "[ PF ZF ]")       // as gdb printed it for hello.elf
        #expect(MachineTarget.flagsText(0x2) == "[ ]")
        #expect(regs.contains("cs             0x8                8\n"))
        t.monitorHandler = { $0 == "traps" ? "no traps\n" : nil }
        #expect(t.monitor("traps") == "no traps\n")
        #expect(t.monitor("info rings").hasPrefix("CPL 0"))
    }

    @Test func overTheSocketWithARealMachine() throws {
        let (m, t) = machine(program)
        let s = try RunningServer(t)
        let c = try Client(port: s.port)
        #expect(try c.ask("Z0,100b,1") == "OK")
        #expect(try c.ask("c") == "T05thread:01;")
        #expect(try c.ask("p8") == "0b100000")
        #expect(try c.ask("m2000,4") == "02000000")
        #expect(try c.ask("z0,100b,1") == "OK")
        #expect(try c.ask("vCont;s:1") == "T05thread:01;")
        #expect(try c.ask("c") == "W05")
        #expect(try c.ask("D") == "OK")
        #expect(s.end() == .targetEnded(.exited(5)))
        #expect(m.cpu.breakpoints.isEmpty)
    }
}
