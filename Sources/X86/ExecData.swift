// Data movement through the stack and between operands: PUSH/POP and their
// variants, ENTER/LEAVE, XCHG, XADD, CMPXCHG, CMPXCHG8B, BSWAP.

extension CPU {
    /// The stack pointer as the B bit of SS says: ESP, or SP in a 16-bit stack (SDM Vol. 3 §6.2.3? / Vol. 1 §6.2.3).
    @inline(__always) func push(_ v: UInt32, _ size: UInt8) throws(CPUException) {
        if _fastPath(!stack16) {
            let sp = regs[Reg.esp] &- UInt32(size)
            try write(Seg.ss, sp, size, v)
            regs[Reg.esp] = sp
        } else {
            let sp = (regs[Reg.esp] &- UInt32(size)) & 0xFFFF
            try write(Seg.ss, sp, size, v)
            setReg(Reg.esp, size: 2, sp)
        }
    }
    @inline(__always) func pop(_ size: UInt8) throws(CPUException) -> UInt32 {
        let v = try peek(size, at: 0)
        adjustSP(Int32(size))
        return v
    }
    /// Reads the stack at SP + offset without popping.
    @inline(__always) func peek(_ size: UInt8, at offset: UInt32) throws(CPUException) -> UInt32 {
        let sp = stack16 ? (regs[Reg.esp] &+ offset) & 0xFFFF : regs[Reg.esp] &+ offset
        return try read(Seg.ss, sp, size)
    }
    @inline(__always) func adjustSP(_ delta: Int32) {
        if stack16 { setReg(Reg.esp, size: 2, regs[Reg.esp] &+ UInt32(bitPattern: delta)) }
        else { regs[Reg.esp] &+= UInt32(bitPattern: delta) }
    }

    func stackOp(_ i: Instr) throws(CPUException) {
        let size = i.osize
        switch i.op {
        case .push:
            // PUSH ESP pushes the value before the decrement (SDM PUSH).
            try push(try readLoc(i.dst, i, size), size)
        case .pop:
            let v = try peek(size, at: 0)
            if i.dst == .reg {
                adjustSP(Int32(size)); setReg(Int(i.reg), size: size, v)
            } else {
                // POP to memory computes the address after incrementing ESP (SDM POP).
                adjustSP(Int32(size))
                do { try writeRM(i, size, v) } catch { adjustSP(-Int32(size)); throw error }
            }
        case .pusha:
            let sp = regs[Reg.esp]
            for r in 0..<8 { try push(r == Reg.esp ? sp : reg(r, size: size), size) }
        case .popa:
            for r in (0..<8).reversed() {
                let v = try pop(size)
                if r != Reg.esp { setReg(r, size: size, v) }
            }
        case .pushf:
            // VM and RF are cleared in the image (SDM PUSHF).
            try push(eflags & ~(EFLAGS.vm | EFLAGS.rf), size)
        case .popf:
            let v = try pop(size)
            loadFlags(v, size: size)
        case .pushSeg:
            // With a 32-bit operand size, recent processors write only the 16-bit selector (SDM PUSH).
            let sel = UInt32(segs[Int(i.reg)].selector)
            if size == 4 {
                let sp = (stack16 ? (regs[Reg.esp] &- 4) & 0xFFFF : regs[Reg.esp] &- 4)
                try write(Seg.ss, sp, 2, sel)
                adjustSP(-4)
            } else {
                try push(sel, 2)
            }
        case .popSeg:
            let v = try peek(size, at: 0)
            try loadSegment(Int(i.reg), selector: UInt16(truncatingIfNeeded: v))
            adjustSP(Int32(size))
            if Int(i.reg) == Seg.ss { interruptShadow = true }
        case .enter: try enter(i)
        default: // .leave: ESP ← EBP, then EBP ← Pop(); the read comes first so that a fault changes nothing
            let sp = stack16 ? regs[Reg.ebp] & 0xFFFF : regs[Reg.ebp]
            let v = try read(Seg.ss, sp, size)
            if stack16 { setReg(Reg.esp, size: 2, sp &+ UInt32(size)) } else { regs[Reg.esp] = sp &+ UInt32(size) }
            setReg(Reg.ebp, size: size, v)
        }
    }

