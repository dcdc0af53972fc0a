import Monitors
import X86

// The machine's system state decoded: `info cpu`, `info rings`, `info gdt`,
// `info idt`, `info tss`, `info pt ADDR`, `stats`.  Under `native` the
// guest-visible state is the real state; the monitors will fill the two
// columns of `info rings` differently.

extension Session {
    func info(_ topic: InfoTopic) throws(CommandError) {
        switch topic {
        case .registers(let names): try registers(names)
        case .breakpoints: emit(breakpointTable())
        case .watchpoints: emit(watchpointTable())
        case .display: emit(displayTable())
        case .symbol(let e, let text): try infoSymbol(e, text)
        case .cpu: emit(isNative ? cpuTable() : monitorCPUTable())
        case .rings: emit(isNative ? ringsTable() : monitorRingsTable())
        case .gdt: try emit(gdtTable())
        case .idt: try emit(idtTable())
        case .tss: try emit(tssTable())
        case .pt(let e):
            let a = try address(e)
            emit(isNative ? pageWalk(a) : guestPageWalk(a))
        case .monitor(let topic): try monitorInfo(topic)
        case .shadow(let e): try shadowInfo(e)
        case .ept(let e): try eptInfo(e ?? .literal(.uint(linearEIP)))
        case .list: try help(["info"])
        }
    }

    /// Columns padded to their widest cell, two blanks apart, trailing blanks trimmed.
    static func table(_ rows: [[String]]) -> String {
        var widths: [Int] = []
        for r in rows { for (k, c) in r.enumerated() { if k >= widths.count { widths.append(0) }; widths[k] = max(widths[k], c.count) } }
        var s = ""
        for r in rows {
            var line = ""
            for (k, c) in r.enumerated() { line += k == r.count - 1 ? c : c + String(repeating: " ", count: widths[k] - c.count + 2) }
            while line.last == " " { line.removeLast() }
            s += line + "\n"
        }
        return s
    }

    func ringsTable() -> String {
        let c = cpu
        let rows: [[String]] = [
            ["", "guest-visible", "real"],
            ["CPL", String(c.cpl), String(c.cpl)],
            ["IOPL", String(c.iopl), String(c.iopl)],
            ["IF", c.interruptsEnabled ? "1" : "0", c.interruptsEnabled ? "1" : "0"],
            ["CR0.PE", c.cr0 & CR0.pe != 0 ? "1" : "0", c.cr0 & CR0.pe != 0 ? "1" : "0"],
            ["CR0.PG", c.pagingEnabled ? "1" : "0", c.pagingEnabled ? "1" : "0"],
        ]
        return Session.table(rows) + "technique native: the guest runs on the bare CPU at the ring it asks for; what it sees is real.\n"
    }

    func cpuTable() -> String {
        let c = cpu
        var s = Session.table([
            ["CPL", String(c.cpl), "IOPL", String(c.iopl), "IF", c.interruptsEnabled ? "1" : "0",
             "mode", "protected, paging " + (c.pagingEnabled ? "on" : "off")],
        ])
        s += Session.table([
            ["EIP", hex(c.eip), GDBFormat.address(linearEIP, symbols)],
            ["EFLAGS", hex(c.eflags), GDBFormat.flags(c.eflags, .eflags)],
            ["CR0", hex(c.cr0), GDBFormat.flags(c.cr0, .cr0)],
            ["CR2", hex(c.cr2), ""],
            ["CR3", hex(c.cr3), GDBFormat.flags(c.cr3, .cr3)],
            ["CR4", hex(c.cr4), GDBFormat.flags(c.cr4, .cr4)],
            ["GDTR", "base " + hex(c.gdtr.base), "limit " + hex(c.gdtr.limit, digits: 4)],
            ["IDTR", "base " + hex(c.idtr.base), "limit " + hex(c.idtr.limit, digits: 4)],
        ])
        var rows: [[String]] = [["seg", "selector", "base", "limit", "type", "DPL", "bits"]]
        for (k, name) in Seg.names.enumerated() { rows.append(segmentRow(name, c.segs[k])) }
        rows.append(segmentRow("ldtr", c.ldtr))
        rows.append(segmentRow("tr", c.tr))
        return s + Session.table(rows) + "technique native: these are also the values the guest sees.\n"
    }

