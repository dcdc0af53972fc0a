// Arithmetic and logic: the eight ALU operations, unary, multiply and
// divide, shifts and rotates, bit tests and scans, BCD adjusts.  Each cites
// its Intel SDM Vol. 2 page; flags the SDM calls undefined are left as the
// formula below produces them.

extension CPU {
    /// ADD OR ADC SBB AND SUB XOR CMP (SDM Vol. 2: ADD, OR, ...): result and lazy flags.
    @inline(__always) func alu(_ op: Op, _ a: UInt32, _ b: UInt32, _ size: UInt8) -> UInt32 {
        switch op {
        case .add: let r = a &+ b; flagsAdd(size, a, b, r); return r
        case .or: let r = a | b; flagsLogic(size, r); return r
        case .adc: let r = a &+ b &+ (lfAux >> 31); flagsAdd(size, a, b, r); return r
        case .sbb: let r = a &- b &- (lfAux >> 31); flagsSub(size, a, b, r); return r
        case .and: let r = a & b; flagsLogic(size, r); return r
        case .xor: let r = a ^ b; flagsLogic(size, r); return r
        default: let r = a &- b; flagsSub(size, a, b, r); return r   // SUB, CMP
        }
    }

    /// INC and DEC keep CF (SDM INC: "The CF flag is not affected"); NOT changes no flag; NEG sets CF = (src != 0).
    func unary(_ i: Instr) throws(CPUException) {
        let size = i.osize
        let t = try target(i, size)
        let a = try load(t, size)
        let r: UInt32
        switch i.op {
        case .inc: r = a &+ 1; flagsIncDec(size, r, carries: addCarries(a, 1, r))
        case .dec: r = a &- 1; flagsIncDec(size, r, carries: subBorrows(a, 1, r))
        case .not: r = ~a
        default: r = 0 &- a; flagsSub(size, 0, a, r)
        }
        try store(t, size, r)
    }

    /// MUL, one-operand IMUL, DIV, IDIV on AL/AX/EAX with AH/DX/EDX (SDM MUL, IMUL, DIV, IDIV).
    func mulDiv(_ i: Instr) throws(CPUException) {
        let size = i.osize
        let src = try readRM(i, size)
        let bits = UInt64(size) * 8
        let lowMask = UInt64(sizeMask(size))
        // The double-width accumulator: AX for bytes, DX:AX, EDX:EAX.
        let acc: UInt64 = size == 1 ? UInt64(regs[0] & 0xFFFF)
            : (UInt64(reg(Reg.edx, size: size)) << bits) | UInt64(reg(Reg.eax, size: size))
        func store(_ lo: UInt64, _ hi: UInt64) {
            if size == 1 { setReg(Reg.eax, size: 2, UInt32((hi << 8) | (lo & 0xFF))) }
            else { setReg(Reg.eax, size: size, UInt32(truncatingIfNeeded: lo)); setReg(Reg.edx, size: size, UInt32(truncatingIfNeeded: hi)) }
        }
        switch i.op {
        case .mul:
            let p = UInt64(reg(Reg.eax, size: size)) * UInt64(src)
            store(p & lowMask, p >> bits)
            let high = p >> bits != 0
            setStatus(result: UInt32(truncatingIfNeeded: p), size: size, cf: high, of: high)
        case .imul1:
            let p = Int64(signExtend(reg(Reg.eax, size: size), size)) * Int64(signExtend(src, size))
            let u = UInt64(bitPattern: p)
            store(u & lowMask, (u >> bits) & lowMask)
            let fits = p == Int64(signExtend(UInt32(truncatingIfNeeded: u), size))
            setStatus(result: UInt32(truncatingIfNeeded: u), size: size, cf: !fits, of: !fits)
        case .div:
            guard src != 0 else { throw .de }
            let q = acc / UInt64(src), r = acc % UInt64(src)
            guard q <= lowMask else { throw .de }
            store(q, r)
        default: // .idiv
            guard src != 0 else { throw .de }
            let dividend: Int64 = size == 1 ? Int64(Int16(truncatingIfNeeded: acc))
                : (size == 2 ? Int64(Int32(truncatingIfNeeded: acc)) : Int64(bitPattern: acc))
            let divisor = Int64(signExtend(src, size))
            let (q, overflow) = dividend.dividedReportingOverflow(by: divisor)
            let limit = Int64(1) << (bits - 1)
            guard !overflow && q >= -limit && q < limit else { throw .de }
            let r = dividend.remainderReportingOverflow(dividingBy: divisor).partialValue
            store(UInt64(bitPattern: q) & lowMask, UInt64(bitPattern: r) & lowMask)
        }
    }

