import X86

// Emulating the instructions that fault at CPL 1 (SDM Vol. 3 §5.9: #GP(0)
// at CPL > 0; CLI, STI and port I/O need CPL <= IOPL).  Each is done against
// the vCPU — the guest's GDTR, IDTR, control registers — and EIP moves past
// it.  What the guest may not do natively (user code at CPL 3) is reflected
// as the #GP it would get on hardware.

extension TrapMonitor {
    func emulate(_ ins: Instr, _ e: CPUException) -> InterceptAction? {
        let at = cpu.eip
        let text = Disassembler.text(ins, at: at)
        let kernel = cpu.cpl == 1
        func done(_ outcome: String, advance: Bool = true) -> InterceptAction {
            log(.emulated, detail: e.errorCode, eip: at, text: text, outcome: outcome, cycles: vm.cost.trap)
            if advance { cpu.eip = cpu.eip &+ UInt32(ins.length) }
            // An emulated OUT to isa-debug-exit (or a reset) ends the run right here.
            if let stop = cpu.stopRequest { return .stop(stop) }
            return .handled
        }
        switch ins.op {
        case .cli, .sti, .in, .out, .ins, .outs:
            // IOPL-sensitive: the guest kernel may; its user code only with the guest's IOPL 3.
            guard kernel || state.iopl == 3 else { return nil }
            return withIOPrivilege(ins) ?? done(ins.op == .cli ? "IF=0" : ins.op == .sti ? "IF=1" : "port I/O performed", advance: false)
        case .hlt:
            guard kernel else { return nil }
            cpu.halted = true
            return done(cpu.interruptsEnabled ? "halted until the next interrupt" : "halted with IF=0")
        case .lgdt, .lidt:
            guard kernel, let a = linearAddress(ins),
                  let b = mem.readLinear(a, 6, vcpu: state) else { return nil }
            let limit = UInt16(b[0]) | UInt16(b[1]) << 8
            let b2 = UInt32(b[2]), b3 = UInt32(b[3]) << 8, b4 = UInt32(b[4]) << 16, b5 = UInt32(b[5]) << 24
            var base = b2 | b3 | b4 | b5
            if ins.osize == 2 { base &= 0x00FF_FFFF }
            if ins.op == .lgdt {
                state.gdtr = TableRegister(base: base, limit: limit)
                loadGuestGDT()
                return done("guest GDTR = \(hex(base)):\(hex(limit, digits: 4)); shadow GDT rebuilt with DPL 0 -> 1")
            }
            state.idtr = TableRegister(base: base, limit: limit)
            cpu.idtr = TableRegister(base: MonitorLayout.linear(ofHost: MonitorLayout.idt), limit: min(limit, 0x7FF))
            refreshIDT()
            return done("guest IDTR = \(hex(base)):\(hex(limit, digits: 4)); gates mirrored into the monitor's IDT")
        case .lldt, .ltr:
            guard kernel, let sel = selectorOperand(ins) else { return nil }
            if ins.op == .ltr {
                state.tr = sel
                markGuestTSSBusy(sel)
                loadGuestGDT()          // the busy bit LTR sets shows in the shadow too
                return done("guest TR = \(hex(sel, digits: 4)); the CPU keeps the monitor's TSS")
            }
            state.ldtr = sel
            loadGuestLDT(sel)
            return done("guest LDTR = \(hex(sel, digits: 4)); shadow LDT built")
        case .movToCR:
            guard kernel else { return nil }
            return writeControlRegister(Int(ins.reg), cpu.regs[Int(ins.rm)]).map { done($0) } ?? reflect(e, instead: .gp(0))
        case .movFromCR:
            guard kernel, [0, 2, 3, 4].contains(ins.reg) else { return nil }
            let v = [state.cr0, 0, state.cr2, state.cr3, state.cr4][Int(ins.reg)]
            cpu.regs[Int(ins.rm)] = v
            return done("read guest CR\(ins.reg) = \(hex(v))")
        case .movToDR, .movFromDR:
            guard kernel else { return nil }
            let n = Int(ins.reg) == 4 || Int(ins.reg) == 5 ? Int(ins.reg) + 2 : Int(ins.reg)
            if ins.op == .movToDR { cpu.dr[n] = cpu.regs[Int(ins.rm)] } else { cpu.regs[Int(ins.rm)] = cpu.dr[n] }
            return done("debug register DR\(n)")
        case .invlpg:
            guard kernel, let a = linearAddress(ins) else { return nil }
            shadow.invalidate(a)
            return done("shadow entry for \(hex(a)) dropped")
        case .clts:
            guard kernel else { return nil }
            state.cr0 &= ~CR0.ts; cpu.cr0 &= ~CR0.ts
            return done("CR0.TS = 0")
        case .lmsw:
            guard kernel, let v = wordOperand(ins) else { return nil }
            _ = writeControlRegister(0, (state.cr0 & ~0xE) | (UInt32(v) & 0xF) | (state.cr0 & CR0.pe))
            return done("guest CR0 low bits = \(hex(v & 0xF, digits: 1))")
        case .invd, .wbinvd:
            guard kernel else { return nil }
            return done("no caches to flush")
        case .rdmsr, .wrmsr, .rdtsc:
            guard kernel else { return nil }
            do {
                switch ins.op {
                case .rdmsr:
                    let v = try cpu.readMSR(cpu.ecx)
                    cpu.eax = UInt32(truncatingIfNeeded: v); cpu.edx = UInt32(truncatingIfNeeded: v >> 32)
                case .wrmsr: try cpu.writeMSR(cpu.ecx, UInt64(cpu.edx) << 32 | UInt64(cpu.eax))
                default:
                    let t = try cpu.readMSR(0x10)
                    cpu.eax = UInt32(truncatingIfNeeded: t); cpu.edx = UInt32(truncatingIfNeeded: t >> 32)
                }
            } catch { return reflect(e, instead: error) }
            return done("\(ins.mnemonic) emulated")
        case .movToSeg, .popSeg:
            // SS needs RPL = CPL: the kernel's RPL-0 stack selector faults at CPL 1.
            guard kernel, Int(ins.reg) == Seg.ss, e.errorCode != 0, let sel = segmentSource(ins) else { return nil }
            do { try cpu.loadSegment(Seg.ss, selector: sel | 1) } catch { return nil }
            if ins.op == .popSeg { cpu.esp = cpu.esp &+ UInt32(ins.osize) }
            cpu.interruptShadow = true
            return done("SS loaded with RPL 1 (\(hex(sel | 1, digits: 4))) instead of \(hex(sel, digits: 4))")
        case .iret, .retFar:
            // A return to the kernel's own RPL-0 CS is outward-looking at CPL 1 (RPL < CPL: #GP).
            guard kernel, let patched = raiseReturnRPL(ins) else { return nil }
            return done(patched, advance: false)
        default:
            return nil
        }
    }

