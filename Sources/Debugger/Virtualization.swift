import Monitors
import X86

// The virtualization verbs under a monitor (`trap`, `pv`): `info rings`
// (guest-perceived and real privilege, the four rings drawn), `info vcpu`
// beside `info cpu`, `info pt` and `info shadow` (the guest's walk, then the
// shadow entry the CPU really walks), `traps`, `stats` and `compare`.
// Under native these keep their native forms (SystemTables.swift) or answer
// "not available under native"; verbs of other techniques (`info ept`,
// `info tc`, `info vmcs`, `translate`, `catch exit`) answer
// "not available under TECHNIQUE".

extension Session {
    /// One line on what a technique does to the guest (`technique NAME`, `info rings`).
    static func techniqueNote(_ t: Technique) -> String {
        switch t {
        case .native: return "it runs on the bare CPU."
        case .trap: return "its kernel runs at CPL 1 (ring compression); privileged instructions trap into the monitor."
        case .pv: return "its modified kernel runs at CPL 1 and calls the hypervisor (int 0x82)."
        default: return t.summary + "."
        }
    }

    static func bit(_ b: Bool) -> String { b ? "1" : "0" }

    // MARK: - info rings

    /// The four rings in one line: where the guest believes it runs and where the CPU runs it.
    static func ringDiagram(guest: UInt8, real: UInt8) -> String {
        (0..<4).map { (r: UInt8) -> String in
            var marks: [String] = []
            if r == guest { marks.append("guest believes") }
            if r == real { marks.append("CPU") }
            return "ring \(r)" + (marks.isEmpty ? "" : " [" + marks.joined(separator: ", ") + "]")
        }.joined(separator: "  ") + "\n"
    }

    func monitorRingsTable() -> String {
        let c = cpu, v = monitor.vcpu
        let rows: [[String]] = [
            ["", "guest-visible", "real"],
            ["CPL", String(v.cpl), String(c.cpl)],
            ["IOPL", String(v.iopl), String(c.iopl)],
            ["IF", Session.bit(v.interruptsEnabled), Session.bit(c.interruptsEnabled)],
            ["CR0.PE", Session.bit(v.cr0 & CR0.pe != 0), Session.bit(c.cr0 & CR0.pe != 0)],
            ["CR0.PG", Session.bit(v.cr0 & CR0.pg != 0), Session.bit(c.pagingEnabled)],
        ]
        var s = Session.table(rows) + Session.ringDiagram(guest: v.cpl, real: c.cpl)
        switch vm.technique {
        case .trap:
            s += "technique trap: the guest kernel runs at CPL 1 with IOPL 0 (ring compression); CLI, STI and I/O trap, POPF and IRET silently keep IF and IOPL.\n"
        case .pv:
            s += "technique pv: the modified kernel runs at CPL 1 and knows it; its IF is the event mask it shares with the hypervisor.\n"
        default:
            s += "technique \(technique): " + Session.techniqueNote(vm.technique) + "\n"
        }
        return s
    }

    // MARK: - info cpu, info vcpu

    func monitorCPUTable() -> String {
        var s = cpuTable()
        let native = "technique native: these are also the values the guest sees.\n"
        if s.hasSuffix(native) { s.removeLast(native.count) }
        return s + "technique \(technique): the CPU runs the monitor's state; `info vcpu` shows what the guest sees.\n"
    }

    func monitorInfo(_ topic: String) throws(CommandError) {
        if topic == "vmcs" { return try vtxInfo(topic) }
        if topic == "tc" { return try tcInfo() }
        guard topic == "vcpu", !isNative else { throw notAvailable() }
        emit(vcpuTable())
    }

