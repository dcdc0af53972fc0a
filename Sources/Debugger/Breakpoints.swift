import X86

// Breakpoints, watchpoints, catchpoints and displays: numbering,
// enable/disable, conditions, ignore counts, hit counts and `info
// breakpoints` as gdb keeps and shows them.  A code breakpoint costs nothing
// while it does not stop: its address goes into the CPU's breakpoint set,
// which cuts decoded blocks there and checks once per block; conditions and
// ignore counts are looked at only when the CPU stops at the address.
//
// Watchpoints (watch, rwatch, awatch) share the numbering and the table.
// Their ranges go into the CPU's watchpoint list, whose MMU access hook
// (X86/Watchpoints.swift: watched pages lose their fast TLB entries, the
// slow path compares) stops the run after an instruction that touched one;
// Watchpoints.swift here turns that into gdb's report.

public final class Breakpoint {
    public enum Kind: Sendable, Equatable {
        case code(UInt32)
        /// `catch trap [VECTOR]` (nil: every exception).
        case trap(UInt8?)
        /// `catch ring`: a change of CPL.
        case ring
        /// `catch silent`, `catch hypercall [N]`, `catch exit [REASON]`: an
        /// event of the monitor's trap log (stop after it).
        case silent
        case hypercall(UInt32?)
        case exit(String?)
        /// `watch`, `rwatch`, `awatch` (Watchpoints.swift).
        case watch(WatchSpec)
    }
    public enum Disposition: String, Sendable { case keep, del, dis }

    public let number: Int
    public let kind: Kind
    public var enabled = true
    public var disposition: Disposition
    public var condition: Expr?
    public var conditionText: String?
    public var ignoreCount = 0
    public var hitCount = 0
    /// A watchpoint's value when last looked at (nil: unreadable, or not a watchpoint).
    public var oldValue: Value?

    init(number: Int, kind: Kind, disposition: Disposition) {
        self.number = number; self.kind = kind; self.disposition = disposition
    }

    public var address: UInt32? { if case .code(let a) = kind { return a } else { return nil } }
    public var watch: WatchSpec? { if case .watch(let w) = kind { return w } else { return nil } }
    public var isCatchpoint: Bool { address == nil && watch == nil }
}

struct Display {
    var number: Int
    var format: Format
    var expr: Expr
    var text: String
    var enabled = true
}

extension Session {
    /// The breakpoints and catchpoints, in number order.
    public var breakpointList: [Breakpoint] { breakpoints }

    func newBreakpoint(_ kind: Breakpoint.Kind, _ disposition: Breakpoint.Disposition) -> Breakpoint {
        let b = Breakpoint(number: nextBreakpointNumber, kind: kind, disposition: disposition)
        nextBreakpointNumber += 1
        breakpoints.append(b)
        variables["bpnum"] = .int(Int64(b.number))
        return b
    }

    func breakpoint(_ n: Int) -> Breakpoint? { breakpoints.first { $0.number == n } }

    /// A location's address; a bare unknown name is gdb's "Function not defined".
    func locationAddress(_ loc: Expr) throws(CommandError) -> UInt32 {
        if case .symbol(let name) = loc, symbols.lookup(name) == nil {
            throw CommandError("Function \"\(name)\" not defined.")
        }
        return try address(loc)
    }

    func setBreakpoint(_ loc: Expr?, temporary: Bool, condition: Expr?, text: String?) throws(CommandError) {
        let a = try loc.map { (l: Expr) throws(CommandError) in try locationAddress(l) } ?? linearEIP
        let others = breakpoints.filter { $0.address == a }.map(\.number)
        if !others.isEmpty {
            let list = others.count == 1 ? "breakpoint \(others[0])"
                : "breakpoints " + others.dropLast().map(String.init).joined(separator: ", ") + " and \(others.last!)"
            line("Note: \(list) also set at pc 0x\(String(a, radix: 16)).")
        }
        let b = newBreakpoint(.code(a), temporary ? .del : .keep)
        b.condition = condition
        b.conditionText = text
        line((temporary ? "Temporary breakpoint " : "Breakpoint ") + "\(b.number) at 0x\(String(a, radix: 16))")
    }

