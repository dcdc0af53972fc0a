// Memory access: segmentation (SDM Vol. 3 §5.3 limit and type checks), then
// a software TLB in front of the page walk (Paging.swift).  The fast path is
// one segment compare, one tag compare and a load; everything else — page
// crossings, MMIO, writes to pages holding decoded code, pages holding a
// watched range (Watchpoints.swift), misses — takes the slow path.

/// A direct-mapped software TLB of 1024 entries.  A tag is the linear page
/// address | 1 (valid) | 2 (user may access).  Read and write permission have
/// separate tags: a write tag exists only when the page is writable for that
/// mode, already dirty, in RAM and holds no decoded code.  A page holding a
/// watched range has no tag of the kind watched (Watchpoints.swift).
struct TLB {
    static let entries = 1024
    let readTag: UnsafeMutablePointer<UInt32>
    let writeTag: UnsafeMutablePointer<UInt32>
    let phys: UnsafeMutablePointer<UInt32>
    let global: UnsafeMutablePointer<Bool>

    init() {
        readTag = .allocate(capacity: TLB.entries); readTag.initialize(repeating: 0, count: TLB.entries)
        writeTag = .allocate(capacity: TLB.entries); writeTag.initialize(repeating: 0, count: TLB.entries)
        phys = .allocate(capacity: TLB.entries); phys.initialize(repeating: 0, count: TLB.entries)
        global = .allocate(capacity: TLB.entries); global.initialize(repeating: false, count: TLB.entries)
    }
    func deallocate() { readTag.deallocate(); writeTag.deallocate(); phys.deallocate(); global.deallocate() }
}

extension CPU {
    // ---- TLB maintenance ----
    /// Empties the TLB; with `global: false` entries for global pages survive (CR3 load, SDM Vol. 3 §4.10.4.1).
    public func flushTLB(global: Bool) {
        for i in 0..<TLB.entries where global || !tlb.global[i] {
            tlb.readTag[i] = 0; tlb.writeTag[i] = 0; tlb.global[i] = false
        }
        blocks.newEpoch()   // the jump cache holds translations too (BlockCache.swift)
    }
    /// INVLPG: drops the entry for one linear address.
    public func flushTLB(linear: UInt32) {
        let i = Int((linear >> 12) & UInt32(TLB.entries - 1))
        tlb.readTag[i] = 0; tlb.writeTag[i] = 0; tlb.global[i] = false
        blocks.newEpoch()
    }
    /// Drops every write tag that maps physical page `page`: it now holds code.
    func dropWriteTags(physicalPage page: UInt32) {
        for i in 0..<TLB.entries where tlb.writeTag[i] != 0 && tlb.phys[i] == page << 12 { tlb.writeTag[i] = 0 }
    }

    @inline(__always) var userMode: Bool { cpl == 3 }

    // ---- Segmentation ----
    /// Offset → linear address with the limit and type checks of SDM Vol. 3
    /// §5.3 and §5.4.  Faults are #SS for the stack segment, #GP otherwise.
    /// The fast path is one 64-bit compare against the bound the segment
    /// cache keeps for its kind of access (CPU.swift, `SegmentCache`).
    @inline(__always) func linear(_ seg: Int, _ offset: UInt32, _ size: UInt32, write: Bool) throws(CPUException) -> UInt32 {
        let s = segs + seg
        let last = UInt64(offset) &+ UInt64(size &- 1)
        if _fastPath(last < (write ? s.pointee.writeEnd : s.pointee.readEnd)) {
            return s.pointee.base &+ offset
        }
        return try linearSlow(seg, offset, size, write: write)
    }

    func linearSlow(_ seg: Int, _ offset: UInt32, _ size: UInt32, write: Bool) throws(CPUException) -> UInt32 {
        let s = segs[seg]
        let fault: CPUException = seg == Seg.ss ? .ss(0) : .gp(0)
        guard s.usable else { throw fault }
        if write ? !s.writable : !s.readable { throw .gp(0) }
        let last = UInt64(offset) + UInt64(size - 1)
        if s.expandDown {
            // Valid offsets are limit+1 ... 0xFFFF or 0xFFFFFFFF by the B bit (SDM Vol. 3 §5.3).
            let upper: UInt64 = s.big ? 0xFFFF_FFFF : 0xFFFF
            guard UInt64(offset) > UInt64(s.limit) && last <= upper else { throw fault }
        } else {
            guard last <= UInt64(s.limit) else { throw fault }
        }
        return s.base &+ offset
    }

    // ---- Linear reads and writes ----
    /// The TLB fast path: the host address of `size` bytes at `lin` when the
    /// entry for `lin`'s page is valid for this privilege and the access
    /// stays within the page, else nil.  The expected tag is built from the
    /// access's *last* byte: an entry only ever holds a page congruent to its
    /// index, so the tag of the next page never matches and a page-crossing
    /// access falls to the slow path without a separate test.
    @inline(__always) func hostRead(_ lin: UInt32, _ size: UInt32) -> UnsafeMutableRawPointer? {
        let i = Int((lin >> 12) & UInt32(TLB.entries - 1))
        if _fastPath(tlb.readTag[i] | tlbUserOr == ((lin &+ (size &- 1)) & 0xFFFF_F000) | 3) {
            return UnsafeMutableRawPointer(ram + Int(tlb.phys[i] | (lin & 0xFFF)))
        }
        return nil
    }
    /// The same for writes; a write tag implies a read one (a writable page
    /// is readable, SDM Vol. 3 §4.6), so read-modify-writes use this alone.
    @inline(__always) func hostWrite(_ lin: UInt32, _ size: UInt32) -> UnsafeMutableRawPointer? {
        let i = Int((lin >> 12) & UInt32(TLB.entries - 1))
        if _fastPath(tlb.writeTag[i] | tlbUserOr == ((lin &+ (size &- 1)) & 0xFFFF_F000) | 3) {
            return UnsafeMutableRawPointer(ram + Int(tlb.phys[i] | (lin & 0xFFF)))
        }
        return nil
    }

