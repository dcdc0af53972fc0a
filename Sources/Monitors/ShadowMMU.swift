import X86

// Shadow page tables (Adams & Agesen §2; KVM's shadow MMU, mmu.rst): the
// tables the CPU really walks map guest-linear straight to host-physical.
// They are built lazily: a miss is a *hidden* page fault the guest never
// sees; a fault the guest's own tables would give is a *true* fault,
// reflected into the guest with its CR2 and error code.  Guest page-table
// pages are mapped read-only in the shadow, so a guest PTE write traps and
// the monitor can drop the shadow entries it made stale (a *trace*).
// Accessed bits are set when a shadow entry is made, dirty bits when a
// read-only shadow entry of a writable guest page first takes a write.

final class ShadowMMU {
    unowned(unsafe) let cpu: CPU
    let mem: GuestMemory
    private var nextFrame = MonitorLayout.ptPoolStart
    private var freeFrames: [UInt32] = []
    /// Shadow page tables by page-directory index (host-physical frame address).
    private var tables: [Int: UInt32] = [:]
    /// Guest-physical frames used as page directories or page tables, and the
    /// shadow PD indices whose entries came through each.
    private(set) var tracked: [UInt32: Set<Int>] = [:]
    /// Map guest page-table pages read-only so that direct writes trap (`trap`).
    /// A `pv` guest promises to change its tables only by hypercall, which
    /// drops the stale shadow entries itself: its table pages stay writable.
    var protectTables = true
    /// Guest-physical frames holding translated code (`bt`): mapped read-only
    /// so that a write traps and the monitor can drop the stale translations.
    private(set) var codeFrames: Set<UInt32> = []

    init(cpu: CPU, mem: GuestMemory) {
        self.cpu = cpu
        self.mem = mem
    }

    /// The empty shadow directory plus the monitor window: two supervisor 4 MiB pages.
    func reset() {
        for i in 0..<1024 { cpu.writePhysical(MonitorLayout.shadowPD &+ UInt32(i * 4), 4, 0) }
        let first = Int(MonitorLayout.window >> 22)
        for k in 0..<2 {
            let pde = (UInt32(k) << 22) | PTE.present | PTE.writable | PTE.pageSize
            cpu.writePhysical(MonitorLayout.shadowPD &+ UInt32((first + k) * 4), 4, pde)
        }
        freeFrames += tables.values
        tables.removeAll()
        tracked.removeAll()
        codeFrames.removeAll()
        cpu.flushTLB(global: true)
    }

    /// Drops every guest mapping (a guest CR3 load, or a change of paging mode).
    func flush() {
        for (i, frame) in tables {
            cpu.writePhysical(MonitorLayout.shadowPD &+ UInt32(i * 4), 4, 0)
            freeFrames.append(frame)
        }
        tables.removeAll()
        tracked.removeAll()
        cpu.flushTLB(global: true)
    }

    /// Drops the shadow mapping of one linear page (guest INVLPG).
    func invalidate(_ lin: UInt32) {
        if let pt = tables[Int(lin >> 22)] {
            cpu.writePhysical(pt | ((lin >> 10) & 0xFFC), 4, 0)
        }
        cpu.flushTLB(linear: lin)
    }

    /// Drops the shadow page tables made through guest table frame `frame` (after a guest write to it).
    func invalidate(tableFrame frame: UInt32) {
        guard let indices = tracked[frame] else { return }
        for i in indices { dropTable(i) }
        cpu.flushTLB(global: true)
    }

    private func dropTable(_ i: Int) {
        guard let frame = tables.removeValue(forKey: i) else { return }
        cpu.writePhysical(MonitorLayout.shadowPD &+ UInt32(i * 4), 4, 0)
        freeFrames.append(frame)
    }

    private func allocateFrame() -> UInt32? {
        if let f = freeFrames.popLast() { return f }
        guard nextFrame < MonitorLayout.ptPoolEnd else { return nil }
        defer { nextFrame &+= 0x1000 }
        return nextFrame
    }

    func isTracked(gpa: UInt32) -> Bool { tracked[gpa >> 12] != nil }

    /// Write-protects a frame of translated code: every shadow entry that
    /// maps it loses its W bit (found by scanning the shadow tables — there
    /// is no reverse map; a kernel has a handful of tables).
    func protectCode(frame: UInt32) {
        guard codeFrames.insert(frame).inserted, let host = mem.host(frame << 12) else { return }
        for pt in tables.values {
            for k in 0..<1024 {
                let at = pt &+ UInt32(k * 4)
                let pte = cpu.readPhysical(at, 4)
                if pte & PTE.present != 0 && pte & PTE.writable != 0 && pte & 0xFFFF_F000 == host {
                    cpu.writePhysical(at, 4, pte & ~PTE.writable)
                }
            }
        }
        cpu.flushTLB(global: true)
    }
    /// The frame's translations are gone: it may be written freely again.
    func unprotectCode(frame: UInt32) { codeFrames.remove(frame) }
    func isCode(gpa: UInt32) -> Bool { !codeFrames.isEmpty && codeFrames.contains(gpa >> 12) }

    /// Installs the shadow entry for `lin` from a successful guest walk.
    /// Returns false when the pool of shadow frames ran out (everything is dropped then, and retried).
    @discardableResult
    func fill(_ lin: UInt32, _ w: GuestWalkResult, write: Bool) -> Bool {
        let i = Int(lin >> 22)
        // A newly seen guest table frame: any writable shadow mapping of it must go.
        var newlyTracked = false
        for f in w.tables where tracked[f] == nil { tracked[f] = []; newlyTracked = true }
        if newlyTracked && protectTables {
            let keep = tracked
            flush()
            tracked = keep
        }
        for f in w.tables { tracked[f, default: []].insert(i) }
        var pt = tables[i]
        if pt == nil {
            guard let frame = allocateFrame() else { flush(); return false }
            for k in 0..<1024 { cpu.writePhysical(frame &+ UInt32(k * 4), 4, 0) }
            tables[i] = frame
            pt = frame
            cpu.writePhysical(MonitorLayout.shadowPD &+ UInt32(i * 4), 4, frame | PTE.present | PTE.writable | PTE.user)
        }
        guard let host = mem.host(w.gpa & 0xFFFF_F000) else { return false }
        // Writable only once the guest's dirty bit is set (or this write sets it), and never for a guest table page.
        let writable = w.writable && (w.dirty || write) && !(protectTables && isTracked(gpa: w.gpa)) && !isCode(gpa: w.gpa)
        let pte = host | PTE.present | (w.user ? PTE.user : 0) | (writable ? PTE.writable : 0)
        cpu.writePhysical(pt! | ((lin >> 10) & 0xFFC), 4, pte)
        cpu.flushTLB(linear: lin)
        return true
    }

    /// The shadow walk for `lin` (for `info shadow`): PDE, PTE, host-physical.
    func entry(_ lin: UInt32) -> (pde: UInt32, pte: UInt32?, host: UInt32?) {
        let pde = cpu.readPhysical(MonitorLayout.shadowPD &+ ((lin >> 20) & 0xFFC), 4)
        guard pde & PTE.present != 0 else { return (pde, nil, nil) }
        if pde & PTE.pageSize != 0 { return (pde, nil, (pde & 0xFFC0_0000) | (lin & 0x3F_FFFF)) }
        let pte = cpu.readPhysical((pde & 0xFFFF_F000) | ((lin >> 10) & 0xFFC), 4)
        return (pde, pte, pte & PTE.present != 0 ? (pte & 0xFFFF_F000) | (lin & 0xFFF) : nil)
    }
}
