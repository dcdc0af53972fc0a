import X86

// The sensitive-but-unprivileged instructions (Robin & Irvine 2000): at CPL 1
// they do not fault, so a trap-and-emulate monitor never gets control.  The
// monitor here only *looks* (through the opcode table's `.sensitive` trait,
// which the CPU's instruction intercept checks) and writes down what the
// guest asked for and what it got; the instruction then runs on the CPU as it
// is.  INT n (`.softInt`) also passes through here, to give the guest's
// ring-0 stack to the CPU before a system call switches stacks.

extension TrapMonitor {
    func observe(_ ins: Instr) -> Bool {
        if ins.traits.contains(.softInt) { prepareDelivery(vector: Int(ins.op == .int ? ins.imm & 0xFF : 3)) }
        guard ins.traits.contains(.sensitive) else { return false }
        let kernel = cpu.cpl == 1
        let revealing: Set<Op> = [.sgdt, .sidt, .sldt, .str, .smsw]
        guard kernel || revealing.contains(ins.op) else { return false }
        if let outcome = silentOutcome(ins) {
            log(.silent, text: Disassembler.text(ins, at: cpu.eip), outcome: outcome, cycles: 0)
        }
        return false
    }

    private func silentOutcome(_ ins: Instr) -> String? {
        let flags = cpu.eflags
        let realIF = flags & EFLAGS.if != 0 ? 1 : 0
        switch ins.op {
        case .popf:
            let sp = cpu.segs[Seg.ss].base &+ cpu.esp
            guard let v = mem.readLinear32(sp, vcpu: state) else { return nil }
            let wantIF = v & EFLAGS.if != 0 ? 1 : 0, wantIOPL = (v >> 12) & 3
            return "POPF at CPL 1: guest set IF=\(wantIF) IOPL=\(wantIOPL); the CPU kept IF=\(realIF) IOPL=\(cpu.iopl)"
        case .pushf:
            return "PUSHF at CPL 1: pushed the real EFLAGS (IF=\(realIF) IOPL=\(cpu.iopl)), not the guest's"
        case .sgdt:
            return "SGDT revealed the monitor's GDT at \(hex(cpu.gdtr.base)) (the guest's is at \(hex(state.gdtr.base)))"
        case .sidt:
            return "SIDT revealed the monitor's IDT at \(hex(cpu.idtr.base)) (the guest's is at \(hex(state.idtr.base)))"
        case .sldt:
            return "SLDT stored the monitor's LDTR \(hex(cpu.ldtr.selector, digits: 4)) (the guest's is \(hex(state.ldtr, digits: 4)))"
        case .str:
            return "STR stored the monitor's TR \(hex(cpu.tr.selector, digits: 4)) (the guest's is \(hex(state.tr, digits: 4)))"
        case .smsw:
            return "SMSW stored the real CR0 low word \(hex(cpu.cr0 & 0xFFFF, digits: 4)) (the guest's is \(hex(state.cr0 & 0xFFFF, digits: 4)))"
        case .lar, .lsl, .verr, .verw:
            return "\(ins.mnemonic.uppercased()) checked the compressed descriptor against CPL 1, not CPL 0"
        case .pushSeg, .movFromSeg:
            let s = Int(ins.reg)
            guard s < 6 else { return nil }
            let sel = cpu.segs[s].selector
            return "\(Seg.names[s]) = \(hex(sel, digits: 4)): RPL \(sel & 3) shows the real privilege level"
        case .popSeg, .movToSeg:
            return "segment load checked at CPL 1"
        case .callFar, .callFarIndirect, .jmpFar, .jmpFarIndirect, .retFar:
            return "far transfer checked against CPL 1"
        case .int:
            return "INT \(hex(ins.imm & 0xFF, digits: 2)) checked the gate's DPL against CPL 1"
        default:
            return nil
        }
    }
}