    func setCatchpoint(_ kind: CatchKind) throws(CommandError) {
        switch kind {
        case .trap(let v):
            let b = newBreakpoint(.trap(v), .keep)
            line("Catchpoint \(b.number) (\(catchDescription(b.kind)))")
        case .ring:
            let b = newBreakpoint(.ring, .keep)
            line("Catchpoint \(b.number) (ring)")
        case .silent:
            // Only a deprivileged kernel runs sensitive instructions without trapping.
            guard vm.technique == .trap || vm.technique == .pv else { throw notAvailable() }
            let b = newBreakpoint(.silent, .keep)
            line("Catchpoint \(b.number) (silent)")
        case .hypercall(let n):
            guard vm.technique == .pv else { throw notAvailable() }
            let b = newBreakpoint(.hypercall(n), .keep)
            line("Catchpoint \(b.number) (\(catchDescription(b.kind)))")
        case .exit(let reason):
            // VM exits exist only under vtx.
            guard vm.technique == .vtx else { throw notAvailable() }
            let b = newBreakpoint(.exit(reason), .keep)
            line("Catchpoint \(b.number) (\(catchDescription(b.kind)))")
        }
    }

    static func trapName(_ v: UInt8) -> String {
        if let m = Vector.mnemonics[v] { return m }
        return v < 32 ? "vector \(v)" : "0x" + String(v, radix: 16)
    }

    func catchDescription(_ k: Breakpoint.Kind) -> String {
        switch k {
        case .trap(let v): return v.map { "trap " + Session.trapName($0) } ?? "trap"
        case .ring: return "ring"
        case .silent: return "silent"
        case .hypercall(let n): return n.map { "hypercall \($0)" } ?? "hypercall"
        case .exit(let r): return r.map { "exit \($0)" } ?? "exit"
        case .code, .watch: return ""
        }
    }

    /// Applies `body` to the numbered breakpoints (all when nil), saying which numbers do not exist.
    func forBreakpoints(_ list: [Int]?, _ body: (Breakpoint) -> Void) {
        guard let list else { breakpoints.forEach(body); return }
        for n in list {
            if let b = breakpoint(n) { body(b) } else { line("No breakpoint number \(n).") }
        }
    }

    func deleteBreakpoints(_ list: [Int]?) throws(CommandError) {
        var doomed: Set<Int> = []
        forBreakpoints(list) { doomed.insert($0.number) }
        breakpoints.removeAll { doomed.contains($0.number) }
    }

    func enableBreakpoints(_ list: [Int]?, enable: Bool, mode: EnableMode) throws(CommandError) {
        forBreakpoints(list) { b in
            b.enabled = enable
            if enable {
                switch mode {
                case .keep: if b.disposition == .dis { b.disposition = .keep }
                case .once: b.disposition = .dis
                case .delete: b.disposition = .del
                }
            }
        }
    }

    func setCondition(_ n: Int, _ e: Expr?, _ text: String?) throws(CommandError) {
        guard let b = breakpoint(n) else { throw CommandError("No breakpoint number \(n).") }
        b.condition = e
        b.conditionText = text
        if e == nil { line("Breakpoint \(n) now unconditional.") }
    }

    func setIgnore(_ n: Int, _ e: Expr) throws(CommandError) {
        guard let b = breakpoint(n) else { throw CommandError("No breakpoint number \(n).") }
        let count = max(0, Int(clamping: try arithmetic(try evaluate(e)).integer))
        b.ignoreCount = count
        switch count {
        case 0: line("Will stop next time breakpoint \(n) is reached.")
        case 1: line("Will ignore next crossing of breakpoint \(n).")
        default: line("Will ignore next \(count) crossings of breakpoint \(n).")
        }
    }

