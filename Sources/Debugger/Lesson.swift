import Monitors
import X86

// Lesson verbs: what turns a command file into a class lesson (issue 9;
// docs/teaching.md).  They are ordinary commands of the language, so a
// lesson is a command file and every front end runs it the same way:
//
//   note TEXT        an explanation, Markdown-light: *emphasis*, `code`
//   pause            the TUI waits for a key here; the batch transcript
//                    shows a blank line
//   expect EXPR      EXPR (the debugger's expression language) must be
//                    true, i.e. non-zero — else "expectation failed: …"
//   expect-output TEXT
//                    the output of the previous command (lesson verbs do
//                    not count) must contain TEXT
//   focus PANEL      the TUI moves focus to a panel
//   highlight ADDR | highlight trap [KIND|SEQ] | highlight off
//                    the TUI marks an address (Code, Memory) or a trap-log
//                    entry; the transcript names what is highlighted
//
// A failed expectation is an ordinary command error: a script stops there
// with `FILE:LINE: error: expectation failed: …` and batch mode exits 1.
// So every lesson is also a test (tools/check-lessons.sh).

/// The panels a lesson can focus (the TUI maps them onto its own).
public enum LessonPanel: String, CaseIterable, Sendable {
    case registers, rings, code, traps, memory, serial, command
}

/// What a `highlight` asks for, before it is resolved against the session.
public enum HighlightRequest: Sendable, Equatable {
    case address(Expr, text: String)
    /// The newest trap-log event of a kind (nil: of any kind).
    case newestTrap(kind: String?)
    /// The trap-log event with this sequence number.
    case trap(UInt64)
    case off
}

/// What is highlighted, resolved: an address or a trap-log sequence number.
public enum Highlight: Sendable, Equatable {
    case address(UInt32)
    case trap(UInt64)
    case none
}

public enum LessonVerb: Sendable, Equatable {
    case note(String)
    case pause
    case expect(Expr, text: String)
    case expectOutput(String)
    case focus(LessonPanel)
    case highlight(HighlightRequest)

    /// Lesson prose and pauses are not echoed into a transcript: the note
    /// itself is the output.
    public var isEchoed: Bool {
        switch self {
        case .note, .pause: return false
        default: return true
        }
    }
}

extension Command {
    /// Whether a transcript echoes the command line (notes and pauses are not echoed).
    public var isEchoed: Bool {
        if case .lesson(let verb) = self { return verb.isEchoed }
        return true
    }
}

/// The session's memory of the previous command, for `expect-output`.
struct LessonState {
    var lastOutput: String?
}

extension CommandParser {
    /// The lesson verbs, as the command table names them.
    static let lessonVerbs: Set<String> = ["note", "pause", "expect", "expect-output", "focus", "highlight"]

    static func lessonVerb(_ name: String, _ a: Arguments) throws(ParseError) -> LessonVerb {
        switch name {
        case "note": return .note(a.text)
        case "pause":
            try noArguments(name, a)
            return .pause
        case "expect":
            guard !a.isEmpty else { throw ParseError("Argument required (expression that must be true).", column: a.column) }
            return .expect(try a.expression(), text: a.text)
        case "expect-output":
            guard !a.isEmpty else { throw ParseError("Argument required (text the previous output must contain).", column: a.column) }
            return .expectOutput(a.text)
        case "focus":
            let names = LessonPanel.allCases.map(\.rawValue)
            let panel = try resolve(a.text, in: names, aliases: ["trap": "traps", "trap-log": "traps", "regs": "registers"],
                                    column: a.column,
                                    undefined: "Unknown panel \"\(a.text)\" (one of: \(names.joined(separator: ", "))).",
                                    ambiguous: "Ambiguous panel \"\(a.text)\"")
            return .focus(LessonPanel(rawValue: panel)!)
        default:
            return .highlight(try highlight(a))
        }
    }

    /// `highlight ADDRESS`, `highlight trap [KIND|SEQ]`, `highlight off` (or nothing).
    static func highlight(_ a: Arguments) throws(ParseError) -> HighlightRequest {
        if a.isEmpty || a.text == "off" { return .off }
        let (word, rest) = a.split()
        guard word == "trap" else {
            var t = a
            if t.text.hasPrefix("*") { t = Arguments(text: String(t.text.dropFirst()), column: t.column + 1) }
            return .address(try t.expression(), text: a.text)
        }
        if rest.isEmpty { return .newestTrap(kind: nil) }
        if let n = UInt64(rest.text) { return .trap(n) }
        guard eventKinds.contains(rest.text) else {
            throw ParseError("Unknown event kind \"\(rest.text)\" (a sequence number or one of: \(eventKinds.joined(separator: ", "))).",
                             column: rest.column)
        }
        return .newestTrap(kind: rest.text)
    }
}

