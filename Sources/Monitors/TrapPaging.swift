import X86

// Page faults under a software monitor (KVM mmu.rst "page fault handling";
// Adams & Agesen §2): classify each #PF the CPU raises on the shadow tables.
//  - the guest's own tables forbid the access: a true fault, reflected with
//    the guest's error code and CR2;
//  - the shadow lacks the translation: a hidden fault, filled in silently;
//  - the shadow entry is read-only only to catch the first write (the
//    guest's dirty bit) or because the page holds a guest page table: set
//    the dirty bit, or perform the write and drop what it made stale.

extension DeprivilegedMonitor {
    func pageFault(_ e: CPUException) -> InterceptAction {
        let lin = cpu.cr2
        let code = e.errorCode ?? 0
        let write = code & PFError.write != 0
        // The U/S bit of the error code, not the CPL: delivery writes to the
        // kernel stack are supervisor accesses even when CPL is 3.
        let user = code & PFError.user != 0
        switch mem.walk(lin, vcpu: state, write: write, user: user) {
        case .failure(let guestFault):
            cpu.cr2 = lin
            return reflect(e, instead: guestFault)
        case .success(let w):
            guard w.gpa < mem.size else {
                return .stop(.unsupported("guest-physical \(hex(w.gpa)) is outside guest RAM (no MMIO behind it)"))
            }
            if code & PFError.present != 0 && write && mem.host(w.gpa) != nil && shadow.protectTables && shadow.isTracked(gpa: w.gpa) {
                return pageTableWrite(lin, w)
            }
            if code & PFError.present != 0 && write && w.writable && shadow.isCode(gpa: w.gpa) {
                // `bt`: the page holds translated code; the write is made, then its translations go.
                mem.markAccessed(w, write: true)
                return codePageWritten(frame: w.gpa >> 12, at: lin)
            }
            if code & PFError.present != 0 && write && !w.writable {
                // The guest's CR0.WP = 0 lets its kernel write a read-only page (SDM Vol. 3 §4.6.1);
                // the real CR0.WP is 1 and its shadow entry stays read-only: do this one write.
                mem.markAccessed(w, write: true)
                let at = cpu.eip, text = vm.instructionText(at: at)
                let stop = writeOnce(lin)
                log(.shadowFault, code: UInt32(Vector.pf), detail: code, eip: at, text: text,
                    outcome: "guest CR0.WP=0: supervisor write to a read-only page performed", cycles: vm.cost.shadowFault)
                return stop
            }
            mem.markAccessed(w, write: write)
            let wasPresent = code & PFError.present != 0
            var walk = w
            walk.dirty = w.dirty || write
            shadow.fill(lin, walk, write: write)
            log(.shadowFault, code: UInt32(Vector.pf), detail: code,
                outcome: wasPresent ? "guest dirty bit set; shadow entry made writable"
                                    : "hidden fault: shadow entry \(hex(lin & 0xFFFF_F000)) -> host \(hex(mem.base &+ (w.gpa & 0xFFFF_F000)))",
                cycles: vm.cost.shadowFault)
            return .handled
        }
    }

    /// A write to a guest page-table page: performed with the page writable
    /// for this one instruction, then the shadow tables built from it are dropped.
    func pageTableWrite(_ lin: UInt32, _ w: GuestWalkResult) -> InterceptAction {
        let at = cpu.eip
        let text = vm.instructionText(at: at)
        mem.markAccessed(w, write: true)
        guard shadow.entry(lin).pte != nil else { return .handled }
        let action = writeOnce(lin)
        shadow.invalidate(tableFrame: w.gpa >> 12)
        log(.ptWrite, code: UInt32(Vector.pf), detail: PFError.write | PFError.present, eip: at, text: text,
            outcome: "guest page-table write at gpa \(hex(w.gpa)) performed; shadow entries from that table dropped",
            cycles: vm.cost.ptWrite)
        pageTableWritten(at: at)
        return action
    }

    /// Executes the faulting instruction with the shadow entry of `lin` made
    /// writable for that one step (written directly: no tracking check), then read-only again.
    func writeOnce(_ lin: UInt32) -> InterceptAction {
        let e = shadow.entry(lin)
        guard let pte = e.pte else { return .handled }
        let entryAddress = (e.pde & 0xFFFF_F000) | ((lin >> 10) & 0xFFC)
        cpu.writePhysical(entryAddress, 4, pte | PTE.writable)
        cpu.flushTLB(linear: lin)
        cpu.interruptShadow = true
        let stop = cpu.run(maxInstructions: 1)
        cpu.writePhysical(entryAddress, 4, pte & ~PTE.writable)
        cpu.flushTLB(linear: lin)
        if case .limit = stop { return .handled }
        return stop == .requested ? .handled : .stop(stop)
    }
}