    /// `info breakpoints` (and `info watchpoints` with `only`), gdb's table
    /// for a 32-bit target.  The Type column is as wide as its longest entry
    /// needs (gdb widens it for "read watchpoint").
    func breakpointTable(_ only: [Breakpoint]? = nil) -> String {
        let shown = only ?? breakpoints
        guard !shown.isEmpty else { return "No breakpoints or watchpoints.\n" }
        func col(_ s: String, _ w: Int) -> String { GDBFormat.pad(s, w) }
        func type(_ b: Breakpoint) -> String { b.watch?.kind.tableType ?? (b.isCatchpoint ? "catchpoint" : "breakpoint") }
        let width = max(14, shown.map { type($0).count }.max() ?? 0) + 1
        var s = "Num     " + col("Type", width) + "Disp Enb Address    What\n"
        for b in shown {
            var row = col(String(b.number), 8) + col(type(b), width) + col(b.disposition.rawValue, 5) + col(b.enabled ? "y" : "n", 4)
            if let a = b.address {
                row += col(hex(a), 11) + (symbols.label(a).map { "<\($0)>" } ?? "")
            } else {
                row += String(repeating: " ", count: 11) + (b.watch?.text ?? catchDescription(b.kind))
            }
            while row.last == " " { row.removeLast() }
            s += row + "\n"
            if let c = b.conditionText { s += "\tstop only if \(c)\n" }
            if b.hitCount > 0 {
                // gdb says "breakpoint already hit" of watchpoints too.
                let what = b.isCatchpoint ? "catchpoint" : "breakpoint"
                s += "\t\(what) already hit \(b.hitCount) time\(b.hitCount == 1 ? "" : "s")\n"
            }
            if b.ignoreCount > 0 { s += "\tWill ignore next \(b.ignoreCount) crossings of breakpoint.\n" }
        }
        return s
    }

    // MARK: - Displays

    func displayCommand(_ f: Format, _ e: Expr?, _ text: String) throws(CommandError) {
        guard let e else { showDisplays(); return }
        let d = Display(number: nextDisplayNumber, format: f, expr: e, text: text)
        nextDisplayNumber += 1
        displays.append(d)
        if ended == nil { show(d) }
    }

    /// Shows every enabled display (after each stop while the guest lives).
    func showDisplays() {
        for d in displays where d.enabled { show(d) }
    }

    func show(_ d: Display) {
        if d.format.examinesMemory {
            emit("\(d.number): x\(d.format.text) \(d.text)\n")
            do {
                let a = try address(d.expr)
                let saved = (examineLetter, examineSize, examineNext)
                try examine(d.format, at: a)
                (examineLetter, examineSize, examineNext) = saved
            } catch {
                emit("<error: \(error.message)>\n")
            }
            return
        }
        let prefix = "\(d.number): " + (d.format.letter.map { "/\($0) " } ?? "") + d.text + " = "
        do {
            let v = try evaluate(d.expr)
            emit(prefix + formatValue(v, d.format.letter) + "\n")
        } catch {
            emit(prefix + "<error: \(error.message)>\n")
        }
    }

    func deleteDisplays(_ list: [Int]?) {
        guard let list else { displays.removeAll(); return }
        for n in list {
            if displays.contains(where: { $0.number == n }) { displays.removeAll { $0.number == n } }
            else { line("No display number \(n).") }
        }
    }

    func enableDisplays(_ list: [Int]?, _ on: Bool) {
        for k in displays.indices where list == nil || list!.contains(displays[k].number) { displays[k].enabled = on }
        for n in list ?? [] where !displays.contains(where: { $0.number == n }) { line("No display number \(n).") }
    }

    func displayTable() -> String {
        guard !displays.isEmpty else { return "There are no auto-display expressions now.\n" }
        var s = "Auto-display expressions now in effect:\nNum Enb Expression\n"
        for d in displays {
            s += "\(d.number):   \(d.enabled ? "y" : "n")  \(d.format.isEmpty ? "" : d.format.text + " ")\(d.text)\n"
        }
        return s
    }
}
