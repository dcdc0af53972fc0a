import X86

// Callouts: translated code reaching `int 0xF0` (run a guest instruction)
// or `int 0xF1` (chain to a block not translated yet) enters the monitor
// through the CPU's instruction intercept.  The monitor does the work on
// the vCPU and sets CS:EIP to where the guest goes next — normally the
// translation of the next guest instruction.
//
// A guest instruction is run in one of three ways:
//  - privileged and I/O instructions: the same emulation `trap` performs
//    after a #GP (TrapEmulation.swift), reached here without the trap;
//  - sensitive ones — SGDT, SIDT, SLDT, STR, SMSW, LAR, LSL, VERR, VERW,
//    PUSHF, POPF, IRET, PUSH/MOV of CS and SS, segment loads, far
//    transfers — on the *guest's view* of the machine: for this one
//    instruction the CPU holds the guest's CPL 0, its GDTR, IDTR, LDTR, TR,
//    CR0 low word and IOPL, so the faithful CPU gives exactly the native
//    result; afterwards the monitor's tables come back, the new IOPL is
//    kept on the vCPU, and segment caches are reloaded from the shadow GDT;
//  - the rest (INT n, RET, indirect jumps and calls, anything odd): the CPU
//    runs it once at CPL 1 from the guest's own CS:EIP, so what it pushes
//    (return addresses, interrupt frames) is the guest's.
// Returns go faster: the guest return address is read off the stack and
// looked up directly, VMware's fast path for RET.

/// The monitor's tables and registers, set aside while the guest's view is loaded.
struct GuestView {
    var gdtr: TableRegister
    var idtr: TableRegister
    var ldtr: UInt16
    var tr: UInt16
    var cr0: UInt32
}

extension BTMonitor {
    func callout(_ ins: Instr) throws(CPUException) -> Bool {
        guard inTC, let c = cache.callouts[cpu.eip] else {
            // User code's INT n (not translated): the gate's target is prepared as under `trap`.
            if ins.traits.contains(.softInt) { prepareDelivery(vector: Int(ins.op == .int ? ins.imm & 0xFF : ins.op == .into ? 4 : 3)) }
            return false
        }
        cache.stats.callouts += 1
        switch c {
        case .chain(let target, let site):
            switch translation(for: target) {
            case .success(let tc):
                if let site { cache.patch(site: site, to: tc, target: target) }
                cpu.eip = tc
            case .failure(let f):
                toGuest()
                cpu.cr2 = f.address
                throw CPUException(Vector.pf, f.errorCode)
            }
        case .returnMiss:
            try returnMiss()
        case .emulate(let g, let guestIns):
            if guestIns.op == .ret, guestIns.osize == 4, try fastReturn(guestIns) { break }
            toGuest()
            if adaptive.contains(g), try tracedStore(guestIns) {
                syncVCPUArea()
                if let f = settle() { throw f }
                break
            }
            try run(guestIns, at: g)
            syncVCPUArea()
            if let f = settle() { throw f }
        }
        cpu.nextEIP = cpu.eip
        return true
    }

    /// RET: the guest return address from the stack, straight to its translation.
    func fastReturn(_ ins: Instr) throws(CPUException) -> Bool {
        let ss = cpu.segs[Seg.ss]
        let ret = try cpu.readSlow(ss.base &+ cpu.esp, 4, user: false)
        guard let base = guestCodeSegment()?.base, case .success(let tc) = translation(for: base &+ ret) else { return false }
        cpu.esp = cpu.esp &+ 4 &+ (ins.imm & 0xFFFF)
        cpu.eip = tc
        vm.log.tally(.callout, cycles: vm.cost.indirectBranch, mnemonic: "ret")
        return true
    }

    static let viewOps: Set<Op> = [.sgdt, .sidt, .sldt, .str, .smsw, .lar, .lsl, .verr, .verw, .pushf, .popf, .iret,
                                   .pushSeg, .popSeg, .movFromSeg, .movToSeg, .loadFarPointer,
                                   .retFar, .jmpFar, .jmpFarIndirect, .callFar, .callFarIndirect]

