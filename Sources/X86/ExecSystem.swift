// System instructions (SDM Vol. 3 §2.8, §5.9 and each instruction's page):
// privilege checks first — the privileged ones are #GP(0) at CPL > 0,
// CLI/STI need CPL <= IOPL, port I/O needs CPL <= IOPL or the TSS I/O
// bitmap's permission — then the effect.

/// The system registers whose loads an observer can watch.
public enum SystemRegister: Sendable, Equatable { case cr0, cr3, cr4, gdtr, idtr, ldtr, tr }

extension CPU {
    func system(_ i: Instr) throws(CPUException) {
        if i.traits.contains(.privileged) && cpl > 0 { throw .gp(0) }
        switch i.op {
        case .cli, .sti:
            if cpl > iopl { throw .gp(0) }
            if i.op == .cli { flagBits &= ~EFLAGS.if } else {
                if flagBits & EFLAGS.if == 0 { interruptShadow = true }
                flagBits |= EFLAGS.if
            }
        case .hlt: halted = true
        case .in, .out: try portIO(i)
        case .int: try interrupt(UInt8(i.imm & 0xFF), errorCode: nil, returnEIP: nextEIP, software: true)
        case .int3: try interrupt(Vector.bp, errorCode: nil, returnEIP: nextEIP, software: true)
        case .into: if of { try interrupt(Vector.of, errorCode: nil, returnEIP: nextEIP, software: true) }
        case .iret: try iret(i.osize)
        case .bound:
            let a = ea(i)
            let lower = signExtend(try read(Int(i.seg), a, i.osize), i.osize)
            let upper = signExtend(try read(Int(i.seg), a &+ UInt32(i.osize), i.osize), i.osize)
            let v = signExtend(reg(Int(i.reg), size: i.osize), i.osize)
            if v < lower || v > upper { throw CPUException(Vector.br) }
        case .jmpFar, .jmpFarIndirect, .callFar, .callFarIndirect: try farTransfer(i)
        case .retFar: try farReturn(i)
        case .movToSeg:
            guard i.reg <= 5 && Int(i.reg) != Seg.cs else { throw .ud }
            try loadSegment(Int(i.reg), selector: UInt16(try readRM(i, 2)))
            if Int(i.reg) == Seg.ss { interruptShadow = true }
        case .movFromSeg:
            guard i.reg <= 5 else { throw .ud }
            // A register destination gets the selector zero-extended; memory gets 16 bits (SDM MOV).
            let sel = UInt32(segs[Int(i.reg)].selector)
            if i.mod == 3 { setReg(Int(i.rm), size: i.osize, sel) } else { try writeRM(i, 2, sel) }
        case .loadFarPointer:
            let seg: Int = i.map == 0 ? (i.opcode == 0xC4 ? Seg.es : Seg.ds) : [0xB2: Seg.ss, 0xB4: Seg.fs, 0xB5: Seg.gs][i.opcode]!
            let a = ea(i)
            let off = try read(Int(i.seg), a, i.osize)
            let sel = try read(Int(i.seg), i.asize16 ? (a &+ UInt32(i.osize)) & 0xFFFF : a &+ UInt32(i.osize), 2)
            try loadSegment(seg, selector: UInt16(sel))
            setReg(Int(i.reg), size: i.osize, off)
        case .sgdt, .sidt, .sldt, .str, .smsw:
            // CR4.UMIP makes these #GP(0) outside ring 0 (SDM Vol. 3 §2.5, CR4 bit 11).
            if cr4 & CR4.umip != 0 && cpl > 0 { throw .gp(0) }
            try storeSystemRegister(i)
        case .lgdt, .lidt:
            let a = ea(i)
            let limit = try read(Int(i.seg), a, 2)
            var base = try read(Int(i.seg), i.asize16 ? (a &+ 2) & 0xFFFF : a &+ 2, 4)
            if i.osize == 2 { base &= 0x00FF_FFFF }   // 16-bit operand size loads a 24-bit base (SDM LGDT)
            if i.op == .lgdt { gdtr = TableRegister(base: base, limit: UInt16(limit)) }
            else { idtr = TableRegister(base: base, limit: UInt16(limit)) }
            systemRegisterObserver?(self, i.op == .lgdt ? .gdtr : .idtr)
        case .lldt: try loadLDT(UInt16(try readRM(i, 2)))
        case .ltr: try loadTR(UInt16(try readRM(i, 2)))
        case .lmsw:
            // LMSW loads PE, MP, EM, TS; it can set PE but never clear it (SDM LMSW).
            let v = try readRM(i, 2) & 0xF
            try writeCR(0, (cr0 & ~0xE) | v | (cr0 & CR0.pe))
        case .clts: cr0 &= ~CR0.ts; systemRegisterObserver?(self, .cr0)
        case .movFromCR:
            guard [0, 2, 3, 4].contains(i.reg) else { throw .ud }
            regs[Int(i.rm)] = [cr0, 0, cr2, cr3, cr4][Int(i.reg)]
        case .movToCR:
            guard [0, 2, 3, 4].contains(i.reg) else { throw .ud }
            try writeCR(Int(i.reg), regs[Int(i.rm)])
        case .movFromDR, .movToDR:
            // DR4/DR5 alias DR6/DR7 unless CR4.DE, when they are #UD (SDM MOV—Move to/from Debug Registers).
            var n = Int(i.reg)
            if n == 4 || n == 5 { if cr4 & CR4.de != 0 { throw .ud }; n += 2 }
            if i.op == .movFromDR { regs[Int(i.rm)] = dr[n] } else { dr[n] = regs[Int(i.rm)] }
        case .invlpg: flushTLB(linear: segs[Int(i.seg)].base &+ ea(i))
        case .invd, .wbinvd: break    // no caches are modeled
        case .rdtsc:
            if cr4 & CR4.tsd != 0 && cpl > 0 { throw .gp(0) }
            let t = instructions &+ tscOffset
            regs[Reg.eax] = UInt32(truncatingIfNeeded: t); regs[Reg.edx] = UInt32(truncatingIfNeeded: t >> 32)
        case .rdmsr:
            let v = try readMSR(regs[Reg.ecx])
            regs[Reg.eax] = UInt32(truncatingIfNeeded: v); regs[Reg.edx] = UInt32(truncatingIfNeeded: v >> 32)
        case .wrmsr: try writeMSR(regs[Reg.ecx], UInt64(regs[Reg.edx]) << 32 | UInt64(regs[Reg.eax]))
        case .lar: try lar(i)
        case .lsl: try lsl(i)
        case .verr, .verw: try verify(i)
        case .arpl: try arpl(i)
        case .vmcall: throw .ud      // outside VMX non-root operation (SDM VMCALL); a VT-x monitor intercepts it
        default: throw .ud
        }
    }