    func segmentRow(_ name: String, _ s: SegmentCache) -> [String] {
        let d = Descriptor(lo: 0, hi: UInt32(s.access) << 8)
        let type = s.usable ? Session.typeName(d) : "unusable (null)"
        let bits = d.isSegment ? (s.big ? "32" : "16") : ""
        return [name, hex(s.selector, digits: 4), hex(s.base), hex(s.limit), type, String(s.dpl), bits]
    }

    /// `code er`, `data rw`, `TSS32 busy`, `int gate 32`…  A final `a`: accessed.
    static func typeName(_ d: Descriptor) -> String {
        let t = Int(d.type)
        if d.isSegment {
            let accessed = t & 1 != 0 ? "a" : ""
            if d.isCode { return "code e" + (t & 2 != 0 ? "r" : "") + (t & 4 != 0 ? "c" : "") + accessed }
            return "data r" + (t & 2 != 0 ? "w" : "") + (t & 4 != 0 ? "d" : "") + accessed
        }
        switch t {
        case SystemType.tss16: return "TSS16 avail"
        case SystemType.ldt: return "LDT"
        case SystemType.tss16Busy: return "TSS16 busy"
        case SystemType.callGate16: return "call gate 16"
        case SystemType.taskGate: return "task gate"
        case SystemType.intGate16: return "int gate 16"
        case SystemType.trapGate16: return "trap gate 16"
        case SystemType.tss32: return "TSS32 avail"
        case SystemType.tss32Busy: return "TSS32 busy"
        case SystemType.callGate32: return "call gate 32"
        case SystemType.intGate32: return "int gate 32"
        case SystemType.trapGate32: return "trap gate 32"
        default: return "reserved (type \(t))"
        }
    }

    static func isGate(_ d: Descriptor) -> Bool {
        !d.isSegment && [SystemType.callGate16, SystemType.taskGate, SystemType.intGate16, SystemType.trapGate16,
                         SystemType.callGate32, SystemType.intGate32, SystemType.trapGate32].contains(Int(d.type))
    }

    func descriptorAt(_ lin: UInt32) throws(CommandError) -> Descriptor {
        let b = try readMemory(lin, count: 8)
        func u32(_ o: Int) -> UInt32 { UInt32(b[o]) | UInt32(b[o + 1]) << 8 | UInt32(b[o + 2]) << 16 | UInt32(b[o + 3]) << 24 }
        return Descriptor(lo: u32(0), hi: u32(4))
    }

    /// One table row: segments show base and limit, gates their target.
    func descriptorRow(_ d: Descriptor) -> [String] {
        if d.lo == 0 && d.hi == 0 { return ["null", "", "", "", ""] }
        let type = Session.typeName(d)
        let dpl = String(d.dpl), p = d.present ? "1" : "0"
        if Session.isGate(d) {
            var target = hex(d.gateSelector, digits: 4)
            var extra = ""
            if Int(d.type) != SystemType.taskGate {
                target += ":" + hex(d.gateOffset)
                extra = symbols.label(d.gateOffset).map { "<\($0)>" } ?? ""
                if Int(d.type) == SystemType.callGate32 || Int(d.type) == SystemType.callGate16 {
                    extra = "params \(d.gateParameterCount)" + (extra.isEmpty ? "" : "  " + extra)
                }
            }
            return [type, target, "", dpl, p, extra]
        }
        let bits = d.isSegment ? (d.flags & 4 != 0 ? "32-bit" : "16-bit") : ""
        return [type, hex(d.base), hex(d.limit), dpl, p, bits]
    }

