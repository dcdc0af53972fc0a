import X86

// The guest's memory as the monitor sees it: guest-physical addresses live
// at host-physical `guestBase + gpa`; guest-linear addresses go through the
// guest's own page tables (SDM Vol. 3 §4.3) when the guest has paging on.
// Reads here never set accessed bits: the monitor looks without touching.

public struct GuestWalkResult: Sendable, Equatable {
    public var gpa: UInt32
    /// Guest page rights: user-accessible, writable (both levels), dirty already.
    public var user: Bool
    public var writable: Bool
    public var dirty: Bool
    /// Guest-physical frames of the tables walked (PD, then PT unless a 4 MiB page).
    public var tables: [UInt32]
    /// Where the entries are, to set A/D: (gpa of PDE, gpa of PTE or nil).
    public var pdeAddress: UInt32
    public var pteAddress: UInt32?
}

public final class GuestMemory {
    unowned(unsafe) let cpu: CPU
    public let base: UInt32
    public let size: UInt32

    init(cpu: CPU, base: UInt32, size: UInt32) {
        self.cpu = cpu; self.base = base; self.size = size
    }

    public func host(_ gpa: UInt32) -> UInt32? { gpa < size ? base &+ gpa : nil }

    public func read32(_ gpa: UInt32) -> UInt32 {
        guard UInt64(gpa) + 4 <= UInt64(size) else { return 0xFFFF_FFFF }
        return cpu.readPhysical(base &+ gpa, 4)
    }
    public func write32(_ gpa: UInt32, _ v: UInt32) {
        guard UInt64(gpa) + 4 <= UInt64(size) else { return }
        cpu.writePhysical(base &+ gpa, 4, v)
    }
    public func read8(_ gpa: UInt32) -> UInt8 {
        gpa < size ? UInt8(cpu.readPhysical(base &+ gpa, 1)) : 0xFF
    }

    /// The guest's own walk for `lin` under the guest's CR0/CR3/CR4, with the
    /// access rights of SDM Vol. 3 §4.6; returns the #PF error code on failure.
    public func walk(_ lin: UInt32, vcpu: VCPU, write: Bool, user: Bool) -> Result<GuestWalkResult, CPUException> {
        let code: UInt32 = (write ? PFError.write : 0) | (user ? PFError.user : 0)
        guard vcpu.cr0 & CR0.pg != 0 else {
            guard lin < size else { return .failure(CPUException(Vector.pf, code)) }
            return .success(GuestWalkResult(gpa: lin, user: true, writable: true, dirty: true, tables: [],
                                            pdeAddress: 0, pteAddress: nil))
        }
        let pd = vcpu.cr3 & 0xFFFF_F000
        let pdeAddr = pd | ((lin >> 20) & 0xFFC)
        let pde = read32(pdeAddr)
        guard pde & PTE.present != 0 else { return .failure(CPUException(Vector.pf, code)) }
        let large = pde & PTE.pageSize != 0 && vcpu.cr4 & CR4.pse != 0
        var rights = pde, leaf = pde, pteAddr: UInt32? = nil
        var tables = [pd >> 12]
        if !large {
            let pt = pde & 0xFFFF_F000
            tables.append(pt >> 12)
            let a = pt | ((lin >> 10) & 0xFFC)
            let pte = read32(a)
            guard pte & PTE.present != 0 else { return .failure(CPUException(Vector.pf, code)) }
            rights &= pte
            leaf = pte
            pteAddr = a
        }
        let userOK = rights & PTE.user != 0, rw = rights & PTE.writable != 0
        if user && !userOK { return .failure(CPUException(Vector.pf, code | PFError.present)) }
        if write && !rw && (user || vcpu.cr0 & CR0.wp != 0) { return .failure(CPUException(Vector.pf, code | PFError.present)) }
        let gpa = large ? (pde & 0xFFC0_0000) | (lin & 0x003F_FFFF) : (leaf & 0xFFFF_F000) | (lin & 0xFFF)
        return .success(GuestWalkResult(gpa: gpa, user: userOK, writable: rw, dirty: leaf & PTE.dirty != 0,
                                        tables: tables, pdeAddress: pdeAddr, pteAddress: pteAddr))
    }

    /// Sets the guest's accessed (and on a write, dirty) bits after a successful walk, as the CPU would.
    public func markAccessed(_ w: GuestWalkResult, write: Bool) {
        guard w.tables.count > 0 else { return }
        let pde = read32(w.pdeAddress)
        if let pteAddr = w.pteAddress {
            if pde & PTE.accessed == 0 { write32(w.pdeAddress, pde | PTE.accessed) }
            let pte = read32(pteAddr)
            let want = pte | PTE.accessed | (write ? PTE.dirty : 0)
            if want != pte { write32(pteAddr, want) }
        } else {
            let want = pde | PTE.accessed | (write ? PTE.dirty : 0)
            if want != pde { write32(w.pdeAddress, want) }
        }
    }

    /// Reads guest-linear memory as the guest kernel would (supervisor), nil if unmapped.
    public func readLinear(_ lin: UInt32, _ n: Int, vcpu: VCPU) -> [UInt8]? {
        var out: [UInt8] = []
        for k in 0..<n {
            guard case .success(let w) = walk(lin &+ UInt32(k), vcpu: vcpu, write: false, user: false), w.gpa < size else { return nil }
            out.append(read8(w.gpa))
        }
        return out
    }
    public func readLinear32(_ lin: UInt32, vcpu: VCPU) -> UInt32? {
        guard let b = readLinear(lin, 4, vcpu: vcpu) else { return nil }
        return UInt32(b[0]) | UInt32(b[1]) << 8 | UInt32(b[2]) << 16 | UInt32(b[3]) << 24
    }
    public func writeLinear(_ lin: UInt32, _ bytes: [UInt8], vcpu: VCPU) -> Bool {
        for (k, b) in bytes.enumerated() {
            guard case .success(let w) = walk(lin &+ UInt32(k), vcpu: vcpu, write: true, user: false), w.gpa < size else { return false }
            cpu.writePhysical(base &+ w.gpa, 1, UInt32(b))
        }
        return true
    }
}
