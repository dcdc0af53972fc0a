import X86

// Extended page tables (SDM Vol. 3C §28.2; reference §4.7 and §6.2), the
// second generation of VT-x memory virtualization (Nehalem, 2008).  The
// guest's own CR3 and page tables translate guest-linear to guest-physical;
// the VMM's EPT translates guest-physical to host-physical.  Guest page
// faults, CR3 loads, INVLPG and page-table writes then need no VM exit.
//
// The EPT here is real: a 4-level structure of 64-bit entries (R bit 0,
// W 1, X 2, memory type 5:3, host-physical address 51:12) in host frames at
// `EPTTables.base`, EPTP = base | WB (6) | (4 - 1) << 3.  The CPU of this
// model has one level of paging, so the processor's TLB for the combined
// translation is modeled by the same table ShadowMMU keeps: a miss there is
// the hardware's two-dimensional walk — no exit, no VMM work — whose memory
// references are counted: (n + 1)(m + 1) - 1 for n guest levels and m = 4
// EPT levels (14 for a 4 KiB guest page, 9 for a 4 MiB one).  Only an EPT
// violation (a guest-physical address the EPT does not map) exits
// (reason 48).

/// Memory virtualization under `vtx`.
public enum VTxPaging: String, Sendable, CaseIterable {
    /// First-generation VT-x: shadow page tables, CR3/INVLPG/#PF exits.
    case shadow
    /// EPT: the two-dimensional walk in "hardware".
    case ept
}

struct EPTTables {
    /// Host-physical home of the EPT (after the monitor LDT, below guest RAM).
    static let base: UInt32 = 0x0044_0000
    static let levels = 4

    /// Builds an identity-offset EPT: guest-physical g → host-physical guestBase + g, RWX, write-back.
    static func build(cpu: CPU, guestBase: UInt32, guestSize: UInt32) -> UInt64 {
        let pml4 = base, pdpt = base + 0x1000, pd = base + 0x2000, firstPT = base + 0x3000
        func entry(_ at: UInt32, _ index: Int, _ value: UInt32) {
            cpu.writePhysical(at &+ UInt32(index * 8), 4, value)
            cpu.writePhysical(at &+ UInt32(index * 8 + 4), 4, 0)
        }
        for t in [pml4, pdpt, pd] { for i in 0..<512 { entry(t, i, 0) } }
        let rwx: UInt32 = 7, writeBack: UInt32 = 6 << 3
        entry(pml4, 0, pdpt | rwx)
        entry(pdpt, 0, pd | rwx)
        let pages = Int(guestSize >> 12)
        let tables = (pages + 511) / 512
        for t in 0..<tables {
            let pt = firstPT + UInt32(t) * 0x1000
            entry(pd, t, pt | rwx)
            for i in 0..<512 {
                let page = t * 512 + i
                entry(pt, i, page < pages ? (guestBase &+ UInt32(page) << 12) | rwx | writeBack : 0)
            }
        }
        return UInt64(pml4) | 6 | UInt64(levels - 1) << 3
    }

    /// The EPT walk of one guest-physical address: host-physical or the
    /// violation's qualification bits 5:3 (the AND of R, W, X along the walk).
    static func translate(cpu: CPU, eptp: UInt64, gpa: UInt32, write: Bool, fetch: Bool) -> (host: UInt32?, rights: UInt32, references: Int) {
        var table = UInt32(truncatingIfNeeded: eptp) & 0xFFFF_F000
        var rights: UInt32 = 7
        let indices = [0, Int(gpa >> 30) & 511, Int(gpa >> 21) & 511, Int(gpa >> 12) & 511]
        for (k, i) in indices.enumerated() {
            let e = cpu.readPhysical(table &+ UInt32(i * 8), 4)
            rights &= e & 7
            if e & 7 == 0 { return (nil, rights, k + 1) }
            table = e & 0xFFFF_F000
        }
        let ok = rights & 1 != 0 && (!write || rights & 2 != 0) && (!fetch || rights & 4 != 0)
        return (ok ? table | (gpa & 0xFFF) : nil, rights, levels)
    }
}

