import X86

// Instructions in VMX non-root operation (SDM Vol. 3C §25.1; reference
// §4.5): the CPU shows the VTxMonitor every instruction with the
// privileged, io or hypercall trait before executing it, and the monitor —
// playing the processor — decides from the VMCS alone whether it exits.
//
//  - Privilege checks come first: an instruction that faults at the guest's
//    CPL (HLT or MOV CR at CPL 3, port I/O denied by IOPL and the TSS
//    bitmap) raises its exception in the guest and does not exit.
//  - CPUID, INVD and VMCALL exit unconditionally.
//  - HLT, INVLPG, RDTSC, MOV DR, WBINVD, the descriptor-table instructions
//    exit when their control bit is set; MOV CR3 by the CR3-load/store
//    controls and target values; MOV to CR0/CR4, CLTS and LMSW by the
//    guest/host masks and read shadows; port I/O by the I/O bitmaps;
//    RDMSR/WRMSR by the MSR bitmap.
//  - MOV from CR0/CR4 and SMSW never exit: the processor returns the read
//    shadow for host-owned bits.  A MOV to CR0/CR4 that leaves every
//    host-owned bit as the shadow has it does not exit either: it writes
//    only the guest-owned bits of the real register.
//  - An exit is recorded (VTxMonitor.vmExit), handled in root mode, and the
//    guest resumes after the instruction (VM entry with RIP += the
//    VM-exit instruction length).
//
// Everything not named here runs on the CPU as it is.

