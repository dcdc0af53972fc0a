import X86

// Adaptive binary translation (Adams & Agesen §3.3): an instruction that
// keeps writing guest page tables takes a page fault each time (the tables
// are write-protected so the shadow stays right), which costs a trap's
// worth.  VMware noticed such instructions and retranslated them to do the
// write and update the shadow in the monitor, with no fault — the "ptemod"
// nanobenchmark went from thousands of cycles to 391.
//
// Here: after `adaptThreshold` traced writes from one guest instruction its
// page's translations are dropped; when retranslated, that instruction is a
// CALLOUT that makes its store with the target's shadow entry writable for
// that one instruction and drops the shadow entries made from the written
// table — the same work as the fault path, without the fault.

extension BTMonitor {
    static let adaptThreshold = 3

    func adapt(toTracedWriteAt eip: UInt32) {
        let lin = cpu.segs[Seg.cs].base &+ eip
        guard !adaptive.contains(lin) else { return }
        let n = (traceCounts[lin] ?? 0) + 1
        traceCounts[lin] = n
        guard n >= Self.adaptThreshold, case .success(let w) = mem.walk(lin, vcpu: state, write: false, user: false) else { return }
        adaptive.insert(lin)
        let dropped = cache.invalidate(frame: w.gpa >> 12)
        dropPads(into: dropped)
        if cache.needsFlush { flushTranslations() } else { loadGuestGDT() }
        log(.invalidation, code: w.gpa & 0xFFFF_F000, eip: eip,
            outcome: "adaptive: this instruction wrote page tables \(n) times; its block is retranslated to update the shadow without a fault",
            cycles: vm.cost.translate)
    }

    /// The retranslated store: performed with the shadow entry of its target
    /// writable for this one instruction, then the shadow made from that table dropped.
    /// Returns false when the target is not a traced page-table page any more.
    func tracedStore(_ ins: Instr) throws(CPUException) -> Bool {
        guard let target = linearAddress(ins),
              case .success(let w) = mem.walk(target, vcpu: state, write: true, user: cpu.cpl == 3),
              shadow.isTracked(gpa: w.gpa), let pte = shadow.entry(target).pte else { return false }
        let e = shadow.entry(target)
        let at = (e.pde & 0xFFFF_F000) | ((target >> 10) & 0xFFC)
        mem.markAccessed(w, write: true)
        cpu.writePhysical(at, 4, pte | PTE.writable)
        cpu.flushTLB(linear: target)
        defer {
            cpu.writePhysical(at, 4, pte & ~PTE.writable)
            cpu.flushTLB(linear: target)
        }
        try stepOnce()
        shadow.invalidate(tableFrame: w.gpa >> 12)
        log(.ptWrite, code: nil, detail: nil, eip: cpu.eip, text: Disassembler.text(ins, at: cpu.eip),
            outcome: "adaptive: guest page-table write at gpa \(hex(w.gpa)) made by the monitor, no fault; shadow entries from that table dropped",
            cycles: vm.cost.adaptivePTWrite)
        return true
    }
}