    func vcpuTable() -> String {
        let c = cpu, v = monitor.vcpu
        func cr(_ x: UInt32, _ k: FlagsKind) -> String { hex(x) + " " + GDBFormat.flags(x, k) }
        func table(_ t: TableRegister) -> String { "base " + hex(t.base) + " limit " + hex(t.limit, digits: 4) }
        let rows: [[String]] = [
            ["", "vCPU (the guest sees)", "CPU (real)"],
            ["CPL", String(v.cpl), String(c.cpl)],
            ["IOPL", String(v.iopl), String(c.iopl)],
            ["IF", Session.bit(v.interruptsEnabled), Session.bit(c.interruptsEnabled)],
            ["CR0", cr(v.cr0, .cr0), cr(c.cr0, .cr0)],
            ["CR2", hex(v.cr2), hex(c.cr2)],
            ["CR3", hex(v.cr3), hex(c.cr3) + (c.cr3 == MonitorLayout.shadowPD && vm.technique != .native ? " (shadow)" : "")],
            ["CR4", cr(v.cr4, .cr4), cr(c.cr4, .cr4)],
            ["GDTR", table(v.gdtr), table(c.gdtr)],
            ["IDTR", table(v.idtr), table(c.idtr)],
            ["LDTR", hex(v.ldtr, digits: 4), hex(c.ldtr.selector, digits: 4)],
            ["TR", hex(v.tr, digits: 4), hex(c.tr.selector, digits: 4)],
        ]
        return Session.table(rows) + "technique \(technique): the vCPU is what the guest believes; `info cpu` shows what the CPU holds.\n"
    }

    // MARK: - info pt, info shadow

    static func walkLines(_ w: WalkTrace, space: String) -> [String] {
        w.steps.map { (st: WalkStep) -> String in
            let present = st.entry & PTE.present != 0
            var s = "\(st.level)[\(st.index)] at \(hex(st.address)) = \(hex(st.entry)) "
            s += pteFlags(st.entry, directory: st.level == "PDE")
            if !present { s += " not present" }
            if st.level == "PDE" && present && st.entry & PTE.pageSize != 0 { s += " 4 MiB page" }
            return s
        }
    }

    /// `info pt` under a monitor: the guest's own walk, in guest-physical addresses.
    func guestPageWalk(_ lin: UInt32) -> String {
        guard let w = monitor.guestWalk(linear: lin) else { return "The guest's page tables cannot be read.\n" }
        let host = w.result.flatMap { monitor.hostPhysical($0) }
        let hostText = host.map { " (host-physical \(hex($0)))" } ?? ""
        guard w.paging else {
            guard let g = w.result else { return "Paging is off in the guest (CR0.PG = 0): linear \(hex(lin)) is outside guest RAM.\n" }
            return "Paging is off in the guest (CR0.PG = 0): linear \(hex(lin)) is guest-physical \(hex(g))\(hostText).\n"
        }
        var s = "linear \(hex(lin)): guest CR3 \(hex(w.cr3)) (guest-physical addresses)\n"
        s += Session.walkLines(w, space: "guest-physical").map { $0 + "\n" }.joined()
        if let g = w.result { s += "guest-physical \(hex(g))\(hostText)\n" }
        else { s += "an access raises #PF in the guest\n" }
        return s
    }

    func shadowInfo(_ e: Expr?) throws(CommandError) {
        guard !isNative else { throw notAvailable() }
        let lin = try e.map { (x: Expr) throws(CommandError) in try address(x) } ?? linearEIP
        guard let shadow = monitor.shadowWalk(linear: lin), let guestWalk = monitor.guestWalk(linear: lin) else {
            throw notAvailable()
        }
        var s = "linear \(hex(lin))" + (symbols.label(lin).map { " <\($0)>" } ?? "") + "\n"
        if guestWalk.paging {
            s += "guest walk (CR3 \(hex(guestWalk.cr3)), guest-physical):\n"
            s += Session.walkLines(guestWalk, space: "").map { "  " + $0 + "\n" }.joined()
        } else {
            s += "guest walk: paging off in the guest (CR0.PG = 0), linear = guest-physical\n"
        }
        if let g = guestWalk.result { s += "  guest-physical \(hex(g))\n" }
        else { s += "  no translation: an access raises #PF, reflected to the guest\n" }
        s += "shadow walk (CR3 \(hex(shadow.cr3)), host-physical):\n"
        s += Session.walkLines(shadow, space: "").map { "  " + $0 + "\n" }.joined()
        if let h = shadow.result {
            s += "  host-physical \(hex(h))"
            if let g = guestWalk.result, let expect = monitor.hostPhysical(g) {
                s += expect == h ? " = guest-physical \(hex(g)) + \(hex(expect &- g))" : " (the guest walk gives host-physical \(hex(expect)): stale)"
            }
            s += "\n"
        } else {
            s += "  no shadow entry yet: the next access takes a hidden page fault that fills it\n"
        }
        emit(s)
    }