    /// The descriptor tables the guest set up: the CPU's under native, the
    /// vCPU's under a monitor (the CPU runs on the monitor's own tables).
    var guestGDTR: TableRegister { isNative ? cpu.gdtr : monitor.vcpu.gdtr }
    var guestIDTR: TableRegister { isNative ? cpu.idtr : monitor.vcpu.idtr }

    /// The guest's task register: the CPU's under native; under a monitor
    /// the vCPU's selector, its descriptor read from the guest's GDT.
    func guestTR() throws(CommandError) -> SegmentCache {
        guard !isNative else { return cpu.tr }
        let sel = monitor.vcpu.tr
        var c = SegmentCache()
        c.selector = sel
        guard sel & 0xFFFC != 0 else { return c }
        let d = try descriptorAt(guestGDTR.base &+ UInt32(sel & 0xFFF8))
        c.base = d.base
        c.limit = d.limit
        c.access = d.access
        return c
    }

    /// A line saying whose tables these are (under a monitor only).
    func guestTablesNote(_ what: String, _ real: TableRegister) -> String {
        isNative ? "" : "The guest's \(what) (technique \(technique): the CPU uses the monitor's at \(hex(real.base))).\n"
    }

    func gdtTable() throws(CommandError) -> String {
        let g = guestGDTR
        let count = (Int(g.limit) + 1) / 8
        var s = guestTablesNote("GDT", cpu.gdtr)
        s += "GDT at \(hex(g.base)), limit \(hex(g.limit, digits: 4)): \(count) descriptor\(count == 1 ? "" : "s")\n"
        guard count > 0 else { return s }
        var rows: [[String]] = [["index", "selector", "type", "base/target", "limit", "DPL", "P", ""]]
        for i in 0..<min(count, 8192) {
            let d = try descriptorAt(g.base &+ UInt32(i * 8))
            rows.append([String(i), hex(UInt16(i * 8), digits: 4)] + descriptorRow(d))
        }
        s += Session.table(rows)
        return s
    }

    func idtTable() throws(CommandError) -> String {
        let t = guestIDTR
        let count = min((Int(t.limit) + 1) / 8, 256)
        var s = guestTablesNote("IDT", cpu.idtr) + "IDT at \(hex(t.base)), limit \(hex(t.limit, digits: 4)): \(count) gate\(count == 1 ? "" : "s")"
        guard (isNative ? cpu.cr0 : monitor.vcpu.cr0) & CR0.pe != 0, count > 0 else { return s + "\n" }
        var rows: [[String]] = [["vector", "name", "type", "target", "", "DPL", "P", ""]]
        var empty = 0
        for v in 0..<count {
            let d = try descriptorAt(t.base &+ UInt32(v * 8))
            if d.lo == 0 && d.hi == 0 { empty += 1; continue }
            rows.append([hex(UInt8(v), digits: 2), Vector.mnemonics[UInt8(v)] ?? ""] + descriptorRow(d))
        }
        s += empty > 0 ? " (\(empty) empty, not shown)\n" : "\n"
        return rows.count > 1 ? s + Session.table(rows) : s
    }

