import X86

// What a debugger may look at inside the VT-x model without side effects:
// the EPT walk of one guest-physical address, entry by entry (SDM Vol. 3C
// §28.2.2, Figure 28-1 "Formats of EPTP and EPT Paging-Structure Entries").
// Added for the debugger's `info ept` (lesson 7, the two-dimensional walk).

/// One level of an EPT walk: where the 64-bit entry is (host-physical) and what it holds.
public struct EPTStep: Sendable, Equatable {
    /// "PML4E", "PDPTE", "PDE" or "PTE".
    public var level: String
    public var index: Int
    public var address: UInt32
    public var entry: UInt64
}

public struct EPTWalk: Sendable, Equatable {
    public var eptp: UInt64
    public var steps: [EPTStep]
    /// The host-physical address, nil when an entry grants no access (an EPT violation).
    public var host: UInt32?
}

extension VTxMonitor {
    /// True when this VMM runs the guest with EPT (secondary control "enable EPT").
    public var usesEPT: Bool { eptEnabled }

    /// The walk the processor makes through the EPT for `gpa`; nil without EPT.
    public func eptWalk(guestPhysical gpa: UInt32) -> EPTWalk? {
        guard eptEnabled else { return nil }
        let eptp = vmcs.eptPointer
        var walk = EPTWalk(eptp: eptp, steps: [], host: nil)
        var table = UInt32(truncatingIfNeeded: eptp) & 0xFFFF_F000
        let levels = ["PML4E", "PDPTE", "PDE", "PTE"]
        // 32-bit guest-physical addresses: bits 47:39 and 38:30 index the
        // upper levels (always 0 here and 0..3), 29:21 the PD, 20:12 the PT.
        let indices = [0, Int(gpa >> 30) & 511, Int(gpa >> 21) & 511, Int(gpa >> 12) & 511]
        for (k, i) in indices.enumerated() {
            let at = table &+ UInt32(i * 8)
            let entry = UInt64(cpu.readPhysical(at, 4)) | UInt64(cpu.readPhysical(at &+ 4, 4)) << 32
            walk.steps.append(EPTStep(level: levels[k], index: i, address: at, entry: entry))
            if entry & 7 == 0 { return walk }
            table = UInt32(truncatingIfNeeded: entry) & 0xFFFF_F000
        }
        walk.host = table | (gpa & 0xFFF)
        return walk
    }
}
