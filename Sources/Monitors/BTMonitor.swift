import PC
import X86

// `bt`: binary translation after VMware (Adams & Agesen, ASPLOS 2006, §3).
// Everything `trap` does for memory and descriptor tables stays — the guest
// kernel at real CPL 1, the monitor's GDT/IDT/TSS, truncated segments,
// shadow page tables — but guest kernel code never runs as written.  The
// CPU runs it from the translation cache (BTCache.swift), in the monitor's
// code segment MonitorLayout.tcSelector, after the translator
// (BTTranslator.swift) has copied the innocuous instructions as they are and
// rewritten the rest.  Guest user code (CPL 3) runs directly.
//
// How kernel code gets into the cache:
//  - interrupts, exceptions and system calls: the monitor's IDT gates point
//    at the translated handler (prepareDelivery), so delivery lands in it;
//  - everything else that can enter kernel code — IRET, far transfers, a
//    return from an emulated instruction, a restarted fault — passes through
//    the monitor, which ends with `settle()`: at CPL 1 the CPU is sent to
//    the translation of the guest address it is at.
// How the guest is kept from seeing the cache: every exception, interrupt
// or debugger stop inside translated code first maps the TC address back to
// the guest address (`toGuest`), so frames pushed for the guest hold guest
// CS:EIP, exactly as on hardware.

public final class BTMonitor: TrapMonitor {
    var cache: TranslationCache!
    /// The guest's kernel code selector (as the guest wrote it) the translations run for.
    var kernelCS: UInt16 = 0x08
    /// Guest addresses the debugger asked to stop at (their translations join the CPU's set).
    var guestBreakpoints: Set<UInt32> = []
    /// Inside a callout's emulation step (a nested exception there must not settle).
    var emulating = 0
    var view: GuestView?
    /// A fault an emulation decided the guest gets, thrown from a callout:
    /// the exception intercept delivers it as decided instead of handling it again.
    var preparedFault: (CPUException, InterceptAction)?
    /// The inline return's miss routine and its landing pads by guest return address (BTReturns.swift).
    var missStub: UInt32 = 0
    var landings: [UInt32: UInt32] = [:]
    var padsFallingInto: [UInt32: UInt32] = [:]
    /// Adaptive translation (BTAdaptive.swift): traced page-table writes per
    /// guest instruction, and the instructions now translated to make them without a fault.
    var traceCounts: [UInt32: Int] = [:]
    var adaptive: Set<UInt32> = []
    /// Every block ever translated, in order, when asked for (tests, lessons):
    /// invalidated blocks leave the cache but stay here.
    public var keepsHistory = false
    /// The translation cache's size in bytes, set before boot (3 MiB; tests make it small to see it fill).
    public var cacheCapacity: UInt32 = MonitorLayout.tcEnd - MonitorLayout.tcStart
    public var cacheBytes: UInt32 { cache?.capacity ?? cacheCapacity }
    public internal(set) var history: [TCBlock] = []

    public override init() { super.init(technique: .bt) }
    override var runsTranslationCache: Bool { true }

    public var stats: TCStats { cache.stats }
    /// The code selector the guest believes its kernel runs with (RPL 0).
    public var vcpuCodeSelector: UInt16 { kernelCS }
    public var translatedBlocks: [TCBlock] { cache.blocks.values.sorted { $0.guestStart < $1.guestStart } }
    public func block(containing g: UInt32) -> TCBlock? { cache.block(containing: g) }

    public override func boot(_ vm: VirtualMachine) {
        cache = TranslationCache(cpu: vm.machine.cpu, capacity: cacheCapacity)
        super.boot(vm)
        kernelCS = cpu.segs[Seg.cs].selector & ~3
        cpu.instructionIntercept = { [unowned self] _, ins throws(CPUException) in try self.callout(ins) }
        cpu.interceptTraits = [.softInt]
        syncVCPUArea()
        resetReturnTable()
        _ = settle()
    }

    // ---- Moving between translated code and the guest's own view ----

    var inTC: Bool { cpu.cpl == 1 && cpu.segs[Seg.cs].selector & ~3 == MonitorLayout.tcSelector }

