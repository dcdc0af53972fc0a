// EFLAGS with lazy status flags (performance.md §3), encoded the way Bochs
// does it (cpu/lazy_flags.h): an arithmetic instruction stores its result
// and its carry vector — the carry out of every bit position — and nothing
// else.  Each of CF, PF, AF, ZF, SF and OF is then one or two bit operations
// away, whatever instruction set it, so there is no per-operation switch on
// either side (SDM Vol. 1 §3.4.3.1 defines the flags; Appendix A lists who
// sets which).
//
//   lfRes  the result, sign-extended from the operand size to 32 bits:
//          ZF = (lfRes == 0), SF = bit 31, PF = parity of the low byte.
//   lfAux  bit 31  CF: the carry (borrow) out of the operand's top bit
//          bit 30  PO = CF xor OF: the carry into the top bit, since
//                  OF = carry into the top bit xor carry out of it
//          bit 3   AF: the carry out of bit 3
//          bits 8-15  PDB, XOR-ed into the result's low byte before the parity
//          bit 0   SD, XOR-ed into the sign bit
// PDB and SD are zero after arithmetic; they let SAHF, POPF and the like
// force any combination of ZF, SF and PF (ZF and SF both set has no result).

@inline(__always) func sizeMask(_ size: UInt8) -> UInt32 {
    size == 4 ? 0xFFFF_FFFF : (size == 2 ? 0xFFFF : 0xFF)
}
@inline(__always) func signBit(_ size: UInt8) -> UInt32 { 1 << (UInt32(size) * 8 - 1) }

@inline(__always) func signExtend(_ v: UInt32, _ size: UInt8) -> Int32 {
    switch size {
    case 1: return Int32(Int8(truncatingIfNeeded: v))
    case 2: return Int32(Int16(truncatingIfNeeded: v))
    default: return Int32(bitPattern: v)
    }
}

/// Carry vectors (Bochs' ADD_COUT_VEC and SUB_COUT_VEC): bit k is the carry
/// (borrow) out of bit k of `a + b (+ carry in) = r` (`a - b (- borrow) = r`).
/// With r_k = a_k ^ b_k ^ c_k, the carry out is the majority of a_k, b_k, c_k,
/// which these formulas recover from the result without knowing c_k.
@inline(__always) func addCarries(_ a: UInt32, _ b: UInt32, _ r: UInt32) -> UInt32 { (a & b) | ((a | b) & ~r) }
@inline(__always) func subBorrows(_ a: UInt32, _ b: UInt32, _ r: UInt32) -> UInt32 { (~a & b) | (~(a ^ b) & r) }

extension CPU {
    static let cfBit: UInt32 = 1 << 31, poBit: UInt32 = 1 << 30

    // ---- Setting the flags ----
    /// After an add or subtract of `size` bytes: result and carry vector.
    @inline(__always) func setArith(_ size: UInt8, _ r: UInt32, carries c: UInt32) {
        lfRes = UInt32(bitPattern: signExtend(r, size))
        // The carries out of the top two bits land in bits 31 (CF) and 30 (PO).
        lfAux = (c & 8) | ((c >> (UInt32(size) * 8 - 2)) << 30)
    }
    @inline(__always) func flagsAdd(_ size: UInt8, _ a: UInt32, _ b: UInt32, _ r: UInt32) {
        setArith(size, r, carries: addCarries(a, b, r))
    }
    @inline(__always) func flagsSub(_ size: UInt8, _ a: UInt32, _ b: UInt32, _ r: UInt32) {
        setArith(size, r, carries: subBorrows(a, b, r))
    }
    /// AND, OR, XOR, TEST: CF = OF = 0; AF is undefined and left 0 (SDM AND).
    @inline(__always) func flagsLogic(_ size: UInt8, _ r: UInt32) {
        lfRes = UInt32(bitPattern: signExtend(r, size))
        lfAux = 0
    }
    /// INC and DEC set OF, SF, ZF, AF and PF as ADD/SUB 1 would, and keep CF
    /// (SDM INC: "The CF flag is not affected"): the old CF bit is put back
    /// and PO flipped with it, so that OF = CF xor PO stays the new OF.
    @inline(__always) func flagsIncDec(_ size: UInt8, _ r: UInt32, carries c: UInt32) {
        let old = lfAux
        setArith(size, r, carries: c)
        var delta = (old ^ lfAux) & CPU.cfBit
        delta ^= delta >> 1
        lfAux ^= delta
    }
    /// Shifts: ZF, SF and PF from the result, CF and OF as computed, AF 0.
    @inline(__always) func flagsShift(_ size: UInt8, _ r: UInt32, cf c: UInt32, of o: UInt32) {
        lfRes = UInt32(bitPattern: signExtend(r, size))
        lfAux = (c << 31) | ((c ^ o) << 30)
    }
    /// Changes CF and OF only, given as 0 or 1 (rotates: SDM RCL/RCR/ROL/ROR
    /// "SF, ZF, AF and PF are not affected").
    @inline(__always) func setCarryOverflow(cf c: UInt32, of o: UInt32) {
        lfAux = (lfAux & ~(CPU.cfBit | CPU.poBit)) | (c << 31) | ((c ^ o) << 30)
    }
    @inline(__always) func setCarryOverflow(cf c: Bool, of o: Bool) {
        setCarryOverflow(cf: c ? 1 : 0, of: o ? 1 : 0)
    }
    /// Changes CF only (CLC, STC, CMC, BT).
    @inline(__always) func setCarry(_ c: Bool) { setCarryOverflow(cf: c, of: of) }