extension Session {
    func lesson(_ verb: LessonVerb) throws(CommandError) {
        switch verb {
        case .note(let text): out.append(.note(text))
        case .pause: out.append(.pause)
        case .expect(let e, let text): try expect(e, text)
        case .expectOutput(let text): try expectOutput(text)
        case .focus(let panel): out.append(.focus(panel))
        case .highlight(let request): try highlight(request)
        }
    }

    /// Remembers what a command printed, for the next `expect-output`.
    func remember(_ command: Command, _ r: CommandResult) {
        if case .lesson = command { return }
        lessonState.lastOutput = r.text
    }

    func expect(_ e: Expr, _ text: String) throws(CommandError) {
        let v = try evaluate(e)
        if !v.isVoid && v.isTrue { return }
        var why = "expectation failed: \(text)"
        if case .binary(let op, let a, let b) = e, ["==", "!=", "<", ">", "<=", ">="].contains(op.rawValue) {
            // Show the sides that are not literals: what the reader will want to know.
            func side(_ x: Expr) -> String? {
                if case .literal = x { return nil }
                return (try? evaluate(x)).map(Session.plain)
            }
            switch (side(a), side(b)) {
            case (let l?, let r?): why += " (left \(l), right \(r))"
            case (let l?, nil): why += " (it is \(l))"
            case (nil, let r?): why += " (it is \(r))"
            default: break
            }
        } else {
            why += v.isVoid ? " (no value)" : " (it is 0)"
        }
        throw CommandError(why)
    }

    /// A value as a failed expectation shows it: small numbers in decimal, others in hex and decimal.
    static func plain(_ v: Value) -> String {
        if v.isVoid { return "void" }
        let n = v.integer
        if n >= 0 && n < 10 { return String(n) }
        let bits = v.type.size >= 8 ? v.bits : v.bits & 0xFFFF_FFFF
        return "0x" + String(bits, radix: 16) + " (\(n))"
    }

    func expectOutput(_ text: String) throws(CommandError) {
        guard let last = lessonState.lastOutput else {
            throw CommandError("expectation failed: no command has run yet, so no output contains \"\(text)\"")
        }
        let normal = last.replacingCRLF()
        if normal.contains(text) { return }
        let first = normal.split(separator: "\n").first.map { String($0.prefix(60)) } ?? ""
        throw CommandError("expectation failed: the previous command's output does not contain \"\(text)\""
                           + (first.isEmpty ? " (it printed nothing)" : " (it began \"\(first)\")"))
    }

    func highlight(_ request: HighlightRequest) throws(CommandError) {
        switch request {
        case .off:
            out.append(.highlight(.none, text: "nothing"))
        case .address(let e, _):
            let a = try address(e)
            var text = hex(a) + (symbols.label(a).map { " <\($0)>" } ?? "")
            // Code (an executable section, or no sections known): the instruction there.
            if symbols.section(containing: a)?.executable ?? true,
               let i = Disassembler.disassemble(readable(a, count: 15), at: a).first {
                text += ": " + i.text
            }
            out.append(.highlight(.address(a), text: text))
        case .trap(let n):
            guard let e = vm.log.entries.first(where: { $0.sequence == n }) else {
                throw CommandError("No trap-log entry \(n) (the log holds \(vm.log.entries.count) of \(vm.log.total)).")
            }
            out.append(.highlight(.trap(n), text: Session.trapLine(e)))
        case .newestTrap(let kind):
            guard let e = vm.log.entries.last(where: { kind == nil || $0.kind.rawValue == kind }) else {
                throw CommandError("No \(kind.map { "\($0) " } ?? "")events in the trap log.")
            }
            out.append(.highlight(.trap(e.sequence), text: Session.trapLine(e)))
        }
    }

