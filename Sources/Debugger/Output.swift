import PC
import X86

// What a command gives back: values and events, never printed by the core.
// The batch transcript, the TUI and the gdb stub render them with
// `Output.render`, or read the structured cases directly.

/// Why and where a run stopped.
public struct StopEvent: Sendable, Equatable {
    public enum Reason: Sendable, Equatable {
        case breakpoint(Int, temporary: Bool)
        /// A catchpoint: its number and what it caught (`trap #GP error=0x0`, `ring 0 -> 3`).
        case catchpoint(Int, String)
        /// A step, `finish`, `until` or `advance` that ended where it meant to.
        case location
        /// The per-command instruction limit ran out.
        case limit
        /// Ctrl-C.
        case interrupted
        /// The guest is gone: debug-exit, halt, triple fault…
        case ended(MachineStop)
    }
    public var reason: Reason
    /// Linear address of the next instruction (CS base + EIP).
    public var address: UInt32
    /// The function the address lies in, when a symbol covers it.
    public var function: String?
}

public enum Output: Sendable, Equatable {
    /// Text, with its own line ends (`output` and `echo` may leave a line open).
    case text(String)
    /// Bytes the guest sent to its serial console during the command.
    case serial([UInt8])
    case stop(StopEvent)
    /// A `print` result: history number, value and its rendering.
    case value(number: Int, value: Value, text: String)

    /// The transcript form.
    public var rendered: String {
        switch self {
        case .text(let s): return s
        case .serial(let b): return String(decoding: b, as: UTF8.self)
        case .value(let n, _, let text): return "$\(n) = \(text)\n"
        case .stop(let e): return Output.render(e)
        }
    }

    static func render(_ e: StopEvent) -> String {
        let frame = hex(e.address) + " in " + (e.function ?? "??") + " ()\n"
        switch e.reason {
        case .breakpoint(let n, let temporary):
            return "\n" + (temporary ? "Temporary breakpoint " : "Breakpoint ") + "\(n), " + frame
        case .catchpoint(let n, let what): return "\nCatchpoint \(n) (\(what)), " + frame
        case .location: return frame
        case .limit: return "\nProgram stopped: instruction limit\n" + frame
        case .interrupted: return "\nProgram received signal SIGINT, Interrupt.\n" + frame
        case .ended(let stop): return Output.ended(stop) + "\n"
        }
    }

    /// How the end of the guest reads in a transcript.
    public static func ended(_ stop: MachineStop) -> String {
        switch stop {
        case .debugExit(let status): return "[Inferior 1 (guest) exited with code \(status)]"
        case .halted: return "[guest halted]"
        case .idleForever: return "[guest halted with interrupts enabled; no device will wake it]"
        case .tripleFault: return "[triple fault]"
        case .reset: return "[guest reset the machine]"
        case .unsupported(let why): return "[guest stopped: \(why)]"
        case .exception(let e): return "[unhandled exception \(e.name)]"
        case .instructionLimit: return "[instruction limit]"
        case .breakpoint(let a): return "[breakpoint at \(hex(a))]"
        case .interrupted: return "[interrupted]"
        }
    }
}

/// An error a script can see: the message, the column for parse errors,
/// and the place in a sourced file when it happened there.
public struct CommandError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var column: Int?
    public var file: String?
    public var line: Int?
    public init(_ message: String, column: Int? = nil) { self.message = message; self.column = column }
    public var description: String { message }
}

public struct CommandResult: Sendable, Equatable {
    public var outputs: [Output] = []
    public var error: CommandError?
    /// Set by `quit`: the exit status asked for (nil: the session's default).
    public var quit: Bool = false
    public var quitStatus: Int32?
    public init() {}

    /// The rendered transcript of the outputs (without the error).
    public var text: String { outputs.map(\.rendered).joined() }
}