extension VTxMonitor {
    /// The VMCS of a VMM with EPT: no CR3, INVLPG or #PF exits.
    static func eptControls() -> VMCS {
        var v = defaultControls()
        v.primary.subtract([.invlpgExiting, .cr3LoadExiting, .cr3StoreExiting])
        v.secondaryControls.insert(.enableEPT)
        v.exceptionBitmap = 0
        return v
    }

    var eptEnabled: Bool { vmcs.secondary.contains(.enableEPT) }

    /// A miss in the combined translation: the processor's 2-D walk.
    func eptPageFault(_ e: CPUException) -> InterceptAction {
        let lin = cpu.cr2
        let code = e.errorCode ?? 0
        let write = code & PFError.write != 0, user = code & PFError.user != 0
        syncState()
        // Guest paging-structure references, each through the EPT.
        var refs = 0
        var guestLevels = 0
        if state.cr0 & CR0.pg != 0 {
            refs += EPTTables.levels + 1                       // CR3 → PD frame, then the PDE
            guestLevels = 1
            let pde = mem.read32((state.cr3 & 0xFFFF_F000) | ((lin >> 20) & 0xFFC))
            if pde & PTE.present != 0 && !(pde & PTE.pageSize != 0 && state.cr4 & CR4.pse != 0) {
                refs += EPTTables.levels + 1                   // PT frame, then the PTE
                guestLevels = 2
            }
        }
        switch mem.walk(lin, vcpu: state, write: write, user: user) {
        case .failure(let guestFault):
            eptWalks += 1; eptReferences += UInt64(refs)
            // The guest's own page fault: delivered through its IDT, no exit.
            guestCR2 = lin
            cpu.cr2 = lin
            if vmcs.exceptionExits(Vector.pf, errorCode: guestFault.errorCode) {
                vmExit(.exceptionOrNMI, qualification: lin, errorCode: guestFault.errorCode ?? 0, outcome: "#PF in the exception bitmap; re-injected")
            }
            vm.log.append(TrapEvent(time: vm.machine.now, technique: .vtx, kind: .exception, code: UInt32(Vector.pf),
                                    detail: guestFault.errorCode, eip: cpu.eip, instruction: vm.instructionText(at: cpu.eip),
                                    guestCPL: cpu.cpl, realCPL: cpu.cpl, nonRoot: true,
                                    outcome: "guest #PF at \(hex(lin)) delivered through the guest's IDT without a VM exit (EPT)",
                                    cycles: vm.cost.nativeException))
            return .reflect(guestFault)
        case .success(let w):
            let t = EPTTables.translate(cpu: cpu, eptp: vmcs.eptPointer, gpa: w.gpa, write: write, fetch: false)
            refs += t.references
            eptWalks += 1; eptReferences += UInt64(refs)
            guard t.host != nil, w.gpa < mem.size else {
                let q = (write ? 2 : 1) | t.rights << 3 | 1 << 7 | 1 << 8
                vmcs.exit.guestPhysicalAddress = UInt64(w.gpa)
                vmExit(.eptViolation, qualification: q, linear: lin, outcome: "guest-physical \(hex(w.gpa)) is not in the EPT")
                return .stop(.unsupported("guest-physical \(hex(w.gpa)) is outside guest RAM (no MMIO behind it)"))
            }
            _ = guestLevels
            if code & PFError.present != 0 && write && !w.writable {
                // Guest CR0.WP = 0: its kernel may write a read-only page; the combined entry stays read-only.
                mem.markAccessed(w, write: true)
                let r = writeOnce(lin)
                cpu.cr2 = guestCR2
                return r
            }
            mem.markAccessed(w, write: write)
            var walk = w
            walk.dirty = w.dirty || write
            shadow.fill(lin, walk, write: write)
            cpu.cr2 = guestCR2
            return .handled
        }
    }
}