    // MARK: - traps

    static func seconds(_ ns: UInt64) -> String {
        "\(ns / 1_000_000_000).\(GDBFormat.padded(String(ns % 1_000_000_000), 9))"
    }

    static func kindText(_ e: TrapEvent) -> String {
        guard let code = e.code else { return e.kind.rawValue }
        switch e.kind {
        case .exception: return "exception " + Session.trapName(UInt8(truncatingIfNeeded: code))
        case .injection: return "injection " + hex(code, digits: 2)
        case .hypercall, .vmexit: return e.kind.rawValue + " \(code)"
        default: return e.kind.rawValue
        }
    }

    func trapsCommand(kind: String?, last: Int?) throws(CommandError) {
        guard !isNative else { throw notAvailable() }
        var events = vm.log.entries
        if let kind { events = events.filter { $0.kind.rawValue == kind } }
        let matching = events.count
        if let last, events.count > last { events = Array(events.suffix(last)) }
        let what = kind.map { "\($0) events" } ?? "events"
        guard !events.isEmpty else {
            line("No \(what) in the trap log (\(vm.log.total) logged in all).")
            return
        }
        var rows: [[String]] = [["seq", "time (s)", "kind", "eip", "instruction", "CPL g/r", "outcome", "cycles"]]
        for e in events {
            rows.append([String(e.sequence), Session.seconds(e.time), Session.kindText(e), hex(e.eip), e.instruction,
                         "\(e.guestCPL)/\(e.realCPL)", e.outcome, String(e.cycles)])
        }
        emit(Session.table(rows))
        line("\(events.count) of \(matching) \(what) shown; \(vm.log.total) logged in all.")
    }

    // MARK: - stats

    func monitorStats() {
        let c = cpu
        let exceptions = c.exceptionCounts.enumerated().filter { $0.element > 0 }
            .map { "\(CPUException(UInt8($0.offset)).name) \($0.element)" }
        let ns = machine.now
        let log = vm.log
        let events = EventKind.allCases.filter { log.count($0) > 0 }.map { "\($0.rawValue) \(log.count($0))" }
        let instructionCycles = c.instructions &* vm.cost.instruction
        emit(Session.table([
            ["technique", technique],
            ["instructions", String(c.instructions)],
            ["virtual time", Session.seconds(ns) + " s"],
            ["CPU exceptions", exceptions.isEmpty ? "none" : exceptions.joined(separator: ", ")],
            ["monitor events", events.isEmpty ? "none" : events.joined(separator: ", ")],
            ["modeled cycles", "\(instructionCycles &+ log.totalCycles) (instructions \(instructionCycles) + events \(log.totalCycles))"],
            ["breakpoint stops", String(stopCounts["breakpoints"] ?? 0)],
            ["catchpoint stops", String(stopCounts["catchpoints"] ?? 0)],
            ["single steps", String(stopCounts["steps"] ?? 0)],
        ]))
        emit(eventChart())   // StatsChart.swift
    }

    // MARK: - compare

    /// The guest, from its entry point, under every available technique (the session's guest is not disturbed).
    func compareCommand() throws(CommandError) {
        let rows: [Comparison.Row]
        do {
            rows = try Comparison.run(bytes, path: path, options: options.guest, memoryMiB: options.memoryMiB,
                                      maxInstructions: options.maxInstructions ?? 200_000_000)
        } catch {
            throw CommandError(error.description)
        }
        emit(Comparison.table(rows) + "\n")
    }
}
