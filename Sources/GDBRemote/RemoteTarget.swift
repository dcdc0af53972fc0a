// What the stub needs from whatever it debugs.  The stub speaks the protocol;
// a RemoteTarget owns the machine.  MachineTarget implements it over a bare
// PC.Machine; the debugger's session can provide its own later (so that
// `monitor CMD` runs the full command language and breakpoints are shared).

/// Why the target stopped, as gdb's stop replies say it (gdb manual E.3
/// "Stop Reply Packets").
public enum StopEvent: Equatable, Sendable {
    /// Stopped with a signal (`T05thread:01;`): 5 SIGTRAP after a step or a
    /// breakpoint, 2 SIGINT after Ctrl-C, 11 SIGSEGV after a triple fault…
    case signal(UInt8)
    /// A watchpoint triggered on an access at `address` (`T05watch:ADDR;`).
    case watchpoint(BreakpointKind, address: UInt32)
    /// The guest ended with an exit status (`W21`): debug-exit, halt.
    case exited(UInt8)
    /// The guest ended as if killed by a signal (`X0b`).
    case terminated(UInt8)

    public static let sigint: UInt8 = 2, sigill: UInt8 = 4, sigtrap: UInt8 = 5, sigsegv: UInt8 = 11

    /// True when the guest can no longer run (gdb forgets the process).
    public var isFinal: Bool {
        switch self {
        case .exited, .terminated: return true
        case .signal, .watchpoint: return false
        }
    }

    /// The stop reply packet's payload.
    public var reply: String {
        switch self {
        case .signal(let s): return "T\(GDBHex.byte(s))thread:01;"
        case .watchpoint(let kind, let a):
            let name = kind == .readWatchpoint ? "rwatch" : kind == .accessWatchpoint ? "awatch" : "watch"
            return "T05\(name):\(String(a, radix: 16));thread:01;"
        case .exited(let code): return "W\(GDBHex.byte(code))"
        case .terminated(let s): return "X\(GDBHex.byte(s))"
        }
    }
}

/// The `Z`/`z` packet types (gdb manual E.4 "Packets", `Z type,addr,kind`).
public enum BreakpointKind: Int, Sendable, CaseIterable {
    case software = 0, hardware = 1, writeWatchpoint = 2, readWatchpoint = 3, accessWatchpoint = 4
}

/// A debuggee as the stub sees it: 16 registers in gdb's i386 order, flat
/// linear memory, run control and breakpoints.  Calls come from the thread
/// that runs the server, one at a time.
public protocol RemoteTarget: AnyObject {
    /// EAX ECX EDX EBX ESP EBP ESI EDI EIP EFLAGS CS SS DS ES FS GS.
    func registers() -> [UInt32]
    /// Writes register `n` (the same numbering); false when it cannot.
    func setRegister(_ n: Int, _ value: UInt32) -> Bool
    /// Up to `count` bytes at a linear address: fewer when the range runs
    /// into unmapped memory, nil when its first byte is unreadable.
    func readMemory(_ address: UInt32, _ count: Int) -> [UInt8]?
    /// Writes all the bytes or none; false when any is unwritable.
    func writeMemory(_ address: UInt32, _ bytes: [UInt8]) -> Bool
    /// Executes one instruction.
    func step() -> StopEvent
    /// Runs until something stops the guest or `interrupted` returns true;
    /// the target calls it often (between slices of a few milliseconds).
    func resume(until interrupted: () -> Bool) -> StopEvent
    /// Whether `Z type` is implemented at all (otherwise the stub answers
    /// with an empty reply, as gdb expects for an unsupported packet).
    func supports(_ kind: BreakpointKind) -> Bool
    func insertBreakpoint(_ kind: BreakpointKind, at address: UInt32, length: Int) -> Bool
    func removeBreakpoint(_ kind: BreakpointKind, at address: UInt32, length: Int) -> Bool
    /// Runs a `monitor` command and returns its output (text, lines ending in "\n").
    func monitor(_ command: String) -> String
    /// Why the target is stopped now (`?` after a new connection).
    var stopReason: StopEvent { get }
}