extension VTxMonitor {
    /// The instruction intercept: true when the instruction exited and was
    /// emulated (EIP is then `cpu.nextEIP`), false to let the CPU execute it.
    func nonRootInstruction(_ ins: Instr) throws(CPUException) -> Bool {
        if passThrough { return false }
        let kernel = cpu.cpl == 0
        let at = cpu.eip
        let length = Int(ins.length)
        switch ins.op {
        case .cpuid:
            vmExit(.cpuid, length: length, outcome: "leaf \(hex(cpu.eax)): the VMM's CPUID")
            vmmCPUID()
            return true

        case .vmcall:
            // VMCALL exits at any CPL; this VMM offers no hypercalls: -KVM_ENOSYS.
            vmExit(.vmcall, length: length, outcome: "no hypercall ABI: EAX = -1000 (ENOSYS)")
            cpu.eax = UInt32(bitPattern: -1000)
            return true

        case .invd:
            guard kernel else { return false }
            vmExit(.invd, length: length, outcome: "no caches to invalidate")
            return true

        case .wbinvd:
            guard kernel, vmcs.secondary.contains(.wbinvdExiting) else { return false }
            vmExit(.wbinvd, length: length, outcome: "no caches to write back")
            return true

        case .hlt:
            guard kernel, vmcs.primary.contains(.hltExiting) else { return false }
            vmExit(.hlt, length: length, outcome: cpu.interruptsEnabled ? "vCPU halted until the next interrupt" : "vCPU halted with IF=0")
            cpu.halted = true
            return true

        case .invlpg:
            guard kernel else { return false }
            guard vmcs.primary.contains(.invlpgExiting) else {
                // With EPT, INVLPG runs in the guest: it flushes the TLB model's entry, no exit.
                guard eptEnabled else { return false }
                shadow.invalidate(linearAddress(ins))
                return true
            }
            let a = linearAddress(ins)
            vmExit(.invlpg, qualification: a, length: length, linear: a,
                   outcome: "shadow entry for \(hex(a)) dropped")
            shadow.invalidate(a)
            return true

        case .rdtsc:
            if cpu.cr4 & CR4.tsd != 0 && !kernel { return false }
            guard vmcs.primary.contains(.rdtscExiting) else { return false }
            let t = (try? cpu.readMSR(0x10)) ?? 0
            vmExit(.rdtsc, length: length, outcome: "TSC read by the VMM")
            cpu.eax = UInt32(truncatingIfNeeded: t); cpu.edx = UInt32(truncatingIfNeeded: t >> 32)
            return true

        case .movToCR:
            guard kernel else { return false }
            return try moveToCR(ins, length: length)

        case .movFromCR:
            guard kernel else { return false }
            let n = Int(ins.reg), gpr = Int(ins.rm)
            switch n {
            case 0: cpu.regs[gpr] = vmcs.guestView(cr0: cpu.cr0); return true
            case 4: cpu.regs[gpr] = vmcs.guestView(cr4: cpu.cr4); return true
            case 3:
                guard vmcs.primary.contains(.cr3StoreExiting) else {
                    guard eptEnabled else { return false }
                    cpu.regs[gpr] = state.cr3      // with EPT the guest's CR3 is the one in use
                    return true
                }
                vmExit(.crAccess, qualification: ExitQualification.crAccess(cr: 3, type: 1, gpr: gpr), length: length,
                       outcome: "MOV from CR3: the guest's CR3 \(hex(state.cr3))")
                cpu.regs[gpr] = state.cr3
                return true
            default: return false
            }

        case .smsw:
            if cpu.cr4 & CR4.umip != 0 && !kernel { return false }
            let v = vmcs.guestView(cr0: cpu.cr0)
            if ins.mod == 3 { cpu.setReg(Int(ins.rm), size: ins.osize, ins.osize == 4 ? v : v & 0xFFFF) }
            else { try cpu.writeSlow(linearAddress(ins), 2, v & 0xFFFF, user: cpu.cpl == 3) }
            return true

        case .clts:
            guard kernel, vmcs.cr0GuestHostMask & vmcs.cr0ReadShadow & CR0.ts != 0 else { return false }
            vmExit(.crAccess, qualification: ExitQualification.crAccess(cr: 0, type: 2), length: length, outcome: "CLTS: guest CR0.TS = 0")
            vmcs.cr0ReadShadow &= ~CR0.ts
            return true

        case .lmsw:
            guard kernel else { return false }
            let src = UInt16(truncatingIfNeeded: ins.mod == 3 ? cpu.regs[Int(ins.rm)] : try cpu.readSlow(linearAddress(ins), 2, user: false))
            let owned = vmcs.cr0GuestHostMask & 0xF, shadowBits = vmcs.cr0ReadShadow & 0xF, s = UInt32(src) & 0xF
            let changes = (s ^ shadowBits) & owned & 0xE != 0 || (owned & CR0.pe != 0 && shadowBits & CR0.pe == 0 && s & CR0.pe != 0)
            guard changes else { return false }
            vmExit(.crAccess, qualification: ExitQualification.crAccess(cr: 0, type: 3, lmswMemory: ins.mod != 3, lmswSource: src),
                   length: length, linear: ins.mod != 3 ? linearAddress(ins) : 0, outcome: "LMSW \(hex(src, digits: 4))")
            let old = vmcs.guestView(cr0: cpu.cr0)
            try writeGuestCR0((old & ~0xE) | s | (old & CR0.pe))
            return true

        case .in, .out, .ins, .outs:
            return try portIO(ins, length: length)

        case .rdmsr, .wrmsr:
            guard kernel else { return false }
            let write = ins.op == .wrmsr, msr = cpu.ecx
            guard vmcs.msrExits(msr, write: write) else { return false }
            vmExit(write ? .wrmsr : .rdmsr, length: length, outcome: "MSR \(hex(msr)) emulated by the VMM")
            if write { try cpu.writeMSR(msr, UInt64(cpu.edx) << 32 | UInt64(cpu.eax)) }
            else {
                let v = try cpu.readMSR(msr)
                cpu.eax = UInt32(truncatingIfNeeded: v); cpu.edx = UInt32(truncatingIfNeeded: v >> 32)
            }
            return true

        case .movToDR, .movFromDR:
            guard kernel, vmcs.primary.contains(.movDRExiting) else { return false }
            let q = UInt32(ins.reg & 7) | (ins.op == .movFromDR ? 1 << 4 : 0) | UInt32(ins.rm & 0xF) << 8
            vmExit(.drAccess, qualification: q, length: length, outcome: "MOV DR\(ins.reg) performed by the VMM")
            return executeInRoot()

        case .lgdt, .lidt, .sgdt, .sidt, .lldt, .ltr, .sldt, .str:
            guard vmcs.secondary.contains(.descriptorTableExiting) else { return false }
            let loads: [Op] = [.lgdt, .lidt, .lldt, .ltr]
            if loads.contains(ins.op) && !kernel { return false }
            if [.sgdt, .sidt, .sldt, .str].contains(ins.op) && cpu.cr4 & CR4.umip != 0 && !kernel { return false }
            let gdtIdt: [Op] = [.sgdt, .sidt, .lgdt, .lidt], ldtTr: [Op] = [.sldt, .str, .lldt, .ltr]
            let table = gdtIdt.contains(ins.op)
            let identity = (table ? gdtIdt : ldtTr).firstIndex(of: ins.op)!
            vmExit(table ? .gdtrIdtrAccess : .ldtrTrAccess, qualification: ins.mod == 3 ? 0 : ins.disp, length: length,
                   info: ExitQualification.descriptorTable(ins, identity: identity),
                   outcome: "\(ins.mnemonic) performed by the VMM on the guest's registers")
            return executeInRoot()

        default:
            _ = at
            return false
        }
    }

