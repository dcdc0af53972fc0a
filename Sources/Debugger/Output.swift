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
        /// Watchpoints the last instruction triggered, in number order (gdb reports each).
        case watchpoint([WatchTrigger])
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

/// One watchpoint's report after the instruction that triggered it.
public struct WatchTrigger: Sendable, Equatable {
    public var number: Int
    public var kind: WatchKind
    /// The watched expression as the user typed it.
    public var expression: String
    /// The value before, as gdb prints it; nil when gdb shows `Value =` alone
    /// (a read, or an access that left the value as it was).
    public var old: String?
    /// The value now.
    public var value: String

    public init(number: Int, kind: WatchKind, expression: String, old: String?, value: String) {
        self.number = number; self.kind = kind; self.expression = expression; self.old = old; self.value = value
    }

    /// gdb's block: a blank line, the title, a blank line, the values.
    var rendered: String {
        let values = old.map { "Old value = \($0)\nNew value = \(value)\n" } ?? "Value = \(value)\n"
        return "\n\(kind.title) \(number): \(expression)\n\n" + values
    }
}

public enum Output: Sendable, Equatable {
    /// Text, with its own line ends (`output` and `echo` may leave a line open).
    case text(String)
    /// Bytes the guest sent to its serial console during the command.
    case serial([UInt8])
    case stop(StopEvent)
    /// A `print` result: history number, value and its rendering.
    case value(number: Int, value: Value, text: String)
    /// Lesson verbs (Lesson.swift): a note in Markdown-light, a pause, a
    /// panel to focus, something to highlight (with what it is, in words).
    case note(String)
    case pause
    case focus(LessonPanel)
    case highlight(Highlight, text: String)

    /// The transcript form.
    public var rendered: String {
        switch self {
        case .text(let s): return s
        case .serial(let b): return String(decoding: b, as: UTF8.self)
        case .value(let n, _, let text): return "$\(n) = \(text)\n"
        case .stop(let e): return Output.render(e)
        case .note(let text): return NoteText.transcript(text)
        case .pause: return ""
        case .focus: return ""
        case .highlight(_, let text): return "» highlight " + text + "\n"
        }
    }

    static func render(_ e: StopEvent) -> String {
        let frame = hex(e.address) + " in " + (e.function ?? "??") + " ()\n"
        switch e.reason {
        case .breakpoint(let n, let temporary):
            return "\n" + (temporary ? "Temporary breakpoint " : "Breakpoint ") + "\(n), " + frame
        case .catchpoint(let n, let what): return "\nCatchpoint \(n) (\(what)), " + frame
        case .watchpoint(let triggers): return triggers.map(\.rendered).joined() + frame
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
        case .watchpoint(let a, _): return "[watchpoint at \(hex(a))]"
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