    /// Runs one IOPL-sensitive instruction with IOPL raised to the CPL for
    /// that instruction only, so it does exactly what it does on hardware.
    private func withIOPrivilege(_ ins: Instr) -> InterceptAction? {
        let saved = cpu.eflags & EFLAGS.iopl
        cpu.setEFLAGS((cpu.eflags & ~EFLAGS.iopl) | (UInt32(cpu.cpl) << 12))
        cpu.interruptShadow = true        // no interrupt between the grant and the instruction
        let stop = cpu.run(maxInstructions: 1)
        cpu.setEFLAGS((cpu.eflags & ~EFLAGS.iopl) | saved)
        if ins.op == .sti { cpu.interruptShadow = true }
        if case .limit = stop { return nil }
        return stop == .halted || stop == .requested ? nil : .stop(stop)
    }

    /// CR writes against the vCPU; nil when the value is invalid (#GP).
    func writeControlRegister(_ n: Int, _ v: UInt32) -> String? {
        switch n {
        case 0:
            if v & CR0.pg != 0 && v & CR0.pe == 0 { return nil }
            if v & CR0.pe == 0 { cpu.stopRequest = .unsupported("the guest cleared CR0.PE: real mode is not modeled") }
            let old = state.cr0
            state.cr0 = v | CR0.et
            cpu.cr0 = (cpu.cr0 & ~(CR0.mp | CR0.em | CR0.ts | CR0.ne)) | (v & (CR0.mp | CR0.em | CR0.ts | CR0.ne))
            if (old ^ v) & (CR0.pg | CR0.wp) != 0 { shadow.flush() }
            return "guest CR0 = \(hex(state.cr0))" + ((old ^ v) & CR0.pg != 0 ? "; shadow tables rebuilt for the new paging mode" : "")
        case 2:
            state.cr2 = v
            return "guest CR2 = \(hex(v))"
        case 3:
            state.cr3 = v
            shadow.flush()
            return "guest CR3 = \(hex(v)); shadow tables dropped"
        case 4:
            guard v & ~CR4.supported == 0 else { return nil }
            let old = state.cr4
            state.cr4 = v
            cpu.cr4 = CR4.pse | (v & CR4.tsd)
            if (old ^ v) & (CR4.pse | CR4.pge) != 0 { shadow.flush() }
            return "guest CR4 = \(hex(v))"
        default:
            return nil
        }
    }

