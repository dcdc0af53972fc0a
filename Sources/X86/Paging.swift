// 32-bit paging (SDM Vol. 3 §4.3): a page directory of 1024 PDEs, each
// naming a page table of 1024 PTEs or, with CR4.PSE and PDE.PS, a 4 MiB
// page.  Entry layout:
//   bit 0 P present, 1 R/W, 2 U/S, 3 PWT, 4 PCD, 5 A accessed, 6 D dirty,
//   7 PS (PDE: 4 MiB page) / PAT (PTE), 8 G global, 12-31 frame address.
// Access rights (§4.6): supervisor = CPL < 3.  User accesses need U/S set at
// both levels; user writes need R/W at both levels; supervisor writes need
// R/W at both levels only when CR0.WP = 1.  A and D are set only after every
// check passes.

public enum PTE {
    public static let present: UInt32 = 1 << 0, writable: UInt32 = 1 << 1, user: UInt32 = 1 << 2
    public static let accessed: UInt32 = 1 << 5, dirty: UInt32 = 1 << 6, pageSize: UInt32 = 1 << 7
    public static let global: UInt32 = 1 << 8
}

/// #PF error code bits (SDM Vol. 3 §4.7).
public enum PFError {
    public static let present: UInt32 = 1, write: UInt32 = 2, user: UInt32 = 4, reserved: UInt32 = 8
}

/// One step of a page walk, for the debugger's `info pt`.
public struct PageWalk: Sendable {
    public var pdeAddress: UInt32
    public var pde: UInt32
    public var pteAddress: UInt32?
    public var pte: UInt32?
    public var physical: UInt32?
    public var largePage: Bool
}

extension CPU {
    public var pagingEnabled: Bool { cr0 & CR0.pg != 0 }

    /// Linear → physical for one access, filling the TLB; raises #PF with CR2.
    func translate(_ lin: UInt32, write: Bool, user: Bool) throws(CPUException) -> UInt32 {
        guard pagingEnabled else {
            fillTLB(lin, physPage: lin & 0xFFFF_F000, userOK: true, writable: true, userWritable: true, global: false)
            return lin
        }
        let pdeAddr = (cr3 & 0xFFFF_F000) | ((lin >> 20) & 0xFFC)
        var pde = readPhysical(pdeAddr, 4)
        let base: UInt32 = (user ? PFError.user : 0) | (write ? PFError.write : 0)
        func fault(_ code: UInt32) -> CPUException {
            cr2 = lin
            return CPUException(Vector.pf, code)
        }
        guard pde & PTE.present != 0 else { throw fault(base) }
        let large = pde & PTE.pageSize != 0 && cr4 & CR4.pse != 0
        if large && pde & 0x003F_E000 != 0 {
            // Bits 21:13 of a 4 MiB PDE are reserved without PSE-36 (SDM Vol. 3 Table 4-5).
            throw fault(base | PFError.present | PFError.reserved)
        }
        var pte: UInt32 = 0, pteAddr: UInt32 = 0
        var rights = pde
        if !large {
            pteAddr = (pde & 0xFFFF_F000) | ((lin >> 10) & 0xFFC)
            pte = readPhysical(pteAddr, 4)
            guard pte & PTE.present != 0 else { throw fault(base) }
            rights = pde & pte
        }
        let userOK = rights & PTE.user != 0
        let rw = rights & PTE.writable != 0
        if user && !userOK { throw fault(base | PFError.present) }
        if write && !rw && (user || cr0 & CR0.wp != 0) { throw fault(base | PFError.present) }
        // Every check passed: set accessed and, on a write, dirty bits.
        if pde & PTE.accessed == 0 || (large && write && pde & PTE.dirty == 0) {
            pde |= PTE.accessed | (large && write ? PTE.dirty : 0)
            writePhysical(pdeAddr, 4, pde)
        }
        let leaf: UInt32
        if large {
            leaf = pde
        } else {
            if pte & PTE.accessed == 0 || (write && pte & PTE.dirty == 0) {
                pte |= PTE.accessed | (write ? PTE.dirty : 0)
                writePhysical(pteAddr, 4, pte)
            }
            leaf = pte
        }
        let frame = large ? (pde & 0xFFC0_0000) | (lin & 0x003F_F000) : pte & 0xFFFF_F000
        let dirty = leaf & PTE.dirty != 0
        let isGlobal = leaf & PTE.global != 0 && cr4 & CR4.pge != 0
        fillTLB(lin, physPage: frame, userOK: userOK,
                writable: dirty && (rw || cr0 & CR0.wp == 0), userWritable: dirty && rw && userOK, global: isGlobal)
        return frame | (lin & 0xFFF)
    }

    private func fillTLB(_ lin: UInt32, physPage: UInt32, userOK: Bool, writable: Bool, userWritable: Bool, global: Bool) {
        // MMIO pages are never cached: every access must reach the device.
        guard UInt64(physPage) + 0x1000 <= UInt64(ramSize) else { return }
        let i = Int((lin >> 12) & UInt32(TLB.entries - 1))
        let page = lin & 0xFFFF_F000
        // A page holding a watched range keeps its accesses of the watched kind on the slow path.
        var readOK = true, writeOK = writable && !blocks.holdsCode(physPage >> 12)
        if _slowPath(watchActive) { watchFilter(page: lin >> 12, read: &readOK, write: &writeOK) }
        tlb.phys[i] = physPage
        tlb.global[i] = global
        tlb.readTag[i] = readOK ? page | 1 | (userOK ? 2 : 0) : 0
        tlb.writeTag[i] = writeOK ? page | 1 | (userWritable ? 2 : 0) : 0
    }

    /// The guest's own walk for `lin`, without side effects (debugger `info pt`).
    public func walk(_ lin: UInt32) -> PageWalk {
        let pdeAddr = (cr3 & 0xFFFF_F000) | ((lin >> 20) & 0xFFC)
        let pde = readPhysical(pdeAddr, 4)
        var w = PageWalk(pdeAddress: pdeAddr, pde: pde, pteAddress: nil, pte: nil, physical: nil, largePage: false)
        guard pde & PTE.present != 0 else { return w }
        if pde & PTE.pageSize != 0 && cr4 & CR4.pse != 0 {
            w.largePage = true
            w.physical = (pde & 0xFFC0_0000) | (lin & 0x003F_FFFF)
            return w
        }
        let pteAddr = (pde & 0xFFFF_F000) | ((lin >> 10) & 0xFFC)
        let pte = readPhysical(pteAddr, 4)
        w.pteAddress = pteAddr
        w.pte = pte
        if pte & PTE.present != 0 { w.physical = (pte & 0xFFFF_F000) | (lin & 0xFFF) }
        return w
    }
}
