// The command language as data: what the parser produces and the session
// executes.  Names and abbreviations are gdb's (CommandParser.swift).

/// gdb's `/FMT`: an optional count, a format letter and a size letter.
public struct Format: Sendable, Equatable {
    public var count: Int?
    public var letter: Character?
    public var size: Character?
    public init(count: Int? = nil, letter: Character? = nil, size: Character? = nil) {
        self.count = count; self.letter = letter; self.size = size
    }
    public var isEmpty: Bool { count == nil && letter == nil && size == nil }
    /// As gdb shows it in `info display`: "/x", "/4xw".
    public var text: String {
        isEmpty ? "" : "/" + (count.map(String.init) ?? "") + (letter.map { String($0) } ?? "") + (size.map { String($0) } ?? "")
    }
    /// True for the formats that examine memory (`display/i $pc` shows `x/i $pc`).
    public var examinesMemory: Bool { letter == "i" || letter == "s" || size != nil || count != nil }
}

public enum InfoTopic: Sendable, Equatable {
    case registers([String])
    case breakpoints
    case watchpoints
    case display
    case symbol(Expr, text: String)
    case cpu, rings, gdt, idt, tss
    case pt(Expr)
    /// `info shadow [ADDRESS]`: the guest's walk, then the shadow entry (EIP without an address).
    case shadow(Expr?)
    /// `info ept [ADDRESS]` (vtx with EPT): the guest's walk, then the EPT walk (VTxInfo.swift).
    case ept(Expr?)
    /// Topics that need a monitor: `vcpu`, `tc`, `vmcs`.
    case monitor(String)
    /// `info` alone: the list of topics.
    case list
}

public enum CatchKind: Sendable, Equatable {
    /// `catch trap [VECTOR]`: nil catches every exception (vectors 0-31).
    case trap(UInt8?)
    case ring
    /// `catch silent`: a sensitive instruction that ran without trapping (trap).
    case silent
    /// `catch hypercall [N]` (pv): nil catches every hypercall.
    case hypercall(UInt32?)
    /// `catch exit [REASON]` (vtx): nil catches every VM exit.
    case exit(String?)
}

public enum WatchKind: String, Sendable, Equatable {
    case write = "watch", read = "rwatch", access = "awatch"

    /// How gdb names one when it is set and when it triggers.
    public var title: String {
        switch self {
        case .write: return "Hardware watchpoint"
        case .read: return "Hardware read watchpoint"
        case .access: return "Hardware access (read/write) watchpoint"
        }
    }
    /// The Type column of `info breakpoints`.
    public var tableType: String {
        switch self {
        case .write: return "hw watchpoint"
        case .read: return "read watchpoint"
        case .access: return "acc watchpoint"
        }
    }
}

public enum EnableMode: Sendable, Equatable { case keep, once, delete }

/// `disassemble` arguments: nothing (the function at EIP), one address (its
/// function), `START,END` or `START,+LENGTH`.
public enum DisassembleRange: Sendable, Equatable {
    case function(Expr?)
    case range(Expr, Expr)
    case length(Expr, Expr)
}

public enum Command: Sendable, Equatable {
    case breakpoint(location: Expr?, temporary: Bool, condition: Expr?, conditionText: String?)
    case delete([Int]?)
    case disable([Int]?)
    case enable([Int]?, EnableMode)
    case deleteDisplay([Int]?)
    case enableDisplay([Int]?, Bool)
    case condition(Int, Expr?, text: String?)
    case ignore(Int, Expr)
    case `continue`(Expr?)
    case stepi(Expr?)
    case nexti(Expr?)
    case finish
    case until(Expr?)
    case advance(Expr)
    case examine(Format, Expr?)
    case print(Format, Expr?)
    case output(Format, Expr)
    case set(Expr)
    /// `set confirm off` and other gdb settings a script may carry: accepted, no effect.
    case setting(String)
    case display(Format, Expr?, text: String)
    /// `watch EXPR [if COND]`: the expression, its text as typed (gdb echoes it), the condition.
    case watch(WatchKind, Expr, text: String, condition: Expr?, conditionText: String?)
    case info(InfoTopic)
    case disassemble(DisassembleRange, raw: Bool)
    case source(String)
    case echo([UInt8])
    case help([String])
    case quit(Expr?)
    case technique(String?)
    case `catch`(CatchKind)
    case translate(Expr?)
    /// `traps [--kind K] [--last N]`: the trap log, filtered.
    case traps(kind: String?, last: Int?)
    case stats
    case compare
    /// `note`, `pause`, `expect`, `expect-output`, `focus`, `highlight` (Lesson.swift).
    case lesson(LessonVerb)
    /// `file PATH`: debug another guest file (LessonFile.swift).
    case file(String)
}
