// The executor of the specialized forms (FastForms.swift): one switch over
// `Fast`, each case a few loads and stores on the register file, the lazy
// flags and guest memory.  Semantics are exactly the generic executor's for
// the same instruction — the differential tests run both — and so are the
// fault rules: a case reads and checks everything that can fault before it
// changes any register, so a fault restarts the instruction cleanly.
//
// EIP and the instruction count are advanced here, after the work, so an
// exception thrown by a case leaves both at the faulting instruction.
//
// The loop over a block's instructions lives in the same function as the
// switch, and so does the step from one block to the next (`runBlocks`):
// a run of blocks pays for one call, and the register file pointer, EIP and
// the instruction pointer stay in host registers between instructions.

extension CPU {
    /// Runs block `first` and the blocks that follow it, until one of them
    /// sets `exitBlock`, the budget (`instructions` reaching `end`) runs
    /// out, or `run` has something to check before the next block: an
    /// interrupt that may be pending (IF = 1), breakpoints, or an instruction
    /// intercept that could fire in the next block.
    @inline(never)
    func runBlocks(_ first: Int32, end: UInt64) throws(CPUException) {
        var id = first
        while true {
            let b = blocks.blockTable + Int(id)
            let p = blocks.pool + Int(b.pointee.first)
            // Stop at the block's end or when the budget runs out, whichever is first.
            let count = UInt64(b.pointee.count), budget = end &- instructions
            exitBlock = false
            try execute(from: p, to: p + Int(min(count, budget)))
            if exitBlock || count >= budget { return }
            // With IF = 1 (or IF ignored), `run` delivers a pending interrupt first, or asks the PIC again.
            if (flagBits | interruptFlagBypass) & EFLAGS.if != 0 && (interruptPollStale || interruptPollCache) { return }
            id = try blockAtEIP()
            let next = blocks.blockTable + Int(id)
            if next.pointee.traits & interceptMask != 0 { return }
            // Breakpoints cost a look-up only at blocks that start at one (or were built for another address).
            if _slowPath(breakpointsActive) && (next.pointee.breakpoint || next.pointee.linear != segs[Seg.cs].base &+ eip) { return }
        }
    }

    /// Executes one instruction, for the run loop's checking path.
    @inline(never)
    func executeOne(_ p: UnsafeMutablePointer<Instr>) throws(CPUException) {
        try execute(from: p, to: p + 1)
    }

