// The generic executor: one switch over `Op`.  Each case is short and
// calls into the family files (ExecALU, ExecData, ExecControl, ExecString,
// ExecSystem).  Operand routing comes from the decoder's `Loc`s.  The run
// loop dispatches on `Instr.fast` first (ExecFast.swift); an instruction
// with no specialized form comes here.

extension CPU {
    // ---- Operand access ----
    /// Effective address of the memory operand (SDM Vol. 2 §2.1.5), wrapped to 16 bits under 0x67.
    /// A missing base or index names the zero register (`Instr.noRegister`).
    @inline(__always) func ea(_ i: Instr) -> UInt32 {
        let a = i.disp &+ regs[Int(i.base)] &+ (regs[Int(i.index)] &<< UInt32(i.scale))
        return i.asize16 ? a & 0xFFFF : a
    }
    /// The effective address of `i`'s memory operand with the current
    /// registers, for monitors that emulate an instruction.
    public func effectiveAddress(_ i: Instr) -> UInt32 { ea(i) }
    @inline(__always) func readRM(_ i: Instr, _ size: UInt8) throws(CPUException) -> UInt32 {
        if i.mod == 3 { return reg(Int(i.rm), size: size) }
        return try read(Int(i.seg), ea(i), size)
    }
    @inline(__always) func writeRM(_ i: Instr, _ size: UInt8, _ v: UInt32) throws(CPUException) {
        if i.mod == 3 { setReg(Int(i.rm), size: size, v); return }
        try write(Int(i.seg), ea(i), size, v)
    }
    @inline(__always) func readLoc(_ loc: Loc, _ i: Instr, _ size: UInt8) throws(CPUException) -> UInt32 {
        switch loc {
        case .rm: return try readRM(i, size)
        case .reg: return reg(Int(i.reg), size: size)
        case .imm: return i.imm
        case .none: return 0
        }
    }
    @inline(__always) func readLinear(_ lin: UInt32, _ size: UInt8) throws(CPUException) -> UInt32 {
        switch size {
        case 4: return try readLinear32(lin)
        case 2: return try readLinear16(lin)
        default: return try readLinear8(lin)
        }
    }
    @inline(__always) func writeLinear(_ lin: UInt32, _ size: UInt8, _ v: UInt32) throws(CPUException) {
        switch size {
        case 4: try writeLinear32(lin, v)
        case 2: try writeLinear16(lin, v)
        default: try writeLinear8(lin, v)
        }
    }

    /// The destination of a read-modify-write: a register (`reg >= 0`) or a
    /// linear address whose write access has been checked once, so that the
    /// read and the write touch the same location, as a locked RMW cycle would.
    struct Target { var reg: Int; var lin: UInt32 }

    @inline(__always) func target(_ i: Instr, _ size: UInt8, write: Bool = true) throws(CPUException) -> Target {
        if i.dst == .reg { return Target(reg: Int(i.reg), lin: 0) }
        if i.mod == 3 { return Target(reg: Int(i.rm), lin: 0) }
        return Target(reg: -1, lin: try linear(Int(i.seg), ea(i), UInt32(size), write: write))
    }
    @inline(__always) func load(_ t: Target, _ size: UInt8) throws(CPUException) -> UInt32 {
        t.reg >= 0 ? reg(t.reg, size: size) : try readLinear(t.lin, size)
    }
    @inline(__always) func store(_ t: Target, _ size: UInt8, _ v: UInt32) throws(CPUException) {
        if t.reg >= 0 { setReg(t.reg, size: size, v) } else { try writeLinear(t.lin, size, v) }
    }

    /// Read-modify-write through a closure, for the rarer instructions.
    func modify(_ i: Instr, _ size: UInt8, _ f: (UInt32) throws(CPUException) -> UInt32?) throws(CPUException) {
        let t = try target(i, size)
        if let r = try f(try load(t, size)) { try store(t, size, r) }
    }