    /// The guest kernel's code segment as the CPU holds it while the monitor
    /// acts for the guest: the shadow descriptor, with the guest's own
    /// RPL-0 selector — what an interrupt frame or a far call pushes is the
    /// guest's (the CPU checks privilege against CPL, not against CS.RPL).
    func guestCodeSegment() -> SegmentCache? {
        guard let d = try? cpu.descriptor(kernelCS | 1), d.isCode else { return nil }
        var c = d.cache
        c.selector = kernelCS
        return c
    }

    /// From a TC address to the guest address the guest is at there (CS:EIP in the guest's terms).
    func toGuest() {
        guard inTC else { return }
        guard let m = cache.mapping(cpu.eip), let cs = guestCodeSegment() else { return }
        var g = m.guest
        let sp = cpu.segs[Seg.ss].base &+ cpu.esp
        func word(_ a: UInt32) -> UInt32 { (try? cpu.readSlow(a, 4, user: false)) ?? 0 }
        switch m.fixup {
        case .none: break
        case .savedBeforeReturn:
            cpu.ecx = word(sp); cpu.esp &+= 4
        case .savedAfterReturn:
            cpu.ecx = word(sp); g = cs.base &+ word(sp &+ 4); cpu.esp &+= 8
        case .poppedAfterReturn:
            g = cs.base &+ word(sp); cpu.esp &+= 4
        }
        cpu.segs[Seg.cs] = cs
        cpu.eip = g &- cs.base
    }

    /// At CPL 1 on guest code: continue in its translation.  When the guest
    /// would fault fetching there, returns that #PF with CR2 set (the caller delivers it).
    @discardableResult
    func settle() -> CPUException? {
        guard cpu.cpl == 1, !inTC else { return nil }
        kernelCS = cpu.segs[Seg.cs].selector & ~3
        let g = cpu.segs[Seg.cs].base &+ cpu.eip
        switch translation(for: g) {
        case .success(let tc):
            enterTC(tc)
            return nil
        case .failure(let fault):
            cpu.cr2 = fault.address
            return CPUException(Vector.pf, fault.errorCode)
        }
    }

    func enterTC(_ tc: UInt32) {
        if let d = try? cpu.descriptor(MonitorLayout.tcSelector | 1) {
            var c = d.cache
            c.selector = MonitorLayout.tcSelector | 1
            cpu.segs[Seg.cs] = c
        }
        cpu.eip = tc
    }

    /// The guest's CR0-CR4 where translated code reads them inline (`mov r, cr3` -> `mov r, cs:[vcpu+12]`).
    func syncVCPUArea() {
        let v = [state.cr0, 0, state.cr2, state.cr3, state.cr4]
        for (n, x) in v.enumerated() where cpu.readPhysical(MonitorLayout.vcpuArea &+ UInt32(4 * n), 4) != x {
            cpu.writePhysical(MonitorLayout.vcpuArea &+ UInt32(4 * n), 4, x)
        }
        // UMIP is the guest's to set: it restricts user code only, and kernel SGDT/SIDT/STR/SLDT/SMSW are callouts.
        cpu.cr4 = (cpu.cr4 & ~CR4.umip) | (state.cr4 & CR4.umip)
    }

    // ---- Delivery into translated handlers ----

    /// The monitor IDT's gate for `vector` points at the translated handler
    /// (or at a stub that translates it on first use).
    override func prepareDelivery(vector: Int) {
        super.prepareDelivery(vector: vector)
        let at = MonitorLayout.idt &+ UInt32(vector * 8)
        let gate = Descriptor(lo: cpu.readPhysical(at, 4), hi: cpu.readPhysical(at &+ 4, 4))
        guard gate.present, !gate.isSegment, gate.type != 5, gate.gateSelector & ~3 != MonitorLayout.tcSelector,
              let code = try? cpu.descriptor(gate.gateSelector), code.isCode, code.dpl == 1 else { return }
        kernelCS = gate.gateSelector & ~3
        let g = code.base &+ gate.gateOffset
        let tc = cache.entry[g] ?? stub(for: g)
        cpu.writePhysical(at, 4, (UInt32(MonitorLayout.tcSelector) << 16) | (tc & 0xFFFF))
        cpu.writePhysical(at &+ 4, 4, (tc & 0xFFFF_0000) | (gate.hi & 0xFFFF))
    }

