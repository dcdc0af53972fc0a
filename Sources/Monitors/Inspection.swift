import PC
import X86

// What a debugger may look at inside a monitor, without side effects (no
// accessed bits, no CR2, no shadow fill): the guest's own page walk and,
// under a shadow-paging monitor, the shadow entry the CPU really walks.
// Added for the debugger's `x`, `set`, `info pt`, `info shadow` (issue 6).

/// One level of a page walk: where the entry is and what it holds.
public struct WalkStep: Sendable, Equatable {
    /// "PDE" or "PTE".
    public var level: String
    public var index: UInt32
    /// Address of the entry: guest-physical for the guest's walk, host-physical for the shadow walk.
    public var address: UInt32
    public var entry: UInt32
}

/// A page walk step by step; `result` is nil when an entry is not present.
public struct WalkTrace: Sendable, Equatable {
    public var cr3: UInt32
    public var steps: [WalkStep]
    public var result: UInt32?
    /// False when paging is off (the address is its own translation).
    public var paging: Bool
}

extension Monitor {
    /// Guest-linear → guest-physical by the guest's own page tables (nil
    /// when unmapped or outside guest RAM).  Page rights are ignored, as a
    /// debugger reading through QEMU's gdb stub ignores them.
    public func guestPhysical(linear: UInt32) -> UInt32? {
        guestWalk(linear: linear)?.result
    }

    /// The guest's walk of `linear` under the CR0/CR3/CR4 the guest believes it has.
    public func guestWalk(linear lin: UInt32) -> WalkTrace? {
        let v = vcpu
        let read: (UInt32) -> UInt32?
        let size: UInt32
        if let d = self as? DeprivilegedMonitor {
            guard let mem = d.mem else { return nil }
            read = { gpa in UInt64(gpa) + 4 <= UInt64(mem.size) ? mem.read32(gpa) : nil }
            size = mem.size
        } else if let n = self as? NativeMonitor, let cpu = n.vm?.machine.cpu {
            read = { pa in UInt64(pa) + 4 <= UInt64(cpu.ramSize) ? cpu.readPhysical(pa, 4) : nil }
            size = cpu.ramSize
        } else {
            return nil
        }
        guard v.cr0 & CR0.pg != 0 else {
            return WalkTrace(cr3: v.cr3, steps: [], result: lin < size ? lin : nil, paging: false)
        }
        var w = WalkTrace(cr3: v.cr3, steps: [], result: nil, paging: true)
        let pdeAddress = (v.cr3 & 0xFFFF_F000) | ((lin >> 20) & 0xFFC)
        guard let pde = read(pdeAddress) else { return w }
        w.steps.append(WalkStep(level: "PDE", index: lin >> 22, address: pdeAddress, entry: pde))
        guard pde & PTE.present != 0 else { return w }
        if pde & PTE.pageSize != 0 && v.cr4 & CR4.pse != 0 {
            let gpa = (pde & 0xFFC0_0000) | (lin & 0x3F_FFFF)
            w.result = gpa < size ? gpa : nil
            return w
        }
        let pteAddress = (pde & 0xFFFF_F000) | ((lin >> 10) & 0xFFC)
        guard let pte = read(pteAddress) else { return w }
        w.steps.append(WalkStep(level: "PTE", index: (lin >> 12) & 0x3FF, address: pteAddress, entry: pte))
        guard pte & PTE.present != 0 else { return w }
        let gpa = (pte & 0xFFFF_F000) | (lin & 0xFFF)
        w.result = gpa < size ? gpa : nil
        return w
    }

    /// The shadow page tables' walk of `linear` (host-physical entries), nil
    /// when the technique keeps no shadow tables.  A missing entry means the
    /// next guest access takes a hidden page fault that fills it.
    public func shadowWalk(linear lin: UInt32) -> WalkTrace? {
        guard let d = self as? DeprivilegedMonitor, let shadow = d.shadow else { return nil }
        let e = shadow.entry(lin)
        var w = WalkTrace(cr3: MonitorLayout.shadowPD, steps: [], result: e.host, paging: true)
        w.steps.append(WalkStep(level: "PDE", index: lin >> 22, address: MonitorLayout.shadowPD | ((lin >> 20) & 0xFFC), entry: e.pde))
        if let pte = e.pte {
            w.steps.append(WalkStep(level: "PTE", index: (lin >> 12) & 0x3FF,
                                    address: (e.pde & 0xFFFF_F000) | ((lin >> 10) & 0xFFC), entry: pte))
        }
        return w
    }

    /// After a debugger wrote guest-physical memory: when the page holds a
    /// guest page table, the shadow entries made from it are dropped (as a
    /// traced guest write would drop them).
    public func debuggerWrote(guestPhysical gpa: UInt32) {
        guard let d = self as? DeprivilegedMonitor, let shadow = d.shadow, shadow.isTracked(gpa: gpa) else { return }
        shadow.invalidate(tableFrame: gpa >> 12)
    }
}