    func tssTable() throws(CommandError) -> String {
        let tr = try guestTR()
        guard tr.selector & 0xFFFC != 0 else { return "No task register loaded (TR = \(hex(tr.selector, digits: 4))).\n" }
        let d = Descriptor(lo: 0, hi: UInt32(tr.access) << 8)
        var s = "TR \(hex(tr.selector, digits: 4)): \(Session.typeName(d)) at \(hex(tr.base)), limit \(hex(tr.limit))\n"
        guard tr.limit >= 0x67 else { return s + "(shorter than a 32-bit TSS: fields not shown)\n" }
        let b = try readMemory(tr.base, count: 0x68)
        func u32(_ o: Int) -> UInt32 { UInt32(b[o]) | UInt32(b[o + 1]) << 8 | UInt32(b[o + 2]) << 16 | UInt32(b[o + 3]) << 24 }
        func sel(_ o: Int) -> String { hex(UInt16(truncatingIfNeeded: u32(o)), digits: 4) }
        let iomap = u32(0x64) >> 16
        s += Session.table([
            ["link", sel(0), "", ""],
            ["esp0", hex(u32(4)), "ss0", sel(8)],
            ["esp1", hex(u32(12)), "ss1", sel(16)],
            ["esp2", hex(u32(20)), "ss2", sel(24)],
            ["cr3", hex(u32(28)), "eip", hex(u32(32))],
            ["eflags", hex(u32(36)), "", ""],
            ["eax", hex(u32(40)), "ecx", hex(u32(44))],
            ["edx", hex(u32(48)), "ebx", hex(u32(52))],
            ["esp", hex(u32(56)), "ebp", hex(u32(60))],
            ["esi", hex(u32(64)), "edi", hex(u32(68))],
            ["es", sel(72), "cs", sel(76)],
            ["ss", sel(80), "ds", sel(84)],
            ["fs", sel(88), "gs", sel(92)],
            ["ldt", sel(96), "T", String(u32(100) & 1)],
        ])
        s += "iomap  \(hex(iomap, digits: 4))" + (iomap > tr.limit ? " (beyond the limit: no I/O permission bitmap)" : "") + "\n"
        return s
    }

    static func pteFlags(_ e: UInt32, directory: Bool) -> String {
        let names: [(UInt32, String)] = [(1, "P"), (2, "W"), (4, "U"), (8, "PWT"), (16, "PCD"), (32, "A"), (64, "D"),
                                        (128, directory ? "PS" : "PAT"), (256, "G")]
        return "[" + names.filter { e & $0.0 != 0 }.map { " " + $0.1 }.joined() + " ]"
    }

    /// The guest's two-level walk for one linear address.
    func pageWalk(_ lin: UInt32) -> String {
        guard cpu.pagingEnabled else {
            return "Paging is off (CR0.PG = 0): linear \(hex(lin)) is physical \(hex(lin)).\n"
        }
        let w = cpu.walk(lin)
        var s = "linear \(hex(lin)): CR3 \(hex(cpu.cr3))\n"
        s += "PDE[\(lin >> 22)] at \(hex(w.pdeAddress)) = \(hex(w.pde)) \(Session.pteFlags(w.pde, directory: true))"
        guard w.pde & PTE.present != 0 else { return s + " not present: an access raises #PF\n" }
        if w.largePage { s += " 4 MiB page" }
        s += "\n"
        if let pteAddress = w.pteAddress, let pte = w.pte {
            s += "PTE[\((lin >> 12) & 0x3FF)] at \(hex(pteAddress)) = \(hex(pte)) \(Session.pteFlags(pte, directory: false))"
            guard pte & PTE.present != 0 else { return s + " not present: an access raises #PF\n" }
            s += "\n"
        }
        if let p = w.physical { s += "physical \(hex(p))\n" }
        return s
    }

    func stats() {
        guard isNative else { monitorStats(); return }
        let c = cpu
        let exceptions = c.exceptionCounts.enumerated().filter { $0.element > 0 }
            .map { "\(CPUException(UInt8($0.offset)).name) \($0.element)" }
        let ns = machine.now
        emit(Session.table([
            ["technique", technique],
            ["instructions", String(c.instructions)],
            ["virtual time", "\(ns / 1_000_000_000).\(GDBFormat.padded(String(ns % 1_000_000_000), 9)) s"],
            ["exceptions", exceptions.isEmpty ? "none" : exceptions.joined(separator: ", ")],
            ["breakpoint stops", String(stopCounts["breakpoints"] ?? 0)],
            ["catchpoint stops", String(stopCounts["catchpoints"] ?? 0)],
            ["single steps", String(stopCounts["steps"] ?? 0)],
        ]))
    }
}
