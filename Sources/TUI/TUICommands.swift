import Debugger
import Monitors
import X86

// The TUI's own verbs, answered before the session sees the line (the
// session knows no panels and no keys):
//
//   help keys                  the key map
//   help memory                the verb below
//   memory[/v|/p|/h] [WHAT]    what the Memory panel follows; WHAT is
//                              `stack` (the default), `last` (the memory
//                              operand of the last instruction a command
//                              started at) or an expression, evaluated anew
//                              at every redraw (`memory $esi` follows ESI).
//                              /v guest-virtual (default), /p guest-physical,
//                              /h host-physical: the space the address is in.
//
// Besides, the Trap log follows the session's `traps [--kind K]`: the panel
// then shows that kind only (`traps` alone shows every kind again).

/// The three address spaces of a guest under a monitor (DESIGN.md "Memory").
public enum MemorySpace: String, CaseIterable, Sendable {
    case guestVirtual = "v", guestPhysical = "p", hostPhysical = "h"

    /// Short name for titles: gv, gp, hp.
    public var short: String { ["v": "gv", "p": "gp", "h": "hp"][rawValue]! }
}

/// What the Memory panel follows.
public enum MemoryFollow: Sendable {
    /// SS:ESP.
    case stack
    /// The memory operand of the last instruction a command started at.
    case last
    /// An expression, evaluated at each redraw, in `space`.
    case expression(Expr, text: String, space: MemorySpace)
}

extension Model {
    /// The keys, for `help keys` (the TUI answers it; the session knows no keys).
    public static let keysHelp = """
        F1 this list       F2 Trap log: next kind (all, then each kind logged)
        F3 Memory: next address space (guest-virtual, guest-physical, host-physical)
        F4 run to the code cursor (advance)   F5 continue   F6 stop the running guest (also Ctrl-C)
        F7 step into (stepi)   F8 step over (nexti)   F9 breakpoint on/off at the code cursor
        F10 step out (finish)
        Tab complete a command, symbol or register; on an empty line move focus (Shift-Tab: back, always)
        Up/Down PgUp/PgDn Home/End: the focused panel (Code: cursor; Trap log: selection and details;
          Memory, Registers, Serial: scroll); on the command line: history and the scrollback
        Serial focused: typing goes to the guest's COM1   Ctrl-R search history   quit or Ctrl-D leave
        memory[/v|/p|/h] [stack|last|EXPR]  what the Memory panel follows, in which space
        traps [--kind K]  also filters the Trap log panel (traps alone: every kind)
        Lesson mode (--lesson FILE): Space or Enter on an empty command line runs the next step
        """

    public static let memoryHelp = """
        Show memory in the Memory panel (the TUI's own command).
        Usage: memory[/v|/p|/h] [stack | last | EXPR]
               stack  SS:ESP (the default)   last  the memory operand of the last instruction a command started at
               EXPR   evaluated anew at every redraw: `memory $esi` follows ESI
               /v guest-virtual (default)   /p guest-physical   /h host-physical; F3 shows it in the next space
        """

    /// The TUI's verbs; nil when the line is for the session.
    func local(_ line: String) -> CommandResult? {
        let words = line.trimmingSpaces.split(separator: " ", maxSplits: 1).map(String.init)
        guard let verb = words.first else { return nil }
        var r = CommandResult()
        let rest = words.count == 2 ? words[1].trimmingSpaces : ""
        if verb == "help" && rest == "keys" {
            r.outputs = [.text(Model.keysHelp + "\n")]
            return r
        }
        if verb == "help" && (rest == "memory" || rest == "mem") {
            r.outputs = [.text(Model.memoryHelp + "\n")]
            return r
        }
        let parts = verb.split(separator: "/", maxSplits: 1).map(String.init)
        guard parts.first == "memory" || parts.first == "mem" else { return nil }
        var space = MemorySpace.guestVirtual
        if parts.count == 2 {
            guard let s = MemorySpace(rawValue: parts[1]) else {
                r.error = CommandError("memory/\(parts[1]): use /v (guest-virtual), /p (guest-physical) or /h (host-physical)")
                return r
            }
            space = s
        }
        do {
            try follow(rest, space: space)
        } catch {
            r.error = error
        }
        return r
    }

    func follow(_ what: String, space: MemorySpace) throws(CommandError) {
        switch what {
        case "", "stack": memoryFollow = .stack
        case "last": memoryFollow = .last
        default:
            let e: Expr
            do { e = try ExpressionParser.parse(what) } catch { throw CommandError(error.message) }
            _ = try session.evaluate(e).u32   // refuse what does not evaluate now
            memoryFollow = .expression(e, text: what, space: space)
        }
        memoryView = space
        memoryScroll = 0
    }

    /// The address the Memory panel follows (in `memoryFollowSpace`), set
    /// to a fixed address by lessons (`highlight ADDRESS`); nil while it
    /// follows the stack or the last access.
    public var memoryAddress: UInt32? {
        get {
            guard case .expression(let e, _, _) = memoryFollow else { return nil }
            return try? session.evaluate(e).u32
        }
        set {
            guard let a = newValue else { memoryFollow = .stack; return }
            let text = "0x" + hex8(a)
            if let e = try? ExpressionParser.parse(text) { memoryFollow = .expression(e, text: text, space: .guestVirtual) }
            memoryView = .guestVirtual
            memoryScroll = 0
        }
    }

    /// The space the followed address is in (the stack and operands are guest-virtual).
    public var memoryFollowSpace: MemorySpace {
        if case .expression(_, _, let s) = memoryFollow { return s }
        return .guestVirtual
    }

    /// After a session command ran without error: the panels that follow it.
    func observe(_ line: String) {
        guard let c = try? CommandParser.parse(line) else { return }
        if case .traps(let kind, _) = c {
            trapFilter = kind.flatMap(EventKind.init(rawValue:))
            trapSelection = nil
        }
    }

    /// The linear address the instruction at EIP reads or writes through
    /// its ModRM operand (not LEA, which computes an address and accesses nothing).
    func operandAddress() -> UInt32? {
        let s = session, cpu = s.machine.cpu
        let bytes = CodePanel.bytes(s, s.linearEIP, 15)
        guard !bytes.isEmpty, case .ok(let i) = Decoder.decode(bytes, code16: !cpu.segs[Seg.cs].big), i.isMemory, i.op != .lea else { return nil }
        return cpu.segs[Int(i.seg)].base &+ cpu.effectiveAddress(i)
    }

    /// Hands typed bytes to COM1's receiver as it has room (as a terminal at
    /// the other end of the line would); the rest waits for the next look
    /// between slices of a run (LiveRun.swift) or the next command.
    public func feedSerial() {
        guard !serialInput.isEmpty, let uart = session.machine.uart else { return }
        let n = min(uart.receiveSpace, serialInput.count)
        guard n > 0 else { return }
        uart.feed(Array(serialInput.prefix(n)))
        serialInput.removeFirst(n)
    }
}
