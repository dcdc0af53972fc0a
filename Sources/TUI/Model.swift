import Debugger
import Monitors
import PC
import X86

// What the screen shows besides the session itself: the registers at the
// previous stop (for highlighting changes), the command scrollback, the
// guest's serial text, why the guest last stopped, and which panel has focus.
// Everything is driven through `Session.execute`; nothing here runs the guest.

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
    /// Memory panel address; nil follows the stack.
    public var memoryAddress: UInt32?
    /// Lines scrolled back from the bottom in the focused scrollable panels.
    public var scrollOffset: [PanelID: Int] = [:]

    public init(session: Session) {
        self.session = session
        current = RegisterSnapshot(session.machine.cpu)
        previous = current
        state = "stopped at " + Model.location(session, session.linearEIP) + " (not started)"
    }

    static func location(_ s: Session, _ a: UInt32) -> String {
        "0x" + hex8(a) + (s.symbols.label(a).map { " <\($0)>" } ?? "")
    }

    /// The keys, for `help keys` (the TUI answers it; the session knows no keys).
    public static let keysHelp = """
        F5 continue   F10 nexti   F11 stepi   Ctrl-C stop a running guest (or drop the line)
        Tab complete a command, symbol or register; on an empty line move focus (Shift-Tab always)
        PgUp/PgDn scroll the focused panel   Up/Down history   Ctrl-R search   q, quit or Ctrl-D leave
        memory EXPR  show memory at EXPR in the Memory panel (`memory` alone follows the stack)
        """

    /// Runs one command line, collecting its output, serial text and stop.
    /// The TUI's own verbs (`help keys`, `memory [EXPR]`) are answered here.
    @discardableResult
    public func run(_ line: String) -> CommandResult {
        if let r = local(line) { absorb(r); return r }
        let r = session.execute(line)
        absorb(r)
        return r
    }

    func local(_ line: String) -> CommandResult? {
        let words = line.split(separator: " ", maxSplits: 1).map(String.init)
        var r = CommandResult()
        switch words.first {
        case "help" where words.count == 2 && words[1].trimmingSpaces == "keys":
            r.outputs = [.text(Model.keysHelp + "\n")]
        case "memory", "mem":
            guard words.count == 2, !words[1].trimmingSpaces.isEmpty else {
                memoryAddress = nil
                return r
            }
            do {
                let e = try ExpressionParser.parse(words[1])
                memoryAddress = try session.evaluate(e).u32
            } catch let e as ParseError {
                r.error = CommandError(e.message)
            } catch let e as CommandError {
                r.error = e
            } catch {
                r.error = CommandError("\(error)")
            }
        default:
            return nil
        }
        return r
    }

    public func absorb(_ r: CommandResult) {
        var text = ""
        for o in r.outputs {
            switch o {
            case .serial(let b):
                serial += String(decoding: b, as: UTF8.self)
                if serial.count > 20000 { serial = String(serial.suffix(16000)) }
            case .stop(let e):
                text += o.rendered
                state = Model.describe(e, session)
            default:
                text += o.rendered
            }
        }
        if let e = r.error { text += e.message + "\n" }
        appendScrollback(text)
        let now = RegisterSnapshot(session.machine.cpu)
        if now != current { previous = current; current = now }
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
        case .location: return "stopped at \(at)"
        case .limit: return "stopped: instruction limit at \(at)"
        case .interrupted: return "stopped: interrupted at \(at)"
        case .ended(let stop): return "ended: " + Output.ended(stop)
        }
    }
}