    // ---- Control registers ----

    private func moveToCR(_ ins: Instr, length: Int) throws(CPUException) -> Bool {
        let n = Int(ins.reg), gpr = Int(ins.rm)
        let v = cpu.regs[gpr]
        let q = ExitQualification.crAccess(cr: n, type: 0, gpr: gpr)
        switch n {
        case 0:
            guard vmcs.cr0WriteExits(v) else {
                // Only guest-owned bits change: the processor writes them, no exit.
                try cpu.writeCR(0, vmcs.realAfterWrite(cr0: cpu.cr0, v))
                return true
            }
            vmExit(.crAccess, qualification: q, length: length, outcome: "MOV to CR0 \(hex(v)) changes a host-owned bit")
            try writeGuestCR0(v)
            return true
        case 2:
            guestCR2 = v          // CR2 is the guest's: MOV to CR2 never exits
            return false
        case 3:
            guard vmcs.cr3LoadExits(v) else {
                // With EPT a CR3 load stays in the guest: it flushes the TLB model, no exit.
                guard eptEnabled else { return false }
                state.cr3 = v
                shadow.flush()
                return true
            }
            vmExit(.crAccess, qualification: q, length: length,
                   outcome: vmcs.secondary.contains(.enableEPT) ? "guest CR3 = \(hex(v))" : "guest CR3 = \(hex(v)); shadow tables dropped")
            state.cr3 = v
            shadow.flush()
            return true
        case 4:
            guard v & ~CR4.supported == 0 else { throw .gp(0) }
            guard vmcs.cr4WriteExits(v) else {
                try cpu.writeCR(4, vmcs.realAfterWrite(cr4: cpu.cr4, v))
                return true
            }
            vmExit(.crAccess, qualification: q, length: length, outcome: "MOV to CR4 \(hex(v)) changes a host-owned bit")
            let old = vmcs.guestView(cr4: cpu.cr4)
            vmcs.cr4ReadShadow = v & vmcs.cr4GuestHostMask
            try cpu.writeCR(4, vmcs.realAfterWrite(cr4: cpu.cr4, v))
            syncState()
            if (old ^ v) & (CR4.pse | CR4.pge | CR4.pae) != 0 { shadow.flush() }
            return true
        default:
            return false          // CR1, CR5-7: #UD from the CPU
        }
    }

    /// The VMM's emulation of a guest CR0 write that exited.
    func writeGuestCR0(_ v: UInt32) throws(CPUException) {
        if v & CR0.pg != 0 && v & CR0.pe == 0 { throw .gp(0) }
        if v & CR0.nw != 0 && v & CR0.cd == 0 { throw .gp(0) }
        if v & CR0.pe == 0 {
            cpu.stopRequest = .unsupported("the guest cleared CR0.PE: real mode needs \"unrestricted guest\", not modeled")
            return
        }
        let old = vmcs.guestView(cr0: cpu.cr0)
        vmcs.cr0ReadShadow = v & vmcs.cr0GuestHostMask
        cpu.cr0 = realCR0(guest: v)
        cpu.flushTLB(global: true)
        syncState()
        if (old ^ v) & (CR0.pg | CR0.wp) != 0 { shadow.flush() }
    }

    // ---- Port I/O ----