    /// SGDT, SIDT (6 bytes: limit, base), SLDT, STR, SMSW.
    private func storeSystemRegister(_ i: Instr) throws(CPUException) {
        switch i.op {
        case .sgdt, .sidt:
            let t = i.op == .sgdt ? gdtr : idtr
            let a = ea(i)
            try write(Int(i.seg), a, 2, UInt32(t.limit))
            // With a 16-bit operand size only 24 bits of base are stored, the top byte zero (SDM SGDT).
            try write(Int(i.seg), i.asize16 ? (a &+ 2) & 0xFFFF : a &+ 2, 4, i.osize == 2 ? t.base & 0x00FF_FFFF : t.base)
        case .smsw:
            if i.mod == 3 { setReg(Int(i.rm), size: i.osize, i.osize == 4 ? cr0 : cr0 & 0xFFFF) }
            else { try writeRM(i, 2, cr0 & 0xFFFF) }
        default:
            let sel = UInt32(i.op == .sldt ? ldtr.selector : tr.selector)
            if i.mod == 3 { setReg(Int(i.rm), size: i.osize, sel) } else { try writeRM(i, 2, sel) }
        }
    }

    /// MOV to CR0/CR2/CR3/CR4 with the checks of SDM MOV—Move to/from Control Registers.
    public func writeCR(_ n: Int, _ v: UInt32) throws(CPUException) {
        switch n {
        case 0:
            if v & CR0.pg != 0 && v & CR0.pe == 0 { throw .gp(0) }
            if v & CR0.nw != 0 && v & CR0.cd == 0 { throw .gp(0) }
            if v & CR0.pe == 0 {
                stopRequest = .unsupported("CR0.PE cleared: real mode is not modeled")
            }
            let old = cr0
            cr0 = v | CR0.et
            if (old ^ cr0) & (CR0.pg | CR0.wp | CR0.pe) != 0 { flushTLB(global: true) }
            systemRegisterObserver?(self, .cr0)
        case 2: cr2 = v
        case 3:
            cr3 = v
            flushTLB(global: false)
            systemRegisterObserver?(self, .cr3)
        default:
            guard v & ~CR4.supported == 0 else { throw .gp(0) }
            let old = cr4
            cr4 = v
            if (old ^ v) & (CR4.pse | CR4.pge) != 0 { flushTLB(global: true) }
            systemRegisterObserver?(self, .cr4)
        }
    }

    /// LLDT (SDM): a GDT selector of an LDT descriptor, or null to disable the LDT.
    func loadLDT(_ selector: UInt16) throws(CPUException) {
        let code = UInt32(selector & 0xFFFC)
        if selector & 0xFFFC == 0 {
            ldtr = SegmentCache(selector: selector, base: 0, limit: 0, access: 0x82, flags: 0)
            ldtr.usable = false
        } else {
            guard selector & 4 == 0, let d = try descriptor(selector), !d.isSegment, Int(d.type) == SystemType.ldt else { throw .gp(code) }
            guard d.present else { throw .np(code) }
            ldtr = d.cache
            ldtr.selector = selector
        }
        systemRegisterObserver?(self, .ldtr)
    }