    /// Call gates to kernel code are pointed at translations too (their
    /// targets are guest code; a far CALL through one lands in the cache).
    override func loadGuestGDT() {
        super.loadGuestGDT()
        let count = min(Int(state.gdtr.limit) + 1, MonitorLayout.guestGDTEntries * 8) / 8
        for i in 1..<max(count, 1) {
            let at = MonitorLayout.gdt &+ UInt32(i * 8)
            let d = Descriptor(lo: cpu.readPhysical(at, 4), hi: cpu.readPhysical(at &+ 4, 4))
            guard d.present, !d.isSegment, d.type == 0xC,
                  let code = try? cpu.descriptor(d.gateSelector), code.isCode, code.dpl == 1 else { continue }
            let tc = cache.entry[code.base &+ d.gateOffset] ?? stub(for: code.base &+ d.gateOffset)
            cpu.writePhysical(at, 4, (UInt32(MonitorLayout.tcSelector) << 16) | (tc & 0xFFFF))
            cpu.writePhysical(at &+ 4, 4, (tc & 0xFFFF_0000) | (d.hi & 0xFFFF))
        }
    }

    /// A two-byte chaining stub for a guest address not translated yet.
    func stub(for g: UInt32) -> UInt32 {
        if !cache.hasRoom(64) { flushTranslations() }
        let s = cache.emit([0xCD, 0xF1], guestBefore: g)
        cache.addCallout(.chain(target: g, site: nil), at: s)
        return s
    }

    override func injecting(vector: UInt8) {
        toGuest()
        super.injecting(vector: vector)
    }

    // ---- Exceptions raised in translated code ----

    override func exception(_ e: CPUException) -> InterceptAction {
        if let p = preparedFault, p.0 == e { preparedFault = nil; return p.1 }
        let wasInView = view != nil
        if wasInView { leaveGuestView() }
        toGuest()
        if e.vector == Vector.gp, cpu.cpl == 3, let action = userPortIO() { return action }
        let action = super.exception(e)
        syncVCPUArea()
        guard action == .handled else { return action }
        if wasInView {
            enterGuestView()
        } else if emulating == 0, let fault = settle() {
            return reflect(e, instead: fault)
        }
        return action
    }

    override func pageTableWritten(at eip: UInt32) { adapt(toTracedWriteAt: eip) }

    /// The emulations `trap` reaches through a #GP are reached here through a
    /// callout: logged and costed as one.
    override func log(_ kind: EventKind, code: UInt32? = nil, detail: UInt32? = nil, eip: UInt32? = nil, text: String? = nil,
                      outcome: String, cycles: UInt64) {
        let asCallout = kind == .emulated && emulating == 0
        super.log(asCallout ? .callout : kind, code: code, detail: detail, eip: eip, text: text, outcome: outcome,
                  cycles: asCallout ? vm.cost.callout : cycles)
    }

    /// User code's IN/OUT at IOPL < 3 faulted on the monitor's TSS, which
    /// has no I/O bitmap: when the guest's own TSS bitmap allows the ports
    /// (SDM Vol. 1 §19.5.2), the access is made with IOPL 3 for that one instruction.
    func userPortIO() -> InterceptAction? {
        guard let ins = currentInstruction(), ins.traits.contains(.io) else { return nil }
        let port = ins.src == .imm || ins.dst == .imm ? UInt32(ins.imm & 0xFF) : cpu.edx & 0xFFFF
        guard guestBitmapAllows(port: port, size: UInt32(ins.op == .ins || ins.op == .outs || ins.op == .in || ins.op == .out ? ins.osize : 1)) else { return nil }
        let saved = cpu.eflags
        cpu.setEFLAGS(saved | EFLAGS.iopl)
        cpu.interruptShadow = true
        let stop = cpu.run(maxInstructions: 1)
        cpu.setEFLAGS((cpu.eflags & ~EFLAGS.iopl) | (saved & EFLAGS.iopl))
        log(.emulated, eip: cpu.eip, outcome: "port \(hex(UInt16(port), digits: 4)) allowed by the guest's TSS I/O bitmap", cycles: vm.cost.trap)
        if case .limit = stop { return .handled }
        return stop == .requested ? .handled : .stop(stop)
    }

