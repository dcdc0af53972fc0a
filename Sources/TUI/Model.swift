import Debugger
import Monitors
import PC
import X86

// What the screen shows besides the session itself: the registers at the
// previous stop (for highlighting changes), the command scrollback, the
// guest's serial text, why the guest last stopped, which panel has focus,
// and each panel's own view state (the code cursor, the trap-log filter and
// selection, what the Memory panel follows and in which address space).
// Everything is driven through `Session.execute`; nothing here runs the guest
// by itself.  The TUI's own verbs (`memory`, `help keys`) are in TUICommands.swift.

/// The registers the Registers panel compares between stops.
public struct RegisterSnapshot: Equatable, Sendable {
    public var gpr: [UInt32] = Array(repeating: 0, count: 8)
    public var eip: UInt32 = 0
    public var eflags: UInt32 = 0
    public var segs: [UInt16] = Array(repeating: 0, count: 6)
    public var cr: [UInt32] = [0, 0, 0, 0]   // CR0, CR2, CR3, CR4

    public init() {}
    public init(_ cpu: CPU) {
        gpr = (0..<8).map { cpu.regs[$0] }
        eip = cpu.eip
        eflags = cpu.eflags
        segs = (0..<6).map { cpu.segs[$0].selector }
        cr = [cpu.cr0, cpu.cr2, cpu.cr3, cpu.cr4]
    }
}

public enum PanelID: String, CaseIterable, Sendable {
    case registers = "Registers", rings = "Rings", code = "Code", trapLog = "Trap log", memory = "Memory", serial = "Serial", command = "Command"
}

public final class Model {
    public let session: Session
    public var previous: RegisterSnapshot
    public var current: RegisterSnapshot
    public var scrollback: [String] = []
    public var serial: String = ""
    public var state: String = "stopped"
    public var focus: PanelID = .command
    /// The command line as readline shows it: prompt, text and cursor column.
    public var prompt = "(ringside) "
    public var input = ""
    public var cursor = 0
    /// Lines scrolled back from the bottom in the focused scrollable panels.
    public var scrollOffset: [PanelID: Int] = [:]

    /// While a command runs the guest (LiveRun.swift): guest MIPS at the last redraw.
    public var running = false
    public var mips: Double?
    /// The Code panel's cursor (F9 toggles a breakpoint there); nil follows EIP.
    public var codeCursor: UInt32?
    /// The `bt` translation beside the original (Translation.swift); nil asks the monitor.
    public var translations: TranslationSource?
    /// The Trap log shows only this kind (`traps --kind K`, F2); nil shows all.
    public var trapFilter: EventKind?
    /// The selected Trap log entry (its sequence number); nil follows the newest.
    public var trapSelection: UInt64?
    /// What the Memory panel follows, the space that is in, and the space it is shown in.
    public var memoryFollow: MemoryFollow = .stack
    public var memoryView: MemorySpace = .guestVirtual
    /// Rows the Memory panel is scrolled from the followed address.
    public var memoryScroll = 0
    /// The memory operand of the last instruction a command started at (`memory last`).
    public var lastAccess: UInt32?
    /// Keys typed into the focused Serial panel, waiting for room in the UART's receiver.
    public var serialInput: [UInt8] = []
    /// The Trap log's filtered entries, kept while the log does not grow (TrapLogPanel.visible).
    var trapCache: (key: TrapCacheKey?, entries: [TrapEvent]) = (nil, [])
    /// Lesson mode (LessonPanel.swift): the lesson being played and what it highlights.
    public var lesson: LessonPlayer?
    public var highlight: Highlight = .none

    public init(session: Session) {
        self.session = session
        current = RegisterSnapshot(session.machine.cpu)
        previous = current
        state = "stopped at " + Model.location(session, session.linearEIP) + " (not started)"
    }

    static func location(_ s: Session, _ a: UInt32) -> String {
        "0x" + hex8(a) + (s.symbols.label(a).map { " <\($0)>" } ?? "")
    }

    /// Runs one command line, collecting its output, serial text and stop.
    /// The TUI's own verbs (`help keys`, `memory [EXPR]`) are answered here.
    @discardableResult
    public func run(_ line: String) -> CommandResult {
        if let r = local(line) { absorb(r); return r }
        lastAccess = operandAddress() ?? lastAccess
        let before = current
        let r = session.execute(line)
        running = false          // a live view (LiveRun.swift) may have set it
        mips = nil
        absorb(r, since: before)
        if r.error == nil { observe(line) }
        return r
    }

    /// Takes in a command's outputs; `before` is the register snapshot at the
    /// previous stop (the live view may have moved `current` meanwhile).
    public func absorb(_ r: CommandResult, since before: RegisterSnapshot? = nil) {
        var text = ""
        for o in r.outputs {
            switch o {
            case .serial(let b):
                appendSerial(b)
            case .stop(let e):
                text += o.rendered
                state = Model.describe(e, session)
            default:
                if absorbLesson(o) { continue }
                text += o.rendered
            }
        }
        if let e = r.error { text += e.message + "\n" }
        appendScrollback(text)
        let now = RegisterSnapshot(session.machine.cpu)
        let stop = before ?? current
        if now != stop { previous = stop; current = now }
        if r.outputs.contains(where: { if case .stop = $0 { return true } else { return false } }) {
            codeCursor = nil       // a stop brings the Code panel back to EIP
            memoryScroll = 0
        }
    }

    /// Bytes the guest sent while a command was running (the live view's share).
    public func appendSerial(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        serial += String(decoding: bytes, as: UTF8.self)
        if serial.count > 20000 { serial = String(serial.suffix(16000)) }
    }

    public func appendScrollback(_ text: String) {
        guard !text.isEmpty else { return }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        scrollback += lines
        if scrollback.count > 5000 { scrollback.removeFirst(scrollback.count - 5000) }
    }

    static func describe(_ e: StopEvent, _ s: Session) -> String {
        let at = location(s, e.address)
        switch e.reason {
        case .breakpoint(let n, _): return "stopped: breakpoint \(n) at \(at)"
        case .catchpoint(let n, let what): return "stopped: catchpoint \(n) (\(what)) at \(at)"
        case .watchpoint(let ts): return "stopped: watchpoint \(ts.map { String($0.number) }.joined(separator: ", ")) at \(at)"
        case .location: return "stopped at \(at)"
        case .limit: return "stopped: instruction limit at \(at)"
        case .interrupted: return "stopped: interrupted at \(at)"
        case .ended(let stop): return "ended: " + Output.ended(stop)
        }
    }
}