    /// One trap-log event on one line: `trap 12: silent popfd at 0x… (CPL 0/1): outcome`.
    static func trapLine(_ e: TrapEvent) -> String {
        "trap-log entry \(e.sequence): \(kindText(e)) \(e.instruction) at \(hex(e.eip)) (CPL \(e.guestCPL)/\(e.realCPL)): \(e.outcome)"
    }

    // MARK: - Built-in convenience variables

    /// Read-only `$_…` values a lesson can test with `expect` (and anyone
    /// can print): privilege as the guest sees it and as the CPU holds it,
    /// and the trap log's counts.  A variable the user set wins.
    func builtinVariable(_ name: String) -> Value? {
        guard name.hasPrefix("_") else { return nil }
        let v = monitor.vcpu
        switch name {
        case "_cpl": return .int(Int64(cpu.cpl))
        case "_guest_cpl": return .int(Int64(guestCPL))
        case "_guest_if": return .int(isNative ? Int64(cpu.interruptsEnabled ? 1 : 0) : Int64(v.interruptsEnabled ? 1 : 0))
        case "_guest_iopl": return .int(Int64(isNative ? cpu.iopl : v.iopl))
        case "_guest_cr0": return .uint(isNative ? cpu.cr0 : v.cr0)
        case "_guest_cr3": return .uint(isNative ? cpu.cr3 : v.cr3)
        case "_if": return .int(cpu.interruptsEnabled ? 1 : 0)
        case "_iopl": return .int(Int64(cpu.iopl))
        case "_instructions": return Value(.int(size: 8, signed: true), cpu.instructions)
        case "_cycles": return Value(.int(size: 8, signed: true), vm.modeledCycles)
        case "_events": return Value(.int(size: 8, signed: true), vm.log.total)
        case "_event_code": return vm.log.entries.last?.code.map { .uint($0) }
        case "_event_detail": return vm.log.entries.last?.detail.map { .uint($0) }
        case "_event_cycles": return vm.log.entries.last.map { Value(.int(size: 8, signed: true), $0.cycles) }
        case "_exit_reason": return vm.log.entries.last { $0.kind == .vmexit }?.code.map { .uint($0) }
        case "_exit_qualification": return vm.log.entries.last { $0.kind == .vmexit }?.detail.map { .uint($0) }
        case "_ept_walks": return (monitor as? VTxMonitor).map { Value(.int(size: 8, signed: true), $0.eptWalks) }
        case "_ept_references": return (monitor as? VTxMonitor).map { Value(.int(size: 8, signed: true), $0.eptReferences) }
        default:
            // $_silent, $_emulated, $_vmexit, $_shadow_fault …: events of one kind.
            let kind = String(name.dropFirst()).replacingOccurrences("_", "-")
            guard let k = EventKind(rawValue: kind) else { return nil }
            return Value(.int(size: 8, signed: true), vm.log.count(k))
        }
    }

    /// The built-in variables, for `help expect` and the command reference.
    static let builtinVariableHelp: [(String, String)] = [
        ("$_cpl, $_if, $_iopl", "CPL, IF and IOPL as the CPU really holds them"),
        ("$_guest_cpl, $_guest_if, $_guest_iopl", "the same as the guest believes them (the vCPU)"),
        ("$_guest_cr0, $_guest_cr3", "CR0 and CR3 as the guest believes them ($cr0, $cr3: the CPU's)"),
        ("$_instructions, $_cycles", "instructions retired; modeled cycles (instructions, events, native port I/O)"),
        ("$_events", "trap-log events logged in all"),
        ("$_silent, $_emulated, $_vmexit, ...", "events of one kind (traps --kind names; - becomes _)"),
        ("$_event_code, $_event_detail, $_event_cycles", "the newest event's code (vector, exit reason, hypercall), detail, cycles"),
        ("$_exit_reason, $_exit_qualification", "the newest VM exit's basic reason and exit qualification (vtx)"),
        ("$_ept_walks, $_ept_references", "two-dimensional walks and their memory references (vtx with EPT)"),
    ]
}

extension String {
    func replacingCRLF() -> String {
        var s = ""
        var cr = false
        for c in unicodeScalars {
            if cr && c != "\n" { s.unicodeScalars.append("\r") }
            cr = c == "\r"
            if !cr { s.unicodeScalars.append(c) }
        }
        if cr { s += "\r" }
        return s
    }

    func replacingOccurrences(_ a: Character, _ b: Character) -> String { String(map { $0 == a ? b : $0 }) }
}
