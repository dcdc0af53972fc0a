// EFLAGS with lazy status flags (performance.md §3): an arithmetic
// instruction records its operation, operands and result; CF, PF, AF, ZF, SF
// and OF are computed only when something reads them.  ZF, SF and PF depend on
// the result alone; CF, OF and AF on the operation (SDM Vol. 1 §3.4.3.1,
// Appendix A "EFLAGS Cross-Reference").

enum LazyOp: UInt8 { case none, add, adc, sub, sbb, logic, inc, dec, neg, shl, shr, sar }

struct LazyFlags {
    var op: LazyOp = .none
    var size: UInt8 = 4
    var res: UInt32 = 0
    var a: UInt32 = 0
    var b: UInt32 = 0
    /// Carry-in for ADC/SBB; the preserved CF for INC/DEC.
    var cin: UInt32 = 0
}

@inline(__always) func sizeMask(_ size: UInt8) -> UInt32 {
    size == 4 ? 0xFFFF_FFFF : (size == 2 ? 0xFFFF : 0xFF)
}
@inline(__always) func signBit(_ size: UInt8) -> UInt32 { 1 << (UInt32(size) * 8 - 1) }

extension CPU {
    @inline(__always) func setLazy(_ op: LazyOp, _ size: UInt8, _ res: UInt32, _ a: UInt32, _ b: UInt32) {
        lazy.op = op; lazy.size = size; lazy.res = res; lazy.a = a; lazy.b = b
    }

    var cf: Bool {
        let l = lazy, m = sizeMask(l.size)
        switch l.op {
        case .none: return flagBits & EFLAGS.cf != 0
        case .add: return l.res & m < l.a & m
        case .adc: return l.cin != 0 ? l.res & m <= l.a & m : l.res & m < l.a & m
        case .sub: return l.a & m < l.b & m
        case .sbb: return l.cin != 0 ? l.a & m <= l.b & m : l.a & m < l.b & m
        case .logic: return false
        case .inc, .dec: return l.cin != 0
        case .neg: return l.b & m != 0
        case .shl:   // last bit shifted out of the top; count in b (1...31)
            let w = UInt64(l.size) * 8
            return (UInt64(l.a & m) << UInt64(l.b)) >> w & 1 != 0
        case .shr: return l.b <= 32 && (UInt64(l.a & m) >> UInt64(l.b - 1)) & 1 != 0
        case .sar:
            let v = signExtend(l.a, l.size)
            return (v >> Int32(min(l.b - 1, 31))) & 1 != 0
        }
    }

    var of: Bool {
        let l = lazy, s = signBit(l.size), m = sizeMask(l.size)
        switch l.op {
        case .none: return flagBits & EFLAGS.of != 0
        case .add, .adc: return (l.a ^ l.res) & (l.b ^ l.res) & s != 0
        case .sub, .sbb: return (l.a ^ l.b) & (l.a ^ l.res) & s != 0
        case .logic, .sar: return false
        case .inc: return l.res & m == s
        case .dec: return l.res & m == s - 1
        case .neg: return l.res & m == s
        case .shl: return (l.res & s != 0) != cf     // MSB(result) XOR CF (defined for count 1)
        case .shr: return l.a & s != 0               // MSB of the original operand
        }
    }

    var af: Bool {
        let l = lazy
        switch l.op {
        case .none: return flagBits & EFLAGS.af != 0
        case .add, .adc, .sub, .sbb, .inc, .dec, .neg: return (l.a ^ l.b ^ l.res) & 0x10 != 0
        case .logic, .shl, .shr, .sar: return false
        }
    }

    var zf: Bool { lazy.op == .none ? flagBits & EFLAGS.zf != 0 : lazy.res & sizeMask(lazy.size) == 0 }
    var sf: Bool { lazy.op == .none ? flagBits & EFLAGS.sf != 0 : lazy.res & signBit(lazy.size) != 0 }
    var pf: Bool {
        lazy.op == .none ? flagBits & EFLAGS.pf != 0 : (lazy.res & 0xFF).nonzeroBitCount & 1 == 0
    }
    var df: Bool { flagBits & EFLAGS.df != 0 }

    /// Folds the lazy status flags into `flagBits`: one switch for all six.
    @inline(__always) func materializeFlags() {
        guard lazy.op != .none else { return }
        flagBits = (flagBits & ~EFLAGS.arith) | lazyStatusBits()
        lazy.op = .none
    }

    /// The six status flags the lazy state stands for.
    func lazyStatusBits() -> UInt32 {
        let l = lazy, m = sizeMask(l.size), s = signBit(l.size)
        let r = l.res & m
        var f: UInt32 = 0
        if r == 0 { f |= EFLAGS.zf }
        if r & s != 0 { f |= EFLAGS.sf }
        if (r & 0xFF).nonzeroBitCount & 1 == 0 { f |= EFLAGS.pf }
        switch l.op {
        case .add, .adc, .sub, .sbb, .inc, .dec, .neg:
            if (l.a ^ l.b ^ l.res) & 0x10 != 0 { f |= EFLAGS.af }
        default: break
        }
        if cf { f |= EFLAGS.cf }
        if of { f |= EFLAGS.of }
        return f
    }

    /// Sets or clears status flags directly (after materializing the rest).
    @inline(__always) func setFlag(_ bit: UInt32, _ on: Bool) {
        materializeFlags()
        if on { flagBits |= bit } else { flagBits &= ~bit }
    }

    /// The architectural EFLAGS value.
    public var eflags: UInt32 {
        materializeFlags()
        return flagBits
    }

    /// Loads EFLAGS without privilege rules (bit 1 forced to 1, reserved bits 0).
    public func setEFLAGS(_ v: UInt32) {
        lazy.op = .none
        flagBits = (v & EFLAGS.writable) | EFLAGS.reserved1
    }

    /// Evaluates condition code `cc` (SDM Vol. 1 Table B-1).  After CMP/SUB
    /// and the logical operations — what compilers put before a Jcc — the
    /// condition comes straight from the operands.
    @inline(__always) func condition(_ cc: UInt8) -> Bool {
        let l = lazy
        let r: Bool
        if l.op == .sub {
            let m = sizeMask(l.size)
            let a = l.a & m, b = l.b & m
            let sa = signExtend(a, l.size), sb = signExtend(b, l.size)
            switch cc >> 1 {
            case 0: r = of
            case 1: r = a < b
            case 2: r = a == b
            case 3: r = a <= b
            case 4: r = l.res & signBit(l.size) != 0
            case 5: r = pf
            case 6: r = sa < sb
            default: r = sa <= sb
            }
        } else {
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
        }
        return cc & 1 == 0 ? r : !r
    }
}

@inline(__always) func signExtend(_ v: UInt32, _ size: UInt8) -> Int32 {
    switch size {
    case 1: return Int32(Int8(truncatingIfNeeded: v))
    case 2: return Int32(Int16(truncatingIfNeeded: v))
    default: return Int32(bitPattern: v)
    }
}