    /// The linear address of a memory operand (SDM Vol. 1 §3.7.5: segment base + effective address).
    func linearAddress(_ ins: Instr) -> UInt32? {
        guard ins.mod != 3 else { return nil }
        return cpu.segs[Int(ins.seg)].base &+ cpu.effectiveAddress(ins)
    }

    func wordOperand(_ ins: Instr) -> UInt16? {
        if ins.mod == 3 { return UInt16(truncatingIfNeeded: cpu.regs[Int(ins.rm)]) }
        guard let a = linearAddress(ins), let b = mem.readLinear(a, 2, vcpu: state) else { return nil }
        return UInt16(b[0]) | UInt16(b[1]) << 8
    }
    func selectorOperand(_ ins: Instr) -> UInt16? { wordOperand(ins) }

    func segmentSource(_ ins: Instr) -> UInt16? {
        if ins.op == .movToSeg { return wordOperand(ins) }
        guard let b = mem.readLinear(cpu.segs[Seg.ss].base &+ cpu.esp, 2, vcpu: state) else { return nil }
        return UInt16(b[0]) | UInt16(b[1]) << 8
    }

    /// IRET/RETF to an RPL-0 code selector: rewrite the frame's RPLs to 1 and re-execute.
    func raiseReturnRPL(_ ins: Instr) -> String? {
        let size = UInt32(ins.osize)
        let sp = cpu.segs[Seg.ss].base &+ cpu.esp
        guard let csBytes = mem.readLinear(sp &+ size, 2, vcpu: state) else { return nil }
        let cs = UInt16(csBytes[0]) | UInt16(csBytes[1]) << 8
        guard cs & 3 == 0, cs & 0xFFFC != 0 else { return nil }
        guard mem.writeLinear(sp &+ size, [UInt8((cs | 1) & 0xFF), UInt8(cs >> 8)], vcpu: state) else { return nil }
        return "\(ins.mnemonic) to CS \(hex(cs, digits: 4)) at CPL 1: frame rewritten to RPL 1, re-executed"
    }

    func markGuestTSSBusy(_ sel: UInt16) {
        let at = state.gdtr.base &+ UInt32(sel & 0xFFF8) &+ 5
        if let b = mem.readLinear(at, 1, vcpu: state) { _ = mem.writeLinear(at, [b[0] | 2], vcpu: state) }
    }

    func loadGuestLDT(_ sel: UInt16) {
        guard sel & 0xFFFC != 0, UInt32(sel & 0xFFF8) + 7 <= UInt32(state.gdtr.limit),
              let lo = mem.readLinear32(state.gdtr.base &+ UInt32(sel & 0xFFF8), vcpu: state),
              let hi = mem.readLinear32(state.gdtr.base &+ UInt32(sel & 0xFFF8) &+ 4, vcpu: state) else {
            cpu.ldtr = SegmentCache(selector: 0, base: 0, limit: 0, access: 0x82, flags: 0)
            cpu.ldtr.usable = false
            return
        }
        let d = Descriptor(lo: lo, hi: hi)
        tables.loadLDT(guest: guestDescriptors(base: d.base, limit: d.limit))
        if let real = try? cpu.descriptor(MonitorLayout.ldtSelector) {
            cpu.ldtr = real.cache
            cpu.ldtr.selector = MonitorLayout.ldtSelector
        }
    }
}