    /// POPF/IRET flag rules in protected mode (SDM POPF, Vol. 3 §3.4.3? and
    /// Robin & Irvine): CPL 0 may change everything but VIP/VIF/VM; 0 < CPL
    /// <= IOPL everything but IOPL; CPL > IOPL neither IOPL nor IF — silently.
    func loadFlags(_ v: UInt32, size: UInt8) {
        var mask = EFLAGS.writable & ~(EFLAGS.vm | EFLAGS.vif | EFLAGS.vip | EFLAGS.rf)
        if cpl > 0 { mask &= ~EFLAGS.iopl }
        if cpl > iopl { mask &= ~EFLAGS.if }
        if size == 2 { mask &= 0xFFFF }
        let old = eflags
        setEFLAGS((old & ~mask) | (v & mask))
    }

    /// ENTER imm16, imm8 (SDM ENTER): frame with nesting level 0-31.
    func enter(_ i: Instr) throws(CPUException) {
        let size = i.osize
        let alloc = i.imm & 0xFFFF, level = i.imm2 & 0x1F
        try push(reg(Reg.ebp, size: size), size)
        let frame = stack16 ? regs[Reg.esp] & 0xFFFF : regs[Reg.esp]
        if level > 0 {
            var bp = regs[Reg.ebp]
            for _ in 1..<level {
                bp = stack16 ? (bp &- UInt32(size)) & 0xFFFF : bp &- UInt32(size)
                try push(try read(Seg.ss, bp, size), size)
            }
            try push(frame, size)
        }
        // Touch the lowest byte of the new frame first so a fault leaves ESP alone.
        let newSP = (stack16 ? (regs[Reg.esp] &- alloc) & 0xFFFF : regs[Reg.esp] &- alloc)
        setReg(Reg.ebp, size: size, frame)
        if stack16 { setReg(Reg.esp, size: 2, newSP) } else { regs[Reg.esp] = newSP }
    }

    func exchange(_ i: Instr) throws(CPUException) {
        let size = i.osize
        switch i.op {
        case .xchg:
            var old: UInt32 = 0
            if i.dst == .reg {
                // XCHG Zv, eAX: dst is the opcode's register, src the r/m (eAX).
                let other = try readRM(i, size)
                old = reg(Int(i.reg), size: size)
                setReg(Int(i.reg), size: size, other)
                try writeRM(i, size, old)
            } else {
                let other = reg(Int(i.reg), size: size)
                try modify(i, size) { v in old = v; return other }
                setReg(Int(i.reg), size: size, old)
            }
        case .xadd:
            let src = reg(Int(i.reg), size: size)
            var old: UInt32 = 0
            try modify(i, size) { v in old = v; return alu(.add, v, src, size) }
            // SRC <- DEST, then DEST <- sum: with one register for both, the sum wins (SDM XADD).
            if !(i.mod == 3 && i.rm == i.reg) { setReg(Int(i.reg), size: size, old) }
        case .cmpxchg:
            let acc = reg(Reg.eax, size: size), src = reg(Int(i.reg), size: size)
            var old: UInt32 = 0
            try modify(i, size) { v in
                old = v
                _ = alu(.cmp, acc, v, size)
                return acc & sizeMask(size) == v & sizeMask(size) ? src : v
            }
            if acc & sizeMask(size) != old & sizeMask(size) { setReg(Reg.eax, size: size, old) }
        case .cmpxchg8b:
            let a = ea(i)
            let lo = try read(Int(i.seg), a, 4), hi = try read(Int(i.seg), a &+ 4, 4)
            _ = try linear(Int(i.seg), a, 8, write: true)
            let equal = lo == regs[Reg.eax] && hi == regs[Reg.edx]
            if equal {
                try write(Int(i.seg), a, 4, regs[Reg.ebx]); try write(Int(i.seg), a &+ 4, 4, regs[Reg.ecx])
            } else {
                try write(Int(i.seg), a, 4, lo); try write(Int(i.seg), a &+ 4, 4, hi)
                regs[Reg.eax] = lo; regs[Reg.edx] = hi
            }
            setFlag(EFLAGS.zf, equal)
        default: // .bswap (16-bit operand size is undefined; Ringside swaps the low word to 0 as Intel parts do)
            let r = Int(i.reg)
            if size == 4 { regs[r] = regs[r].byteSwapped } else { setReg(r, size: 2, 0) }
        }
    }
}