    private func portIO(_ ins: Instr, length: Int) throws(CPUException) -> Bool {
        let string = ins.op == .ins || ins.op == .outs
        let input = ins.op == .in || ins.op == .ins
        let immediate = !string && (input ? ins.src : ins.dst) == .imm
        let port = UInt16(truncatingIfNeeded: immediate ? ins.imm & 0xFF : cpu.edx & 0xFFFF)
        let size = Int(ins.osize)
        // Privilege first: CPL > IOPL needs the TSS I/O bitmap's permission, else #GP in the guest.
        if cpu.cpl > cpu.iopl, try !ioPermitted(port, size) { return false }
        guard vmcs.ioExits(port: port, size: size) else { return false }
        let rep = string && ins.rep != 0
        let q = ExitQualification.io(size: size, input: input, string: string, rep: rep, immediate: immediate, port: port)
        let lin: UInt32 = string ? (input ? cpu.segs[Seg.es].base &+ cpu.edi : cpu.segs[Int(ins.seg)].base &+ cpu.esi) : 0
        if string {
            vmExit(.ioInstruction, qualification: q, length: length, linear: lin,
                   outcome: "\(input ? "INS" : "OUTS") port \(hex(port, digits: 4)) performed by the VMM")
            return executeInRoot()
        }
        guard let bus = cpu.bus else { return false }
        if input {
            let v = bus.portIn(port, size: size)
            cpu.setReg(Reg.eax, size: ins.osize, v)
            vmExit(.ioInstruction, qualification: q, length: length, outcome: "IN port \(hex(port, digits: 4)) = \(hex(v, digits: size * 2))")
        } else {
            let v = cpu.reg(Reg.eax, size: ins.osize)
            vmExit(.ioInstruction, qualification: q, length: length, outcome: "OUT port \(hex(port, digits: 4)) <- \(hex(v, digits: size * 2))")
            bus.portOut(port, size: size, value: v)
        }
        return true
    }

    /// The TSS I/O-permission bitmap check (SDM Vol. 1 §19.5.2) at CPL > IOPL.
    private func ioPermitted(_ port: UInt16, _ size: Int) throws(CPUException) -> Bool {
        let tr = cpu.tr
        guard tr.usable, tr.access & 0xF == 0xB || tr.access & 0xF == 0x9, tr.limit >= 0x67 else { return false }
        let mapBase = try cpu.readSlow(tr.base &+ 0x66, 2, user: false)
        let byte = mapBase &+ UInt32(port >> 3)
        guard byte &+ 1 <= tr.limit else { return false }
        let bits = try cpu.readSlow(tr.base &+ byte, 2, user: false)
        return bits & (UInt32((1 << size) - 1) << UInt32(port & 7)) == 0
    }

    // ---- Root-mode helpers ----

    /// The VMM's CPUID: the processor's own leaves, with ECX bit 31 ("hypervisor present") set in leaf 1, as KVM does.
    func vmmCPUID() {
        switch cpu.eax {
        case 0:
            cpu.eax = 1; cpu.ebx = 0x6769_6E52; cpu.edx = 0x5865_6469; cpu.ecx = 0x2136_3836
        case 1:
            cpu.eax = 0x0000_0543; cpu.ebx = 0
            cpu.ecx = 1 << 31
            cpu.edx = (1 << 3) | (1 << 4) | (1 << 5) | (1 << 8) | (1 << 13) | (1 << 15)
        default:
            cpu.eax = 0; cpu.ebx = 0; cpu.ecx = 0; cpu.edx = 0
        }
    }

    /// Performs the exiting instruction on the guest's state with the CPU
    /// itself, as a VMM's instruction emulator would (string I/O, MOV DR,
    /// descriptor-table instructions), then resumes after it.
    func executeInRoot() -> Bool {
        passThrough = true
        cpu.interruptShadow = true        // nothing may be delivered before it
        let before = cpu.instructions
        _ = cpu.run(maxInstructions: 1)
        passThrough = false
        // The outer run loop counts this instruction once more.
        if cpu.instructions > before { cpu.instructions &-= 1 }
        cpu.nextEIP = cpu.eip
        return true
    }

    /// The linear address of a memory operand (segment base + effective address).
    func linearAddress(_ ins: Instr) -> UInt32 {
        cpu.segs[Int(ins.seg)].base &+ cpu.effectiveAddress(ins)
    }
}