    func guestBitmapAllows(port: UInt32, size: UInt32) -> Bool {
        let at = UInt32(state.tr & 0xFFF8)
        guard state.tr & 0xFFFC != 0, at + 7 <= UInt32(state.gdtr.limit),
              let lo = mem.readLinear32(state.gdtr.base &+ at, vcpu: state),
              let hi = mem.readLinear32(state.gdtr.base &+ at &+ 4, vcpu: state) else { return false }
        let tss = Descriptor(lo: lo, hi: hi)
        guard let word = mem.readLinear32(tss.base &+ 0x64, vcpu: state) else { return false }
        let iomap = word >> 16
        for p in port..<(port + size) {
            let byte = iomap + p / 8
            guard byte <= tss.limit, let b = mem.readLinear(tss.base &+ byte, 1, vcpu: state) else { return false }
            if b[0] & (1 << (p % 8)) != 0 { return false }
        }
        return true
    }

    /// A guest write to a page of translated code (self-modifying code, or
    /// data beside code): the write is made first, with the page writable
    /// for that one instruction, then the page's translations are dropped
    /// and the page left writable until code on it is translated again.
    /// The run continues after the writing instruction, in a fresh
    /// translation of the new bytes.  Inside a callout's step (a sensitive
    /// instruction on the guest's view, say) the instruction is simply
    /// restarted instead: nothing is translated before it completes.
    override func codePageWritten(frame: UInt32, at lin: UInt32) -> InterceptAction {
        let at = cpu.eip, text = vm.instructionText(at: at)
        var action = InterceptAction.handled
        if emulating == 0 {
            emulating += 1
            action = writeOnce(lin)
            emulating -= 1
        }
        shadow.unprotectCode(frame: frame)
        let dropped = cache.invalidate(frame: frame)
        dropPads(into: dropped)
        if cache.needsFlush { flushTranslations() } else if !dropped.isEmpty { loadGuestGDT() }
        log(.invalidation, code: frame << 12, eip: at, text: text,
            outcome: "write to \(hex(lin)) hit translated code: \(dropped.count) block(s) of page \(hex(frame << 12)) dropped",
            cycles: vm.cost.shadowFault)
        return action
    }

    func flushTranslations() {
        cache.flush()
        resetReturnTable()
        loadGuestGDT()          // call gates pointed into the old cache
        for f in shadow.codeFrames { shadow.unprotectCode(frame: f) }
        log(.invalidation, outcome: "translation cache flushed", cycles: vm.cost.translate * 100)
    }

    // ---- The debugger's view (Monitor protocol) ----

    /// The block at guest address `g`, translated now if it was not (for `translate ADDR`).
    public func translateForDebugger(_ g: UInt32) -> TCBlock? {
        if let b = cache.block(containing: g) { return b }
        guard case .success = translation(for: g) else { return nil }
        return cache.block(containing: g)
    }

    public override func guestLinear(ofReal lin: UInt32) -> UInt32 {
        cache.contains(lin) ? (cache.guestAddress(lin) ?? lin) : lin
    }
    public override func realBreakpoints(_ guest: Set<UInt32>) -> Set<UInt32> {
        guestBreakpoints = guest
        var all = guest
        for g in guest { if let tc = cache.entry[g] { all.insert(tc) } }
        return all
    }
    public override func setGuestEIP(_ eip: UInt32) -> Bool {
        guard inTC else { return false }
        toGuest()
        cpu.eip = eip
        // Where the guest cannot fetch, it stays in guest terms; the next run faults there as on hardware.
        _ = settle()
        syncVCPUArea()
        return true
    }

    public override func isGuestBoundary(real lin: UInt32) -> Bool {
        !cache.contains(lin) || cache.isBoundary(lin)
    }
}
