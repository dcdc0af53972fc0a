import X86

// The monitor's own descriptor tables, derived from the guest's (Adams &
// Agesen: "primary" structures in guest memory, "shadow" structures the CPU
// really uses).  Ring compression rewrites every DPL 0 to DPL 1 so the
// deprivileged kernel can use its own segments and gates, and truncates every
// segment below the monitor window.  The guest's selectors keep their
// indices, so its code runs unchanged — but their RPLs, and what SGDT, SIDT,
// SLDT, STR and LAR report, are the monitor's: the holes Robin & Irvine list.

struct ShadowTables {
    unowned(unsafe) let cpu: CPU

    /// A guest code/data descriptor as the CPU must see it at CPL 1.
    static func compress(_ d: Descriptor) -> Descriptor {
        var hi = d.hi
        if d.dpl == 0 && d.hi & (1 << 15) != 0 { hi |= 1 << 13 }   // DPL 0 -> 1
        // System descriptors (TSS, LDT, call and task gates) keep their targets.
        guard d.isSegment else { return Descriptor(lo: d.lo, hi: hi) }
        // Truncate: the segment must end below the monitor window.
        let base = d.base
        let ceiling = MonitorLayout.segmentCeiling
        if base > ceiling { return Descriptor(lo: 0, hi: 0) }
        let maxLimit = ceiling - base
        if d.limit > maxLimit && !(d.isData && d.type & 4 != 0) {
            let g = d.hi & (1 << 23) != 0
            let raw = g ? maxLimit >> 12 : min(maxLimit, 0xFFFFF)
            let lo = (d.lo & 0xFFFF_0000) | (raw & 0xFFFF)
            hi = (hi & ~0x000F_0000) | (raw & 0xF_0000)
            return Descriptor(lo: lo, hi: hi)
        }
        return Descriptor(lo: d.lo, hi: hi)
    }

    /// A guest gate as the monitor's IDT holds it: same target, DPL 0 -> 1.
    static func compressGate(_ g: Descriptor) -> Descriptor {
        var hi = g.hi
        if g.dpl == 0 { hi |= 1 << 13 }
        return Descriptor(lo: g.lo, hi: hi)
    }

    func writeEntry(_ table: UInt32, _ index: Int, _ d: Descriptor) {
        cpu.writePhysical(table &+ UInt32(index * 8), 4, d.lo)
        cpu.writePhysical(table &+ UInt32(index * 8) &+ 4, 4, d.hi)
    }

    /// Rebuilds the monitor GDT from the guest's table (`entries` descriptors
    /// read through `read`), leaving the monitor's own entries at the top.
    func loadGDT(guest entries: [Descriptor], translationCache: Bool = false) {
        for i in 0..<MonitorLayout.guestGDTEntries {
            writeEntry(MonitorLayout.gdt, i, i == 0 || i >= entries.count ? Descriptor(lo: 0, hi: 0) : Self.compress(entries[i]))
        }
        // The monitor's TSS: 32-bit available TSS, DPL 0, base = its linear window address.
        let tssLin = MonitorLayout.linear(ofHost: MonitorLayout.tss)
        writeEntry(MonitorLayout.gdt, Int(MonitorLayout.tssSelector >> 3), Self.systemDescriptor(base: tssLin, limit: 0x67, type: 9))
        // `bt`'s code segment: base 0, limit 4 GiB, 32-bit, execute/read, DPL 1, present.
        // Other techniques leave the slot empty: a flat ring-1 segment would reach the monitor window.
        let tc = translationCache ? Descriptor(lo: 0x0000_FFFF, hi: 0x00CF_BB00) : Descriptor(lo: 0, hi: 0)
        writeEntry(MonitorLayout.gdt, Int(MonitorLayout.tcSelector >> 3), tc)
    }

    func loadLDT(guest entries: [Descriptor]) {
        for i in 0..<8192 where i < max(entries.count, 1) {
            writeEntry(MonitorLayout.ldt, i, i < entries.count ? Self.compress(entries[i]) : Descriptor(lo: 0, hi: 0))
        }
        let lin = MonitorLayout.linear(ofHost: MonitorLayout.ldt)
        let limit = UInt32(max(entries.count, 1) * 8 - 1)
        writeEntry(MonitorLayout.gdt, Int(MonitorLayout.ldtSelector >> 3), Self.systemDescriptor(base: lin, limit: limit, type: 2))
    }

    /// Mirrors one guest IDT gate into the monitor's IDT.
    func setGate(_ vector: Int, _ g: Descriptor?) {
        writeEntry(MonitorLayout.idt, vector, g.map(Self.compressGate) ?? Descriptor(lo: 0, hi: 0))
    }

    static func systemDescriptor(base: UInt32, limit: UInt32, type: UInt32) -> Descriptor {
        let lo = (base << 16) | (limit & 0xFFFF)
        let hi = (base & 0xFF00_0000) | (limit & 0xF_0000) | (1 << 15) | (type << 8) | ((base >> 16) & 0xFF)
        return Descriptor(lo: lo, hi: hi)
    }
}