    /// Executes and retires the instructions from `first` up to, not
    /// including, `stop`, or fewer if one of them sets `exitBlock`.
    @inline(__always)
    func execute(from first: UnsafeMutablePointer<Instr>, to stop: UnsafeMutablePointer<Instr>) throws(CPUException) {
        var p = first
        let r = regs
        // The register file as raw bytes, for the byte forms (`r1`, `r2` are byte offsets there).
        let rb = UnsafeMutableRawPointer(regs)
        @inline(__always) func byte(_ o: Int) -> UInt32 { UInt32(rb.load(fromByteOffset: o, as: UInt8.self)) }
        @inline(__always) func setByte(_ o: Int, _ v: UInt32) { rb.storeBytes(of: UInt8(truncatingIfNeeded: v), toByteOffset: o, as: UInt8.self) }
        repeat {
            let r1 = Int(p.pointee.r1), r2 = Int(p.pointee.r2)
            var next = eip &+ UInt32(p.pointee.length)
            switch p.pointee.fast {
            case .generic:
                nextEIP = next
                // Port I/O may change the PIC's answer (Run.swift, `interruptRequested`).
                if p.pointee.traitBits & Traits.io.rawValue != 0 { interruptPollStale = true }
                try execute(p.pointee)
                next = nextEIP

            case .addRR: r[r1] = add32(r[r1], r[r2])
            case .orRR: r[r1] = logic32(r[r1] | r[r2])
            case .adcRR: r[r1] = adc32(r[r1], r[r2])
            case .sbbRR: r[r1] = sbb32(r[r1], r[r2])
            case .andRR: r[r1] = logic32(r[r1] & r[r2])
            case .subRR: r[r1] = sub32(r[r1], r[r2])
            case .xorRR: r[r1] = logic32(r[r1] ^ r[r2])
            case .cmpRR: _ = sub32(r[r1], r[r2])

            case .addRI: r[r1] = add32(r[r1], p.pointee.imm)
            case .orRI: r[r1] = logic32(r[r1] | p.pointee.imm)
            case .adcRI: r[r1] = adc32(r[r1], p.pointee.imm)
            case .sbbRI: r[r1] = sbb32(r[r1], p.pointee.imm)
            case .andRI: r[r1] = logic32(r[r1] & p.pointee.imm)
            case .subRI: r[r1] = sub32(r[r1], p.pointee.imm)
            case .xorRI: r[r1] = logic32(r[r1] ^ p.pointee.imm)
            case .cmpRI: _ = sub32(r[r1], p.pointee.imm)

            case .addRM: let b = try load32(p); r[r1] = add32(r[r1], b)
            case .orRM: let b = try load32(p); r[r1] = logic32(r[r1] | b)
            case .adcRM: let b = try load32(p); r[r1] = adc32(r[r1], b)
            case .sbbRM: let b = try load32(p); r[r1] = sbb32(r[r1], b)
            case .andRM: let b = try load32(p); r[r1] = logic32(r[r1] & b)
            case .subRM: let b = try load32(p); r[r1] = sub32(r[r1], b)
            case .xorRM: let b = try load32(p); r[r1] = logic32(r[r1] ^ b)
            case .cmpRM: let b = try load32(p); _ = sub32(r[r1], b)

            case .addMR, .orMR, .adcMR, .sbbMR, .andMR, .subMR, .xorMR:
                try modify32(p, r[r2])
            case .cmpMR: _ = sub32(try load32(p), r[r2])
            case .addMI, .orMI, .adcMI, .sbbMI, .andMI, .subMI, .xorMI:
                try modify32(p, p.pointee.imm)
            case .cmpMI: _ = sub32(try load32(p), p.pointee.imm)

            case .testRR: _ = logic32(r[r1] & r[r2])
            case .testRI: _ = logic32(r[r1] & p.pointee.imm)
            case .testMR: _ = logic32(try load32(p) & r[r2])
            case .testMI: _ = logic32(try load32(p) & p.pointee.imm)

            case .movRR: r[r1] = r[r2]
            case .movRI: r[r1] = p.pointee.imm
            case .movRM: r[r1] = try load32(p)
            case .movMR: try store32(p, r[r2])
            case .movMI: try store32(p, p.pointee.imm)
            case .movzxM8: r[r1] = try read(Int(p.pointee.seg), ea32(p), 1)
            case .movsxM8: r[r1] = UInt32(bitPattern: Int32(Int8(truncatingIfNeeded: try read(Int(p.pointee.seg), ea32(p), 1))))
            case .movzxM16: r[r1] = try read(Int(p.pointee.seg), ea32(p), 2)
            case .movsxM16: r[r1] = UInt32(bitPattern: Int32(Int16(truncatingIfNeeded: try read(Int(p.pointee.seg), ea32(p), 2))))
            case .lea: r[r1] = ea32(p)

            case .pushR:
                // PUSH ESP pushes the value before the decrement (SDM PUSH).
                try push32(r[r1])
            case .pushI: try push32(p.pointee.imm)
            case .popR:
                // POP ESP: the register receives the value read, after the increment (SDM POP).
                r[r1] = try pop32(release: 0, target: false)
            case .incR:
                let a = r[r1], v = a &+ 1
                r[r1] = v
                flagsIncDec(4, v, carries: addCarries(a, 1, v))
            case .decR:
                let a = r[r1], v = a &- 1
                r[r1] = v
                flagsIncDec(4, v, carries: subBorrows(a, 1, v))

            case .shlRI:
                // CF = the last bit shifted out, bit 32 - n; OF = MSB xor CF (SDM SAL/SHL).
                let a = r[r1], n = p.pointee.imm & 0x1F
                let v = a &<< n, c = (a &>> (32 &- n)) & 1
                r[r1] = v
                flagsShift(4, v, cf: c, of: c ^ (v >> 31))
            case .shrRI:
                // CF = bit n - 1; OF = the original MSB (SDM SHR).
                let a = r[r1], n = p.pointee.imm & 0x1F
                let v = a &>> n
                r[r1] = v
                flagsShift(4, v, cf: (a &>> (n &- 1)) & 1, of: a >> 31)
            case .sarRI:
                // CF = bit n - 1; OF = 0 (SDM SAR).
                let a = Int32(bitPattern: r[r1]), n = p.pointee.imm & 0x1F
                let v = UInt32(bitPattern: a &>> Int32(n))
                r[r1] = v
                flagsShift(4, v, cf: UInt32(bitPattern: a &>> Int32(n &- 1)) & 1, of: 0)
            case .rolRI:
                let a = r[r1], n = p.pointee.imm & 0x1F
                let v = (a &<< n) | (a &>> (32 &- n))
                r[r1] = v
                // CF = the bit rotated into bit 0; OF = MSB xor CF (SDM ROL).
                setCarryOverflow(cf: v & 1, of: (v >> 31) ^ (v & 1))
            case .rorRI:
                let a = r[r1], n = p.pointee.imm & 0x1F
                let v = (a &>> n) | (a &<< (32 &- n))
                r[r1] = v
                // CF = the bit rotated into bit 31; OF = the XOR of the two top bits (SDM ROR).
                setCarryOverflow(cf: v >> 31, of: (v >> 31) ^ ((v >> 30) & 1))
            case .imulRRI: r[r1] = imul32(r[r2], p.pointee.imm2)
            case .imulRR: r[r1] = imul32(r[r1], r[r2])

            case .movRR8: setByte(r1, byte(r2))
            case .movRI8: setByte(r1, p.pointee.imm)
            case .movRM8: setByte(r1, try read(Int(p.pointee.seg), ea32(p), 1))
            case .movMR8: try write(Int(p.pointee.seg), ea32(p), 1, byte(r2))
            case .movMI8: try write(Int(p.pointee.seg), ea32(p), 1, p.pointee.imm)
            case .cmpRR8: let a = byte(r1), b = byte(r2); flagsSub(1, a, b, a &- b)
            case .cmpRI8: let a = byte(r1), b = p.pointee.imm; flagsSub(1, a, b, a &- b)
            case .cmpRM8:
                let a = byte(r1), b = try read(Int(p.pointee.seg), ea32(p), 1)
                flagsSub(1, a, b, a &- b)
            case .cmpMR8:
                let a = try read(Int(p.pointee.seg), ea32(p), 1), b = byte(r2)
                flagsSub(1, a, b, a &- b)
            case .cmpMI8:
                let a = try read(Int(p.pointee.seg), ea32(p), 1), b = p.pointee.imm
                flagsSub(1, a, b, a &- b)
            case .testRR8: flagsLogic(1, byte(r1) & byte(r2))
            case .testRI8: flagsLogic(1, byte(r1) & p.pointee.imm)
            case .testMI8: flagsLogic(1, try read(Int(p.pointee.seg), ea32(p), 1) & p.pointee.imm)
            case .aluRR8: setByte(r1, alu(p.pointee.op, byte(r1), byte(r2), 1))
            case .aluRI8: setByte(r1, alu(p.pointee.op, byte(r1), p.pointee.imm, 1))
            case .aluRM8:
                let b = try read(Int(p.pointee.seg), ea32(p), 1)
                setByte(r1, alu(p.pointee.op, byte(r1), b, 1))
            case .aluMR8, .aluMI8:
                // One segment check and one translation for the read and the write, as in `modify32`.
                let b = p.pointee.fast == .aluMR8 ? byte(r2) : p.pointee.imm
                let lin = try linear(Int(p.pointee.seg), ea32(p), 1, write: true)
                try writeLinear8(lin, alu(p.pointee.op, try readLinear8(lin), b, 1))
            case .movzxR8: r[r1] = byte(r2)
            case .movsxR8: r[r1] = UInt32(bitPattern: Int32(Int8(truncatingIfNeeded: byte(r2))))
            case .movzxR16: r[r1] = r[r2] & 0xFFFF
            case .movsxR16: r[r1] = UInt32(bitPattern: Int32(Int16(truncatingIfNeeded: r[r2])))

            case .jmp: next = try nearTarget(next &+ p.pointee.imm)
            case .call:
                let target = try nearTarget(next &+ p.pointee.imm)
                try push32(next)
                next = target
            case .ret: next = try pop32(release: 0, target: true)
            case .retGuarded:
                next = try pop32(release: 0, target: true)
                // The instructions that follow in the block assume the return address the trace predicted.
                if next != eip &+ p.pointee.imm2 { exitBlock = true }
            case .loop:
                // ECX counts down without touching flags; the branch is taken while it is not zero (SDM LOOP).
                let c = r[Reg.ecx] &- 1
                if c != 0 { next = try nearTarget(next &+ p.pointee.imm) }
                r[Reg.ecx] = c
            case .jecxz: if r[Reg.ecx] == 0 { next = try nearTarget(next &+ p.pointee.imm) }
            case .retI: next = try pop32(release: p.pointee.imm & 0xFFFF, target: true)
            case .leave:
                if _slowPath(stack16) {
                    nextEIP = next; try execute(p.pointee); next = nextEIP
                } else {
                    // ESP ← EBP, EBP ← Pop(): the read first, so a fault changes nothing (SDM LEAVE).
                    let bp = r[Reg.ebp]
                    let v = try readLinear32(try linear(Seg.ss, bp, 4, write: false))
                    r[Reg.esp] = bp &+ 4
                    r[Reg.ebp] = v
                }
            case .pushM:
                // The address is formed before ESP is decremented (SDM PUSH).
                try push32(try load32(p))
            case .callR, .callM:
                let target = try nearTarget(p.pointee.fast == .callR ? r[r1] : try load32(p))
                try push32(next)
                next = target
            case .jmpR: next = try nearTarget(r[r1])
            case .jmpM: next = try nearTarget(try load32(p))
            case .setccR: setByte(r1, condition(p.pointee.cond) ? 1 : 0)
            case .setccM: try write(Int(p.pointee.seg), ea32(p), 1, condition(p.pointee.cond) ? 1 : 0)
            case .cmovRR: if condition(p.pointee.cond) { r[r1] = r[r2] }
            case .cmovRM:
                // The source is read, and may fault, whether or not the condition holds (SDM CMOVcc).
                let v = try load32(p)
                if condition(p.pointee.cond) { r[r1] = v }
            case .jo: if of { next = try nearTarget(next &+ p.pointee.imm) }
            case .jno: if !of { next = try nearTarget(next &+ p.pointee.imm) }
            case .jb: if cf { next = try nearTarget(next &+ p.pointee.imm) }
            case .jnb: if !cf { next = try nearTarget(next &+ p.pointee.imm) }
            case .jz: if zf { next = try nearTarget(next &+ p.pointee.imm) }
            case .jnz: if !zf { next = try nearTarget(next &+ p.pointee.imm) }
            case .jbe: if cf || zf { next = try nearTarget(next &+ p.pointee.imm) }
            case .ja: if !(cf || zf) { next = try nearTarget(next &+ p.pointee.imm) }
            case .js: if sf { next = try nearTarget(next &+ p.pointee.imm) }
            case .jns: if !sf { next = try nearTarget(next &+ p.pointee.imm) }
            case .jp: if pf { next = try nearTarget(next &+ p.pointee.imm) }
            case .jnp: if !pf { next = try nearTarget(next &+ p.pointee.imm) }
            case .jl: if sf != of { next = try nearTarget(next &+ p.pointee.imm) }
            case .jge: if sf == of { next = try nearTarget(next &+ p.pointee.imm) }
            case .jle: if zf || sf != of { next = try nearTarget(next &+ p.pointee.imm) }
            case .jg: if !(zf || sf != of) { next = try nearTarget(next &+ p.pointee.imm) }
            }
            eip = next
            instructions &+= 1
            p += 1
        } while p < stop && !exitBlock
    }