    /// LTR (SDM): an available TSS in the GDT, which LTR marks busy.
    func loadTR(_ selector: UInt16) throws(CPUException) {
        let code = UInt32(selector & 0xFFFC)
        guard selector & 0xFFFC != 0 else { throw .gp(0) }
        guard selector & 4 == 0, let d = try descriptor(selector), !d.isSegment,
              [SystemType.tss16, SystemType.tss32].contains(Int(d.type)) else { throw .gp(code) }
        guard d.present else { throw .np(code) }
        try writeSlow(gdtr.base &+ UInt32(selector & 0xFFF8) &+ 4, 4, d.hi | 0x200, user: false)
        tr = d.cache
        tr.access |= 2
        tr.selector = selector
        systemRegisterObserver?(self, .tr)
    }

    // ---- Port I/O ----

    /// IN/OUT/INS/OUTS permission (SDM Vol. 1 §19.5): allowed when CPL <= IOPL,
    /// else every port byte's bit in the TSS I/O bitmap must be clear; ports
    /// beyond the bitmap, or no 32-bit TSS, are #GP(0).
    func checkIOPermission(_ port: UInt16, _ size: Int) throws(CPUException) {
        guard cpl > iopl else { return }
        guard tr.usable, tr.access & 0xF == 0xB || tr.access & 0xF == 0x9, tr.limit >= 0x67 else { throw .gp(0) }
        let mapBase = try readSlow(tr.base &+ 0x66, 2, user: false)
        let byte = mapBase &+ UInt32(port >> 3)
        guard byte &+ 1 <= tr.limit else { throw .gp(0) }
        let bits = try readSlow(tr.base &+ byte, 2, user: false)
        let mask = UInt32((1 << size) - 1) << UInt32(port & 7)
        if bits & mask != 0 { throw .gp(0) }
    }

    private func portIO(_ i: Instr) throws(CPUException) {
        let port = UInt16(truncatingIfNeeded: (i.op == .in ? i.src : i.dst) == .imm ? i.imm & 0xFF : regs[Reg.edx] & 0xFFFF)
        let size = Int(i.osize)
        try checkIOPermission(port, size)
        if i.op == .in { setReg(Reg.eax, size: i.osize, portIn(port, size)) }
        else { portOut(port, size, reg(Reg.eax, size: i.osize)) }
    }

    func portIn(_ port: UInt16, _ size: Int) -> UInt32 {
        guard let bus else { return size == 4 ? 0xFFFF_FFFF : (1 << (8 * UInt32(size))) - 1 }
        return bus.portIn(port, size: size)
    }
    func portOut(_ port: UInt16, _ size: Int, _ v: UInt32) { bus?.portOut(port, size: size, value: v) }

    // ---- CPUID and MSRs ----

    /// CPUID: a Pentium-class vendor "RingsideX86!" with no FPU, MMX or SSE;
    /// features PSE, TSC, MSR, CX8, PGE, CMOV (SDM CPUID, Table 3-11).
    func cpuid() {
        switch regs[Reg.eax] {
        case 0:
            regs[Reg.eax] = 1
            regs[Reg.ebx] = 0x6769_6E52 // "Ring"
            regs[Reg.edx] = 0x5865_6469 // "ideX"
            regs[Reg.ecx] = 0x2136_3836 // "86!" padded: "86!"
        case 1:
            regs[Reg.eax] = 0x0000_0543 // family 5, model 4, stepping 3
            regs[Reg.ebx] = 0
            regs[Reg.ecx] = 0
            regs[Reg.edx] = (1 << 3) | (1 << 4) | (1 << 5) | (1 << 8) | (1 << 13) | (1 << 15)
        default:
            regs[Reg.eax] = 0; regs[Reg.ebx] = 0; regs[Reg.ecx] = 0; regs[Reg.edx] = 0
        }
    }

    /// Implemented MSRs: 0x10 TSC, 0x174-0x176 SYSENTER_CS/ESP/EIP. Others #GP(0).
    public func readMSR(_ n: UInt32) throws(CPUException) -> UInt64 {
        switch n {
        case 0x10: return instructions &+ tscOffset
        case 0x174: return UInt64(sysenterCS)
        case 0x175: return UInt64(sysenterESP)
        case 0x176: return UInt64(sysenterEIP)
        default: throw .gp(0)
        }
    }
    public func writeMSR(_ n: UInt32, _ v: UInt64) throws(CPUException) {
        let lo = UInt32(truncatingIfNeeded: v)
        switch n {
        case 0x10: tscOffset = v &- instructions
        case 0x174: sysenterCS = lo
        case 0x175: sysenterESP = lo
        case 0x176: sysenterEIP = lo
        default: throw .gp(0)
        }
    }
}
