// Protected-mode segmentation (SDM Vol. 3 ch. 3 and ch. 5): descriptors,
// segment-register loads with their type, present and privilege checks, and
// the descriptor-probing instructions LAR, LSL, VERR, VERW, ARPL.
//
// Segment descriptor layout (8 bytes, SDM Vol. 3 Figure 3-8):
//   lo  = base[15:0] << 16 | limit[15:0]
//   hi  = base[31:24] << 24 | G D/B L AVL << 20 | limit[19:16] << 16
//         | P DPL(2) S type(4) << 8 | base[23:16]

public struct Descriptor: Sendable, Equatable {
    public var lo: UInt32
    public var hi: UInt32
    public init(lo: UInt32, hi: UInt32) { self.lo = lo; self.hi = hi }
    public var base: UInt32 { (lo >> 16) | ((hi & 0xFF) << 16) | (hi & 0xFF00_0000) }
    public var rawLimit: UInt32 { (lo & 0xFFFF) | (hi & 0xF_0000) }
    /// The limit in bytes, scaled by 4 KiB when G is set.
    public var limit: UInt32 { hi & (1 << 23) != 0 ? (rawLimit << 12) | 0xFFF : rawLimit }
    public var access: UInt8 { UInt8((hi >> 8) & 0xFF) }
    public var flags: UInt8 { UInt8((hi >> 20) & 0xF) }
    public var dpl: UInt8 { UInt8((hi >> 13) & 3) }
    public var present: Bool { hi & (1 << 15) != 0 }
    /// S bit: code or data segment (else a system descriptor or gate).
    public var isSegment: Bool { hi & (1 << 12) != 0 }
    public var type: UInt8 { UInt8((hi >> 8) & 0xF) }
    public var isCode: Bool { isSegment && type & 8 != 0 }
    public var isData: Bool { isSegment && type & 8 == 0 }
    public var conforming: Bool { isCode && type & 4 != 0 }
    public var readable: Bool { isData || type & 2 != 0 }
    public var writable: Bool { isData && type & 2 != 0 }
    // Gates (SDM Vol. 3 Figure 5-8, 6-2): selector in lo[31:16], offset lo[15:0] | hi[31:16].
    public var gateSelector: UInt16 { UInt16(lo >> 16) }
    public var gateOffset: UInt32 { (lo & 0xFFFF) | (hi & 0xFFFF_0000) }
    public var gateParameterCount: UInt32 { hi & 0x1F }
    public var cache: SegmentCache {
        SegmentCache(selector: 0, base: base, limit: limit, access: access, flags: flags)
    }
}

/// System descriptor types (SDM Vol. 3 Table 3-2).
public enum SystemType {
    public static let tss16 = 1, ldt = 2, tss16Busy = 3, callGate16 = 4, taskGate = 5
    public static let intGate16 = 6, trapGate16 = 7, tss32 = 9, tss32Busy = 11, callGate32 = 12
    public static let intGate32 = 14, trapGate32 = 15
}

extension CPU {
    /// Reads the descriptor a selector names, or nil when it lies beyond the
    /// table (GDT or LDT by the TI bit).  These are supervisor accesses.
    public func descriptor(_ selector: UInt16) throws(CPUException) -> Descriptor? {
        let index = UInt32(selector & 0xFFF8)
        let (base, limit): (UInt32, UInt32)
        if selector & 4 != 0 {
            guard ldtr.usable && ldtr.present else { return nil }
            (base, limit) = (ldtr.base, ldtr.limit)
        } else {
            (base, limit) = (gdtr.base, UInt32(gdtr.limit))
        }
        guard index + 7 <= limit else { return nil }
        return Descriptor(lo: try readSlow(base &+ index, 4, user: false),
                          hi: try readSlow(base &+ index &+ 4, 4, user: false))
    }

    /// Sets the accessed bit of a segment descriptor in memory (SDM Vol. 3 §3.4.5.1).
    func markAccessed(_ selector: UInt16, _ d: Descriptor) throws(CPUException) {
        guard d.isSegment && d.hi & 0x100 == 0 else { return }
        let base = selector & 4 != 0 ? ldtr.base : gdtr.base
        try writeSlow(base &+ UInt32(selector & 0xFFF8) &+ 4, 4, d.hi | 0x100, user: false)
    }

    /// MOV/POP to a data or stack segment register in protected mode (SDM MOV, POP pseudo-code).
    public func loadSegment(_ seg: Int, selector: UInt16) throws(CPUException) {
        let code = UInt32(selector & 0xFFFC)
        let rpl = UInt8(selector & 3)
        if seg == Seg.ss {
            guard selector & 0xFFFC != 0 else { throw .gp(0) }
            guard let d = try descriptor(selector) else { throw .gp(code) }
            guard rpl == cpl, d.writable, d.dpl == cpl else { throw .gp(code) }
            guard d.present else { throw .ss(code) }
            try markAccessed(selector, d)
            var c = d.cache; c.selector = selector; c.access |= 1
            segs[seg] = c
            return
        }
        if selector & 0xFFFC == 0 {
            // A null selector loads, and any later use faults (SDM Vol. 3 §3.4.2).
            var c = SegmentCache(); c.selector = selector; c.usable = false; c.access = 0
            segs[seg] = c
            return
        }
        guard let d = try descriptor(selector) else { throw .gp(code) }
        guard d.isData || (d.isCode && d.readable) else { throw .gp(code) }
        if d.isData || !d.conforming { guard rpl <= d.dpl && cpl <= d.dpl else { throw .gp(code) } }
        guard d.present else { throw .np(code) }
        try markAccessed(selector, d)
        var c = d.cache; c.selector = selector; c.access |= 1
        segs[seg] = c
    }