    /// Runs the guest instruction at CS:EIP (guest terms) on the vCPU.
    func run(_ ins: Instr, at g: UInt32) throws(CPUException) {
        let text = ins.op == .invalid ? "(invalid)" : Disassembler.text(ins, at: cpu.eip)
        let at = cpu.eip
        if ins.traits.contains(.softInt) {
            prepareDelivery(vector: Int(ins.op == .int ? ins.imm & 0xFF : ins.op == .into ? 4 : 3))
            log(.callout, eip: at, text: text, outcome: "delivered through the guest's gate to its translated handler", cycles: vm.cost.callout)
            try stepOnce()
            return
        }
        if ins.op != .invalid && !ins.traits.intersection([.privileged, .io, .ioplSensitive]).isEmpty,
           ins.op != .popf, ins.op != .pushf, ins.op != .iret {
            if let action = emulate(ins, .gp(0)) {
                switch action {
                case .handled: return
                case .stop(let s): cpu.stopRequest = s; return
                case .deliver: preparedFault = (.gp(0), .deliver); throw .gp(0)
                case .reflect(let e): preparedFault = (e, .reflect(e)); throw e
                }
            }
        }
        if Self.viewOps.contains(ins.op) {
            enterGuestView()
            try stepOnce()
            leaveGuestView()
            log(.callout, eip: at, text: text, outcome: viewOutcome(ins), cycles: vm.cost.callout)
            return
        }
        log(.callout, eip: at, text: text, outcome: "run by the monitor from the guest's CS:EIP", cycles: vm.cost.callout)
        try stepOnce()
    }

    func viewOutcome(_ ins: Instr) -> String {
        switch ins.op {
        case .popf, .iret:
            return "on the vCPU: IF=\(cpu.interruptsEnabled ? 1 : 0) IOPL=\(state.iopl)"
        case .pushf: return "pushed the guest's EFLAGS (IOPL=\(state.iopl))"
        default: return "run against the guest's view (CPL 0, its own GDTR/IDTR/TR, CR0)"
        }
    }

    /// One instruction on the CPU, from inside the callout.
    func stepOnce() throws(CPUException) {
        emulating += 1
        defer { emulating -= 1 }
        cpu.interruptShadow = true          // nothing is delivered before the instruction
        let stop = cpu.run(maxInstructions: 1)
        switch stop {
        case .limit, .halted: break
        default: cpu.stopRequest = stop
        }
    }

    // ---- The guest's view of the machine, for one instruction ----

    func enterGuestView() {
        view = GuestView(gdtr: cpu.gdtr, idtr: cpu.idtr, ldtr: cpu.ldtr.selector, tr: cpu.tr.selector, cr0: cpu.cr0)
        cpu.gdtr = state.gdtr
        cpu.idtr = state.idtr
        cpu.ldtr.selector = state.ldtr
        cpu.tr.selector = state.tr
        cpu.cr0 = (cpu.cr0 & 0xFFFF_0000) | (state.cr0 & 0xFFFF)
        if cpu.cpl == 1 {
            cpu.cpl = 0
            cpu.segs[Seg.cs].selector &= ~3
            cpu.segs[Seg.ss].selector &= ~3
        }
        cpu.setEFLAGS((cpu.eflags & ~EFLAGS.iopl) | (UInt32(state.iopl) << 12))
    }

    func leaveGuestView() {
        guard let v = view else { return }
        view = nil
        // The real IOPL stays the guest's: at CPL 1 every IOPL-sensitive
        // instruction is a callout anyway, and at CPL 3 the guest's IOPL is what must apply.
        state.iopl = cpu.iopl
        cpu.gdtr = v.gdtr
        cpu.idtr = v.idtr
        cpu.ldtr.selector = v.ldtr
        cpu.tr.selector = v.tr
        cpu.cr0 = v.cr0
        if cpu.cpl == 0 { cpu.cpl = 1 }
        // Leaving for user code: a call gate back in switches to the guest's current ring-0 stack.
        if cpu.cpl == 3 { syncRingStack() }
        // The CPU may have loaded the guest's own descriptors: take the shadow ones, RPL 1 for CS and SS at CPL 1.
        for s in 0..<6 {
            var sel = cpu.segs[s].selector
            if cpu.cpl == 1 && (s == Seg.cs || s == Seg.ss) { sel = (sel & ~3) | 1 }
            guard sel & ~3 != 0, let d = try? cpu.descriptor(sel), d.present else { continue }
            var c = d.cache
            c.selector = sel
            cpu.segs[s] = c
        }
    }
}
