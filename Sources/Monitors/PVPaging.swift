import X86

// Page-table hypercalls (docs/pv-abi.md "Memory").  A PV guest's page tables
// are ordinary guest memory that it reads freely but changes only through
// mmu_update / update_va_mapping, which validate every entry: the frame a
// present entry names must lie in the guest's own RAM (guest-physical
// 0 ..< size), so no guest table can name a monitor frame or another
// domain's.  The CPU walks shadow tables built from the guest's (ShadowMMU);
// each validated update drops the shadow entries it made stale, so the
// guest's table pages need no write protection.  CR3 loads and INVLPG are
// mmuext_op commands.

extension PVMonitor {
    /// Checks one new page-table entry; nil when it may be written.
    func validateEntry(_ val: UInt32) -> Answer? {
        guard val & PTE.present != 0 else { return nil }
        if val & PTE.pageSize != 0 { return (-PVABI.EINVAL, "large pages are not supported (bit 7 set)") }
        if val & 0xFFFF_F000 >= mem.size {
            return (-PVABI.EPERM, "frame \(hex(val & 0xFFFF_F000)) is outside the guest's \(mem.size >> 20) MiB")
        }
        return nil
    }

    /// Writes a validated entry at guest-physical `gpa` and drops the shadow made from that table.
    func writeEntry(gpa: UInt32, _ val: UInt32) {
        mem.write32(gpa, val)
        shadow.invalidate(tableFrame: gpa >> 12)
    }

    /// mmu_update(req, count, success_count, domid): mmu_update_t {u64 ptr; u64 val}, ptr's low bits the command.
    func mmuUpdate(_ a: [UInt32]) -> Answer {
        guard a[3] == PVABI.domidSelf else { return (-PVABI.EPERM, "only DOMID_SELF (0x7ff0)") }
        guard a[1] <= 4096 else { return (-PVABI.EINVAL, "count above 4096") }
        var done: UInt32 = 0
        var answer: Answer = (0, "")
        for i in 0..<a[1] {
            let at = a[0] &+ i &* 16
            guard let b = copyFromGuest(at, 16) else { answer = (-PVABI.EFAULT, "request \(i) not readable"); break }
            func word(_ o: Int) -> UInt32 { UInt32(b[o]) | UInt32(b[o + 1]) << 8 | UInt32(b[o + 2]) << 16 | UInt32(b[o + 3]) << 24 }
            let ptr = word(0), val = word(8)
            guard word(4) == 0, word(12) == 0 else { answer = (-PVABI.EINVAL, "request \(i): address above 4 GiB"); break }
            guard ptr & 3 == 0 else { answer = (-PVABI.ENOSYS, "request \(i): only MMU_NORMAL_PT_UPDATE (0)"); break }
            guard UInt64(ptr) + 4 <= UInt64(mem.size) else {
                answer = (-PVABI.EINVAL, "request \(i): entry address \(hex(ptr)) is outside guest RAM"); break
            }
            if let bad = validateEntry(val) { answer = (bad.result, "request \(i): " + bad.outcome); break }
            writeEntry(gpa: ptr, val)
            done += 1
        }
        if a[2] != 0 && !write32(a[2], done) && answer.result == 0 { answer = (-PVABI.EFAULT, "success_count not writable") }
        if answer.result == 0 { answer.outcome = "\(done) entr\(done == 1 ? "y" : "ies") written" + (done == 1 ? "" : "") }
        else { answer.outcome += "; \(done) done before it" }
        return answer
    }

    /// update_va_mapping(va, val, flags): the entry that maps `va` in the current tables.
    func updateVAMapping(_ a: [UInt32]) -> Answer {
        let va = a[0], val = a[1], flags = a[2]
        guard state.cr0 & CR0.pg != 0 else { return (-PVABI.EINVAL, "no page tables yet (no MMUEXT_NEW_BASEPTR)") }
        guard flags & ~7 == 0, flags & 3 != 3 else { return (-PVABI.EINVAL, "bad flags") }
        let pde = mem.read32((state.cr3 & 0xFFFF_F000) | ((va >> 20) & 0xFFC))
        guard pde & PTE.present != 0, pde & PTE.pageSize == 0, pde & 0xFFFF_F000 < mem.size else {
            return (-PVABI.EINVAL, "no page table maps \(hex(va))")
        }
        if let bad = validateEntry(val) { return bad }
        writeEntry(gpa: (pde & 0xFFFF_F000) | ((va >> 10) & 0xFFC), val)
        switch flags & 3 {
        case 1: shadow.flush()
        case 2: shadow.invalidate(va)
        default: break
        }
        return (0, "entry for \(hex(va)) = \(hex(val))")
    }

    /// mmuext_op(ops, count, done, domid): struct mmuext_op {u32 cmd; u32 arg1; u32 arg2}.
    func mmuextOp(_ a: [UInt32]) -> Answer {
        guard a[3] == PVABI.domidSelf else { return (-PVABI.EPERM, "only DOMID_SELF (0x7ff0)") }
        guard a[1] <= 4096 else { return (-PVABI.EINVAL, "count above 4096") }
        var done: UInt32 = 0
        var answer: Answer = (0, "")
        var what: [String] = []
        for i in 0..<a[1] {
            guard let cmd = read32(a[0] &+ i &* 12), let arg1 = read32(a[0] &+ i &* 12 &+ 4) else {
                answer = (-PVABI.EFAULT, "op \(i) not readable"); break
            }
            switch cmd {
            case 0, 1, 4:   // MMUEXT_PIN_L1_TABLE, PIN_L2_TABLE, UNPIN_TABLE: accepted, nothing to keep
                guard UInt64(arg1) << 12 < UInt64(mem.size) else { answer = (-PVABI.EPERM, "op \(i): frame \(hex(arg1)) not the guest's"); break }
                what.append("pin/unpin \(hex(arg1))")
            case 5:         // MMUEXT_NEW_BASEPTR: arg1 = frame number of the new page directory
                guard UInt64(arg1) << 12 < UInt64(mem.size) else { answer = (-PVABI.EPERM, "op \(i): frame \(hex(arg1)) not the guest's"); break }
                let first = state.cr0 & CR0.pg == 0
                state.cr3 = arg1 << 12
                state.cr0 |= CR0.pg | CR0.wp
                shadow.flush()
                what.append("new base pointer \(hex(arg1 << 12))" + (first ? " (paging on)" : ""))
            case 6, 8, 10:  // MMUEXT_TLB_FLUSH_LOCAL, _MULTI, _ALL
                shadow.flush()
                what.append("TLB flush")
            case 7, 9, 11:  // MMUEXT_INVLPG_LOCAL, _MULTI, _ALL
                shadow.invalidate(arg1)
                what.append("invlpg \(hex(arg1))")
            default:
                answer = (-PVABI.ENOSYS, "op \(i): command \(cmd) not implemented")
            }
            if answer.result != 0 { break }
            done += 1
        }
        if a[2] != 0 && !write32(a[2], done) && answer.result == 0 { answer = (-PVABI.EFAULT, "done count not writable") }
        if answer.result == 0 { answer.outcome = what.joined(separator: ", ") }
        return answer
    }
}