    /// Two- and three-operand IMUL: Gv = Gv * Ev, or Gv = Ev * imm (SDM IMUL forms 2 and 3).
    func imul(_ i: Instr) throws(CPUException) {
        let size = i.osize
        let a: UInt32, b: UInt32
        if i.cond == 1 { a = try readRM(i, size); b = i.imm2 } else { a = reg(Int(i.reg), size: size); b = try readRM(i, size) }
        let p = Int64(signExtend(a, size)) * Int64(signExtend(b, size))
        let r = UInt32(truncatingIfNeeded: p)
        let fits = p == Int64(signExtend(r, size))
        setReg(Int(i.reg), size: size, r)
        setStatus(result: r, size: size, cf: !fits, of: !fits)
    }

    /// Shift and rotate group (SDM SAL/SAR/SHL/SHR, RCL/RCR/ROL/ROR).  The
    /// count is masked to 5 bits; a masked count of 0 changes nothing.
    func shift(_ i: Instr) throws(CPUException) {
        let size = i.osize
        let count = (i.src == .imm ? i.imm : regs[Reg.ecx]) & 0x1F
        guard count != 0 else {
            if i.mod != 3 { _ = try linear(Int(i.seg), ea(i), UInt32(size), write: true) }
            return
        }
        let op = i.op
        let t = try target(i, size)
        try store(t, size, shifted(op, try load(t, size), count, size))
    }

    @inline(__always) func shifted(_ op: Op, _ a: UInt32, _ count: UInt32, _ size: UInt8) -> UInt32 {
        let m = sizeMask(size), w = UInt32(size) * 8, s = signBit(size)
        let v = a & m
        switch op {
        case .shl, .sal:
            // CF is the last bit shifted out of the top (0 once the count passes the width); OF = MSB xor CF.
            let r = (v << count) & m
            let c = UInt32(truncatingIfNeeded: (UInt64(v) << UInt64(count)) >> UInt64(w)) & 1
            flagsShift(size, r, cf: c, of: c ^ (r >> (w - 1)))
            return r
        case .shr:
            // CF is the last bit shifted out of the bottom; OF is the operand's original MSB.
            let r = v >> count
            flagsShift(size, r, cf: (v >> (count - 1)) & 1, of: v >> (w - 1))
            return r
        case .sar:
            let sv = signExtend(v, size)
            let r = UInt32(bitPattern: sv >> Int32(count)) & m
            flagsShift(size, r, cf: UInt32(bitPattern: sv >> Int32(count - 1)) & 1, of: 0)
            return r
        case .rol, .ror:
            let n = count % w
            let r = n == 0 ? v : (op == .rol ? ((v << n) | (v >> (w - n))) & m : ((v >> n) | (v << (w - n))) & m)
            let c = op == .rol ? r & 1 != 0 : r & s != 0
            // OF: for ROL MSB XOR CF; for ROR the two top bits' XOR (defined for count 1 only).
            let o = op == .rol ? (r & s != 0) != c : ((r & s != 0) != (r & (s >> 1) != 0))
            setCarryOverflow(cf: c, of: o)
            return r
        default: // RCL, RCR: rotate through CF; the count is taken modulo size+1 for 8 and 16 bits.
            let n = size == 4 ? count : count % (w + 1)
            let oldCF = cf
            var c = oldCF
            var r = v
            let oldTop = r & s != 0
            for _ in 0..<n {
                if op == .rcl {
                    let out = r & s != 0
                    r = ((r << 1) & m) | (c ? 1 : 0); c = out
                } else {
                    let out = r & 1 != 0
                    r = (r >> 1) | (c ? s : 0); c = out
                }
            }
            let o = op == .rcl ? (r & s != 0) != c : (oldTop != oldCF)
            setCarryOverflow(cf: c, of: o)
            return r
        }
    }

    /// SHLD / SHRD (SDM): shift the destination, filling from the source register.
    func doubleShift(_ i: Instr) throws(CPUException) {
        let size = i.osize
        let count = (i.cond == 1 ? regs[Reg.ecx] : i.imm2) & 0x1F
        guard count != 0 else { return }
        let src = reg(Int(i.reg), size: size)
        let m = UInt64(sizeMask(size))
        let isLeft = i.op == .shld
        let t = try target(i, size)
        let d = UInt64(try load(t, size)) & m, s = UInt64(src) & m
        // The destination and source side by side (dest:src for SHLD, src:dest for SHRD);
        // 16-bit forms use dest:src:dest so that counts above 16 behave as Intel parts do.
        let r: UInt32
        if isLeft {
            let wide = size == 4 ? (d << 32) | s : (d << 32) | (s << 16) | d
            r = UInt32(truncatingIfNeeded: (wide << UInt64(count)) >> 32) & UInt32(m)
            // Flags as SHL of the destination by the same count.
            let c = UInt32(truncatingIfNeeded: (d << UInt64(count)) >> (UInt64(size) * 8)) & 1
            flagsShift(size, r, cf: c, of: c ^ (r >> (UInt32(size) * 8 - 1)))
        } else {
            let wide = size == 4 ? (s << 32) | d : (d << 32) | (s << 16) | d
            r = UInt32(truncatingIfNeeded: wide >> UInt64(count)) & UInt32(m)
            let c = (d >> UInt64(count - 1)) & 1 != 0
            let sb = signBit(size)
            setStatus(result: r, size: size, cf: c, of: (r & sb) != (UInt32(d) & sb))
        }
        try store(t, size, r)
    }