    // ---- Dispatch ----
    @inline(__always) func execute(_ i: Instr) throws(CPUException) {
        switch i.op {
        case .add, .or, .adc, .sbb, .and, .sub, .xor, .cmp:
            let b = try readLoc(i.src, i, i.osize)
            let t = try target(i, i.osize, write: i.op != .cmp)
            let r = alu(i.op, try load(t, i.osize), b, i.osize)
            if i.op != .cmp { try store(t, i.osize, r) }
        case .test:
            let b = try readLoc(i.src, i, i.osize)
            let a = try readLoc(i.dst, i, i.osize)
            flagsLogic(i.osize, a & b)
        case .inc, .dec, .not, .neg: try unary(i)
        case .mul, .imul1, .div, .idiv: try mulDiv(i)
        case .imul: try imul(i)
        case .rol, .ror, .rcl, .rcr, .shl, .shr, .sal, .sar: try shift(i)
        case .shld, .shrd: try doubleShift(i)
        case .bt, .bts, .btr, .btc: try bitTest(i)
        case .bsf, .bsr: try bitScan(i)
        case .daa, .das, .aaa, .aas, .aam, .aad: try bcd(i)
        case .mov:
            let v = try readLoc(i.src, i, i.osize)
            if i.dst == .reg { setReg(Int(i.reg), size: i.osize, v) } else { try writeRM(i, i.osize, v) }
        case .movzx, .movsx:
            let srcSize = i.cond
            let v = try readRM(i, srcSize)
            let r = i.op == .movzx ? v : UInt32(bitPattern: signExtend(v, srcSize))
            setReg(Int(i.reg), size: i.osize, r)
        case .lea: setReg(Int(i.reg), size: i.osize, ea(i))
        case .xchg, .xadd, .cmpxchg, .cmpxchg8b, .bswap: try exchange(i)
        case .cbw:
            if i.osize == 2 { setReg(Reg.eax, size: 2, UInt32(bitPattern: signExtend(regs[0], 1))) }
            else { regs[0] = UInt32(bitPattern: signExtend(regs[0], 2)) }
        case .cwd:
            let neg = reg(Reg.eax, size: i.osize) & signBit(i.osize) != 0
            setReg(Reg.edx, size: i.osize, neg ? 0xFFFF_FFFF : 0)
        case .cmovcc:
            // The source is read (and may fault) whether or not the condition holds (SDM CMOVcc).
            let v = try readRM(i, i.osize)
            if condition(i.cond) { setReg(Int(i.reg), size: i.osize, v) }
        case .setcc: try writeRM(i, 1, condition(i.cond) ? 1 : 0)
        case .lahf:
            setReg8(4, (statusBits() & (EFLAGS.sf | EFLAGS.zf | EFLAGS.af | EFLAGS.pf | EFLAGS.cf)) | EFLAGS.reserved1)
        case .sahf:
            let mask = EFLAGS.sf | EFLAGS.zf | EFLAGS.af | EFLAGS.pf | EFLAGS.cf
            loadStatus((statusBits() & ~mask) | (reg8(4) & mask))
        case .push, .pop, .pusha, .popa, .pushf, .popf, .enter, .leave, .pushSeg, .popSeg: try stackOp(i)
        case .xlat:
            let off = (i.asize16 ? regs[Reg.ebx] & 0xFFFF : regs[Reg.ebx]) &+ reg8(0)
            setReg8(0, try read(Int(i.seg), i.asize16 ? off & 0xFFFF : off, 1))
        case .jmp, .jcc, .jmpIndirect, .call, .callIndirect, .ret, .loop, .loope, .loopne, .jecxz:
            try nearControl(i)
        case .movs, .cmps, .stos, .lods, .scas, .ins, .outs: try stringOp(i)
        case .clc: setCarry(false)
        case .stc: setCarry(true)
        case .cmc: setCarry(!cf)
        case .cld: flagBits &= ~EFLAGS.df
        case .std: flagBits |= EFLAGS.df
        case .nop, .pause: break
        case .wait:
            // WAIT/FWAIT: #NM when CR0.MP and CR0.TS are both set (SDM Vol. 3 Table 2-2).
            if cr0 & (CR0.mp | CR0.ts) == CR0.mp | CR0.ts { throw .nm }
        case .fpu:
            // No x87: #NM when EM or TS is set, else #UD (SDM Vol. 3 Table 2-2 with no FPU present).
            if cr0 & (CR0.em | CR0.ts) != 0 { throw .nm }
            throw .ud
        case .ud2, .invalid: throw .ud
        case .cpuid: cpuid()
        default: try system(i)
        }
    }
}