    /// Sets all six status flags at once (for instructions computed eagerly).
    @inline(__always) func setStatus(result r: UInt32, size: UInt8, cf c: Bool, of o: Bool, af a: Bool = false) {
        lfRes = UInt32(bitPattern: signExtend(r, size))
        let cb: UInt32 = c ? 1 : 0, ob: UInt32 = o ? 1 : 0
        lfAux = (cb << 31) | ((cb ^ ob) << 30) | (a ? 8 : 0)
    }

    /// Encodes explicit status-flag values (bits of `f` at their EFLAGS positions).
    func loadStatus(_ f: UInt32) {
        // A non-zero result with a clear sign bit and a zero low byte; SF and PF come from the deltas.
        lfRes = f & EFLAGS.zf != 0 ? 0 : 0x100
        let c = f & EFLAGS.cf, o = (f >> 11) & 1
        lfAux = (c << 31) | ((c ^ o) << 30) | (f & EFLAGS.af != 0 ? 8 : 0)
            | (f & EFLAGS.pf != 0 ? 0 : 0x100) | (f & EFLAGS.sf != 0 ? 1 : 0)
    }

    // ---- Reading the flags ----
    var cf: Bool { @inline(__always) get { lfAux >> 31 != 0 } }
    var of: Bool { @inline(__always) get { (lfAux ^ (lfAux << 1)) >> 31 != 0 } }
    var af: Bool { @inline(__always) get { lfAux & 8 != 0 } }
    var zf: Bool { @inline(__always) get { lfRes == 0 } }
    var sf: Bool { @inline(__always) get { ((lfRes >> 31) ^ lfAux) & 1 != 0 } }
    var pf: Bool { @inline(__always) get { UInt8(truncatingIfNeeded: lfRes ^ (lfAux >> 8)).nonzeroBitCount & 1 == 0 } }
    var df: Bool { @inline(__always) get { flagBits & EFLAGS.df != 0 } }

    /// The six status flags at their EFLAGS positions.
    func statusBits() -> UInt32 {
        var f: UInt32 = 0
        if cf { f |= EFLAGS.cf }
        if pf { f |= EFLAGS.pf }
        if af { f |= EFLAGS.af }
        if zf { f |= EFLAGS.zf }
        if sf { f |= EFLAGS.sf }
        if of { f |= EFLAGS.of }
        return f
    }

    /// Sets or clears status flags directly.
    func setFlag(_ bit: UInt32, _ on: Bool) {
        if bit == EFLAGS.cf { setCarry(on); return }
        let f = statusBits()
        loadStatus(on ? f | bit : f & ~bit)
    }

    /// The architectural EFLAGS value.
    public var eflags: UInt32 { flagBits | statusBits() }

    /// Loads EFLAGS without privilege rules (bit 1 forced to 1, reserved bits 0).
    public func setEFLAGS(_ v: UInt32) {
        flagBits = (v & EFLAGS.writable & ~EFLAGS.arith) | EFLAGS.reserved1
        loadStatus(v)
    }

    /// Evaluates condition code `cc` (SDM Vol. 1 Table B-1).
    @inline(__always) func condition(_ cc: UInt8) -> Bool {
        let r: Bool
        switch cc >> 1 {
        case 0: r = of
        case 1: r = cf
        case 2: r = zf
        case 3: r = cf || zf
        case 4: r = sf
        case 5: r = pf
        case 6: r = sf != of
        default: r = zf || (sf != of)
        }
        return cc & 1 == 0 ? r : !r
    }
}