    /// BT, BTS, BTR, BTC (SDM BT): a register bit offset on a memory operand
    /// addresses the bit string beyond the operand (signed, in operand-size units).
    func bitTest(_ i: Instr) throws(CPUException) {
        let size = i.osize
        let bits = UInt32(size) * 8
        let offset = i.src == .imm ? i.imm : reg(Int(i.reg), size: size)
        let op = i.op
        var bit = offset & (bits - 1)
        let apply: (UInt32) -> UInt32? = { [self] v in
            setCarry((v >> bit) & 1 != 0)
            switch op {
            case .bts: return v | (1 << bit)
            case .btr: return v & ~(1 << bit)
            case .btc: return v ^ (1 << bit)
            default: return nil
            }
        }
        if i.mod == 3 || i.src == .imm {
            if i.mod == 3 && op == .bt { _ = apply(reg(Int(i.rm), size: size)); return }
            if op == .bt { _ = apply(try readRM(i, size)); return }
            try modify(i, size) { v in apply(v) }
            return
        }
        let signedOff = signExtend(offset, size)
        let delta = UInt32(bitPattern: (signedOff >> (size == 4 ? 5 : 4)) * Int32(size))
        bit = UInt32(bitPattern: signedOff) & (bits - 1)
        let off = ea(i) &+ delta
        let addr = i.asize16 ? off & 0xFFFF : off
        if op == .bt { _ = apply(try read(Int(i.seg), addr, size)); return }
        let lin = try linear(Int(i.seg), addr, UInt32(size), write: true)
        let v = try readLinear(lin, size)
        if let r = apply(v) { try writeLinear(lin, size, r) }
    }

    /// BSF / BSR (SDM): a zero source sets ZF and leaves the destination unchanged.
    func bitScan(_ i: Instr) throws(CPUException) {
        let size = i.osize
        let v = try readRM(i, size) & sizeMask(size)
        setFlag(EFLAGS.zf, v == 0)
        if v == 0 { return }
        let r = i.op == .bsf ? UInt32(v.trailingZeroBitCount) : UInt32(31 - v.leadingZeroBitCount)
        setReg(Int(i.reg), size: size, r)
    }

    /// DAA DAS AAA AAS AAM AAD (SDM pseudo-code for each).
    func bcd(_ i: Instr) throws(CPUException) {
        let al = reg8(0), oldCF = cf, oldAF = af
        switch i.op {
        case .daa, .das:
            var a = al, c = false, af = false
            let add = i.op == .daa
            if a & 0xF > 9 || oldAF {
                c = oldCF || (add ? a + 6 > 0xFF : a < 6)
                a = (add ? a &+ 6 : a &- 6) & 0xFF
                af = true
            }
            if al > 0x99 || oldCF {
                a = (add ? a &+ 0x60 : a &- 0x60) & 0xFF
                c = true
            } else if add {
                c = false
            }
            setReg8(0, a)
            setStatus(result: a, size: 1, cf: c, of: false, af: af)
        case .aaa, .aas:
            let adjust = al & 0xF > 9 || oldAF
            if adjust {
                let ax = regs[0] & 0xFFFF
                let n = i.op == .aaa ? ax &+ 0x106 : (ax &- 6) &- 0x100
                setReg(Reg.eax, size: 2, n)
            }
            setReg8(0, reg8(0) & 0xF)
            setStatus(result: reg8(0), size: 1, cf: adjust, of: false, af: adjust)
        case .aam:
            let base = i.imm & 0xFF
            guard base != 0 else { throw .de }
            setReg8(4, al / base)
            setReg8(0, al % base)
            setStatus(result: reg8(0), size: 1, cf: false, of: false)
        default: // .aad
            let r = (al &+ reg8(4) &* (i.imm & 0xFF)) & 0xFF
            setReg(Reg.eax, size: 2, r)
            setStatus(result: r, size: 1, cf: false, of: false)
        }
    }
}