    /// Loads CS for a far transfer whose checks have passed; RPL becomes the new CPL.
    func loadCS(_ selector: UInt16, _ d: Descriptor, cpl newCPL: UInt8) throws(CPUException) {
        try markAccessed(selector, d)
        var c = d.cache
        c.selector = (selector & 0xFFFC) | UInt16(newCPL)
        c.access |= 1
        segs[Seg.cs] = c
        cpl = newCPL
    }

    /// True when `size` bytes at `offset` lie within the segment's limit, for
    /// an expand-up or an expand-down segment (SDM Vol. 3 §5.3): the check of
    /// every push onto a new stack.
    func withinLimit(_ s: SegmentCache, _ offset: UInt32, _ size: UInt32) -> Bool {
        let last = UInt64(offset) + UInt64(size) - 1
        if s.expandDown { return UInt64(offset) > UInt64(s.limit) && last <= (s.big ? 0xFFFF_FFFF : 0xFFFF) }
        return last <= UInt64(s.limit)
    }

    /// After a return to an outer level, data segment registers the new level
    /// may not use become null (SDM RET, IRET: "FOR each of segment register (ES, FS, GS, and DS)").
    func nullInaccessibleSegments() {
        for s in [Seg.es, Seg.ds, Seg.fs, Seg.gs] {
            let c = segs[s]
            let conformingCode = c.isCode && c.access & 4 != 0
            if c.usable && !conformingCode && c.dpl < cpl {
                var n = SegmentCache(); n.selector = 0; n.usable = false; n.access = 0
                segs[s] = n
            }
        }
    }

    // ---- LAR, LSL, VERR, VERW, ARPL: never fault on a failed check, report in ZF ----

    /// The descriptor a probing instruction may see, or nil (ZF = 0).
    private func probe(_ selector: UInt16, allowed: (Descriptor) -> Bool) throws(CPUException) -> Descriptor? {
        guard selector & 0xFFFC != 0, let d = try descriptor(selector), allowed(d) else { return nil }
        // Conforming code skips the privilege check; everything else needs DPL >= max(CPL, RPL).
        if !d.conforming && (d.dpl < cpl || d.dpl < UInt8(selector & 3)) { return nil }
        return d
    }

    /// LAR (SDM): access rights of code, data, LDT, TSS and gate descriptors.
    func lar(_ i: Instr) throws(CPUException) {
        let sel = UInt16(try readRM(i, 2))
        let ok = [SystemType.tss16, SystemType.ldt, SystemType.tss16Busy, SystemType.callGate16, SystemType.taskGate,
                  SystemType.tss32, SystemType.tss32Busy, SystemType.callGate32]
        let d = try probe(sel) { $0.isSegment || ok.contains(Int($0.type)) }
        setFlag(EFLAGS.zf, d != nil)
        if let d { setReg(Int(i.reg), size: i.osize, d.hi & (i.osize == 2 ? 0xFF00 : 0x00F0_FF00)) }
    }

    /// LSL (SDM): the byte-granular limit of code, data, LDT and TSS descriptors.
    func lsl(_ i: Instr) throws(CPUException) {
        let sel = UInt16(try readRM(i, 2))
        let ok = [SystemType.tss16, SystemType.ldt, SystemType.tss16Busy, SystemType.tss32, SystemType.tss32Busy]
        let d = try probe(sel) { $0.isSegment || ok.contains(Int($0.type)) }
        setFlag(EFLAGS.zf, d != nil)
        if let d { setReg(Int(i.reg), size: i.osize, d.limit) }
    }

    /// VERR / VERW (SDM): is the segment readable / writable from here?
    func verify(_ i: Instr) throws(CPUException) {
        let sel = UInt16(try readRM(i, 2))
        let write = i.op == .verw
        let d = try probe(sel) { d in d.isSegment && (write ? d.writable : d.readable) }
        setFlag(EFLAGS.zf, d != nil)
    }

    /// ARPL (SDM): raise the destination selector's RPL to the source's.
    func arpl(_ i: Instr) throws(CPUException) {
        let src = reg(Int(i.reg), size: 2)
        var changed = false
        try modify(i, 2) { v in
            guard v & 3 < src & 3 else { return nil }
            changed = true
            return (v & ~3) | (src & 3)
        }
        setFlag(EFLAGS.zf, changed)
    }
}