    // ---- Helpers of the fast forms (32-bit operand and address size) ----
    @inline(__always) func ea32(_ p: UnsafeMutablePointer<Instr>) -> UInt32 {
        p.pointee.disp &+ regs[Int(p.pointee.base)] &+ (regs[Int(p.pointee.index)] &<< UInt32(p.pointee.scale))
    }
    @inline(__always) func load32(_ p: UnsafeMutablePointer<Instr>) throws(CPUException) -> UInt32 {
        try readLinear32(try linear(Int(p.pointee.seg), ea32(p), 4, write: false))
    }
    @inline(__always) func store32(_ p: UnsafeMutablePointer<Instr>, _ v: UInt32) throws(CPUException) {
        try writeLinear32(try linear(Int(p.pointee.seg), ea32(p), 4, write: true), v)
    }
    /// Read-modify-write of a dword by one of the seven ALU operations that
    /// store (the row's `Op`): one segment check and one TLB lookup for both
    /// halves, as the locked cycle of a real part touches one location.
    @inline(__always) func modify32(_ p: UnsafeMutablePointer<Instr>, _ b: UInt32) throws(CPUException) {
        let lin = try linear(Int(p.pointee.seg), ea32(p), 4, write: true)
        if let h = hostWrite(lin, 4) {
            h.storeBytes(of: alu(p.pointee.op, h.loadUnaligned(as: UInt32.self), b, 4), as: UInt32.self)
        } else {
            try writeLinear32(lin, alu(p.pointee.op, try readLinear32(lin), b, 4))
        }
    }
    /// A near branch target, checked against CS's limit (SDM JMP: #GP(0) beyond it).
    @inline(__always) func nearTarget(_ t: UInt32) throws(CPUException) -> UInt32 {
        if _slowPath(t > segs[Seg.cs].limit) { throw .gp(0) }
        return t
    }
    /// PUSH and POP with a 32-bit stack (SS.B = 1); a 16-bit stack takes the general path.
    @inline(__always) func push32(_ v: UInt32) throws(CPUException) {
        if _fastPath(!stack16) {
            let sp = regs[Reg.esp] &- 4
            try writeLinear32(try linear(Seg.ss, sp, 4, write: true), v)
            regs[Reg.esp] = sp
        } else {
            try push(v, 4)
        }
    }
    // The 32-bit ALU operations with their flags (see Flags.swift for the encoding).
    @inline(__always) func add32(_ a: UInt32, _ b: UInt32) -> UInt32 {
        let r = a &+ b
        lfRes = r; lfAux = addCarries(a, b, r) & 0xC000_0008
        return r
    }
    @inline(__always) func adc32(_ a: UInt32, _ b: UInt32) -> UInt32 {
        let r = a &+ b &+ (lfAux >> 31)
        lfRes = r; lfAux = addCarries(a, b, r) & 0xC000_0008
        return r
    }
    @inline(__always) func sub32(_ a: UInt32, _ b: UInt32) -> UInt32 {
        let r = a &- b
        lfRes = r; lfAux = subBorrows(a, b, r) & 0xC000_0008
        return r
    }
    @inline(__always) func sbb32(_ a: UInt32, _ b: UInt32) -> UInt32 {
        let r = a &- b &- (lfAux >> 31)
        lfRes = r; lfAux = subBorrows(a, b, r) & 0xC000_0008
        return r
    }
    @inline(__always) func logic32(_ r: UInt32) -> UInt32 {
        lfRes = r; lfAux = 0
        return r
    }

    /// POP and RET: reads the dword at SS:ESP, checks it as a branch target
    /// for RET (before ESP changes, so a #GP leaves ESP alone), then releases
    /// 4 + `release` bytes of stack.
    @inline(__always) func pop32(release: UInt32, target: Bool) throws(CPUException) -> UInt32 {
        if _fastPath(!stack16) {
            let sp = regs[Reg.esp]
            var v = try readLinear32(try linear(Seg.ss, sp, 4, write: false))
            if target { v = try nearTarget(v) }
            regs[Reg.esp] = sp &+ 4 &+ release
            return v
        }
        var v = try peek(4, at: 0)
        if target { v = try nearTarget(v) }
        setReg(Reg.esp, size: 2, regs[Reg.esp] &+ 4 &+ release)
        return v
    }

    @inline(__always) func imul32(_ a: UInt32, _ b: UInt32) -> UInt32 {
        let p = Int64(Int32(bitPattern: a)) * Int64(Int32(bitPattern: b))
        let r = UInt32(truncatingIfNeeded: p)
        let overflow = p != Int64(Int32(bitPattern: r))
        setStatus(result: r, size: 4, cf: overflow, of: overflow)
        return r
    }
}