    @inline(__always) public func readLinear8(_ lin: UInt32) throws(CPUException) -> UInt32 {
        if let h = hostRead(lin, 1) { return UInt32(h.load(as: UInt8.self)) }
        return try readSlow(lin, 1, user: userMode)
    }
    @inline(__always) public func readLinear16(_ lin: UInt32) throws(CPUException) -> UInt32 {
        if let h = hostRead(lin, 2) { return UInt32(h.loadUnaligned(as: UInt16.self)) }
        return try readSlow(lin, 2, user: userMode)
    }
    @inline(__always) public func readLinear32(_ lin: UInt32) throws(CPUException) -> UInt32 {
        if let h = hostRead(lin, 4) { return h.loadUnaligned(as: UInt32.self) }
        return try readSlow(lin, 4, user: userMode)
    }
    @inline(__always) public func writeLinear8(_ lin: UInt32, _ v: UInt32) throws(CPUException) {
        if let h = hostWrite(lin, 1) { h.storeBytes(of: UInt8(truncatingIfNeeded: v), as: UInt8.self); return }
        try writeSlow(lin, 1, v, user: userMode)
    }
    @inline(__always) public func writeLinear16(_ lin: UInt32, _ v: UInt32) throws(CPUException) {
        if let h = hostWrite(lin, 2) { h.storeBytes(of: UInt16(truncatingIfNeeded: v), toByteOffset: 0, as: UInt16.self); return }
        try writeSlow(lin, 2, v, user: userMode)
    }
    @inline(__always) public func writeLinear32(_ lin: UInt32, _ v: UInt32) throws(CPUException) {
        if let h = hostWrite(lin, 4) { h.storeBytes(of: v, toByteOffset: 0, as: UInt32.self); return }
        try writeSlow(lin, 4, v, user: userMode)
    }

    /// Reads `size` bytes at a linear address with the given privilege
    /// (`user: false` for the implicit supervisor accesses of SDM Vol. 3
    /// §4.6: descriptor tables, the TSS, the IDT).
    public func readSlow(_ lin: UInt32, _ size: Int, user: Bool) throws(CPUException) -> UInt32 {
        if size > 1 && (lin & 0xFFF) > 0x1000 - UInt32(size) {
            // Crosses a page: both pages must translate before any byte counts.
            var v: UInt32 = 0
            for k in 0..<size { v |= try readSlow(lin &+ UInt32(k), 1, user: user) << (8 * UInt32(k)) }
            return v
        }
        let phys = try translate(lin, write: false, user: user)
        if _slowPath(watchActive) { checkWatchpoints(lin, size, write: false) }
        return readPhysical(phys, size)
    }

    public func writeSlow(_ lin: UInt32, _ size: Int, _ v: UInt32, user: Bool) throws(CPUException) {
        if size > 1 && (lin & 0xFFF) > 0x1000 - UInt32(size) {
            // Translate both pages first so that a fault leaves memory untouched;
            // a fault on the second reports its first byte in CR2, as a byte-wise access would.
            _ = try translate(lin, write: true, user: user)
            _ = try translate((lin | 0xFFF) &+ 1, write: true, user: user)
            for k in 0..<size { try writeSlow(lin &+ UInt32(k), 1, v >> (8 * UInt32(k)), user: user) }
            return
        }
        let phys = try translate(lin, write: true, user: user)
        writePhysical(phys, size, v)
        if _slowPath(watchActive) { checkWatchpoints(lin, size, write: true) }
    }

    // ---- Physical memory ----
    public func readPhysical(_ phys: UInt32, _ size: Int) -> UInt32 {
        if UInt64(phys) + UInt64(size) <= UInt64(ramSize) {
            var v: UInt32 = 0
            for k in 0..<size { v |= UInt32(ram[Int(phys) + k]) << (8 * UInt32(k)) }
            return v
        }
        interruptPollStale = true   // a device may change the PIC's answer (Run.swift)
        if let bus { return bus.mmioRead(phys, size: size) }
        return size == 4 ? 0xFFFF_FFFF : (1 << (8 * UInt32(size))) - 1
    }

    public func writePhysical(_ phys: UInt32, _ size: Int, _ v: UInt32) {
        if UInt64(phys) + UInt64(size) <= UInt64(ramSize) {
            let generation = blocks.generation
            blocks.noteWrite(phys, size, cpu: self)
            if blocks.generation != generation { exitBlock = true }
            for k in 0..<size { ram[Int(phys) + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(k))) }
            return
        }
        interruptPollStale = true
        bus?.mmioWrite(phys, size: size, value: v)
    }

    // ---- Segment-relative access, the executor's interface ----
    @inline(__always) func read(_ seg: Int, _ off: UInt32, _ size: UInt8) throws(CPUException) -> UInt32 {
        let lin = try linear(seg, off, UInt32(size), write: false)
        switch size {
        case 4: return try readLinear32(lin)
        case 2: return try readLinear16(lin)
        default: return try readLinear8(lin)
        }
    }
    @inline(__always) func write(_ seg: Int, _ off: UInt32, _ size: UInt8, _ v: UInt32) throws(CPUException) {
        let lin = try linear(seg, off, UInt32(size), write: true)
        switch size {
        case 4: try writeLinear32(lin, v)
        case 2: try writeLinear16(lin, v)
        default: try writeLinear8(lin, v)
        }
    }
}
