import PC
import X86

// `vtx`: hardware-assisted virtualization after Intel VT-x (SDM Vol. 3C
// ch. 23-28; reference/virtualization.md §4).  The guest kernel runs at
// REAL CPL 0 — VMX non-root operation — on its own GDT, IDT, TSS and
// selectors: the CPU is the same, only a VMCS decides what leaves the guest.
// An instruction that must exit (VTxExits.swift) or an exception in the
// exception bitmap or an external interrupt is a *VM exit*: logged with its
// SDM basic reason and exit qualification, charged `vm-exit`, handled by the
// VMM in "root mode" against the VMCS and the vCPU, then a *VM entry*
// resumes the guest, with an event injected when one is due.
//
// Everything else — CLI, STI, POPF, PUSHF, IRET, SGDT, SIDT, SLDT, STR, LAR,
// LSL, far transfers, segment loads — runs natively: the guest really is at
// CPL 0, so none of them is sensitive any more.  That is the lesson: the
// holes of trap-and-emulate (TrapMonitor) disappear.
//
// Memory is first-generation VT-x, without EPT (Adams & Agesen measured
// that): guest RAM sits at host-physical MonitorLayout.guestBase and the CPU
// always walks shadow page tables (ShadowMMU) built from the guest's, held in
// host frames that no guest address maps — VMX root operation has its own
// address space, so unlike `trap` there is no monitor window and no segment
// truncation.  The VMM owns CR0.PG/WP/PE and the CR4 paging bits through the
// guest/host masks (the guest reads its own values from the read shadows),
// exits on every CR3 load and store and on INVLPG, and intercepts #PF through
// the exception bitmap: hidden faults fill the shadow, true faults are
// injected with the guest's error code and CR2.

public final class VTxMonitor: DeprivilegedMonitor {
    /// The virtual-machine control structure the "processor" consults.
    public internal(set) var vmcs = VMCS()
    /// VM exits taken, by basic reason.
    public private(set) var exitCounts: [UInt16: UInt64] = [:]
    /// The guest's CR2.  A #PF that causes a VM exit does not load CR2 (SDM
    /// Vol. 3C §27.1), but this CPU writes CR2 when it raises the fault, so
    /// the VMM puts the guest's value back after a hidden fault.
    var guestCR2: UInt32 = 0
    /// Set while the VMM executes one guest instruction on the CPU itself (root-mode emulation).
    var passThrough = false
    private var source: VTxInterruptSource?
    /// EPT (the default) or shadow paging (first-generation VT-x); chosen before boot.
    public let paging: VTxPaging
    /// EPT mode: two-dimensional walks the "hardware" made, and their memory references.
    public internal(set) var eptWalks: UInt64 = 0
    public internal(set) var eptReferences: UInt64 = 0

    public init(paging: VTxPaging = .ept) {
        self.paging = paging
        super.init(technique: .vtx)
    }

    /// What the guest sees: the CPU's own state, with the read shadows for
    /// host-owned CR0/CR4 bits and the guest's CR3.
    public override var vcpu: VCPU {
        var v = VCPU(native: cpu)
        v.cr0 = vmcs.guestView(cr0: cpu.cr0)
        v.cr4 = vmcs.guestView(cr4: cpu.cr4)
        v.cr3 = state.cr3
        v.cr2 = cpu.cr2
        return v
    }

    // ---- VMCS set-up (what a VMM does before VMLAUNCH) ----

    /// The controls of a first-generation VT-x VMM with shadow paging.
    static func defaultControls() -> VMCS {
        var v = VMCS()
        v.pinBased = [.externalInterruptExiting]
        v.primary = [.hltExiting, .invlpgExiting, .cr3LoadExiting, .cr3StoreExiting, .useIOBitmaps,
                     .useMSRBitmaps, .activateSecondaryControls]
        v.secondaryControls = []                     // no EPT, no descriptor-table exiting
        v.exceptionBitmap = 1 << UInt32(Vector.pf)   // shadow paging must see every #PF
        v.pageFaultErrorCodeMask = 0
        v.pageFaultErrorCodeMatch = 0
        // Every port exits: all devices are the VMM's (no device assignment).
        v.ioBitmapA = [UInt8](repeating: 0xFF, count: 4096)
        v.ioBitmapB = [UInt8](repeating: 0xFF, count: 4096)
        // Every MSR exits, except the SYSENTER MSRs, which live in the guest-state area.
        v.msrBitmap = [UInt8](repeating: 0xFF, count: 4096)
        for m: UInt32 in 0x174...0x176 { v.setMSRExiting(m, false) }
        // The VMM owns PE, WP and PG (shadow paging needs paging on and WP set),
        // and the CR4 paging-mode bits.
        v.cr0GuestHostMask = CR0.pe | CR0.wp | CR0.pg
        v.cr4GuestHostMask = CR4.pse | CR4.pae | CR4.pge | (1 << 13)   // VMXE too
        return v
    }

    public override func boot(_ vm: VirtualMachine) {
        let cpu = vm.machine.cpu
        state = VCPU(native: cpu)
        if vmcs.primary.isEmpty { vmcs = paging == .ept ? Self.eptControls() : Self.defaultControls() }
        // The read shadows hold the guest's own values of host-owned bits.
        vmcs.cr0ReadShadow = state.cr0 & vmcs.cr0GuestHostMask
        vmcs.cr4ReadShadow = state.cr4 & vmcs.cr4GuestHostMask
        guestCR2 = cpu.cr2
        // Shadow paging: real paging on through the shadow directory.  The
        // guest keeps its GDT, IDT, TSS, selectors and CPL 0.
        setUpMemory(vm)
        removeMonitorWindow()
        if eptEnabled {
            // The guest's tables need no write protection: the TLB model is
            // flushed by its own CR3 loads and INVLPGs, as a real TLB is.
            shadow.protectTables = false
            vmcs.eptPointer = EPTTables.build(cpu: cpu, guestBase: vm.machine.guestBase, guestSize: vm.machine.guestSize)
        }
        cpu.cr0 = realCR0(guest: state.cr0)
        cpu.cr4 = vmcs.realAfterWrite(cr4: 0, state.cr4)
        cpu.cr2 = guestCR2
        cpu.flushTLB(global: true)
        vmcs.host.cr3 = MonitorLayout.shadowPD
        vmcs.guest.save(cpu)

        cpu.exceptionIntercept = { [unowned self] _, e in self.exception(e) }
        cpu.instructionIntercept = { [unowned self] _, ins throws(CPUException) in try self.nonRootInstruction(ins) }
        updateTraits()
        if let pic = vm.machine.pic {
            let s = VTxInterruptSource(pic: pic, monitor: self)
            source = s
            cpu.interrupts = s
        }
        applyInterruptControls()
    }

    /// The instructions the CPU must show the "processor" before executing
    /// them: privileged ones, port I/O and VMCALL always; the
    /// sensitive-unprivileged group only when a control makes one of them
    /// exit (descriptor-table exiting) or read a shadow (SMSW, when a
    /// host-owned bit of CR0 15:0 may differ from the real one).
    func updateTraits() {
        var t: Traits = [.privileged, .io, .hypercall, .vmxExit]
        if vmcs.secondary.contains(.descriptorTableExiting) || vmcs.cr0GuestHostMask & 0xFFFE != 0 { t.insert(.sensitive) }
        cpu.interceptTraits = t
    }

    /// The real CR0 for a guest value: host-owned bits forced (PE, PG, WP on).
    func realCR0(guest v: UInt32) -> UInt32 {
        let forced = CR0.pe | CR0.pg | CR0.wp
        return (v & ~vmcs.cr0GuestHostMask) | (forced & vmcs.cr0GuestHostMask) | CR0.et
    }

    /// The guest's own CR0/CR4 (for walking its page tables).
    func syncState() {
        state.cr0 = vmcs.guestView(cr0: cpu.cr0)
        state.cr4 = vmcs.guestView(cr4: cpu.cr4)
        state.cr2 = cpu.cr2
    }

    /// ShadowMMU.reset maps the software monitors' window at 0xFF800000; in
    /// VMX root operation the VMM has its own address space, so no guest
    /// address may reach host frames: the two PDEs go.
    private func removeMonitorWindow() {
        let first = Int(MonitorLayout.window >> 22)
        for k in 0..<2 { cpu.writePhysical(MonitorLayout.shadowPD &+ UInt32((first + k) * 4), 4, 0) }
        cpu.flushTLB(global: true)
    }

    // ---- VM exits ----

    /// Records a VM exit: the exit-information fields, the guest-state area, the trap log.
    func vmExit(_ reason: ExitReason, qualification: UInt32 = 0, length: Int = 0, info: UInt32 = 0,
                linear: UInt32 = 0, interruption: UInt32 = 0, errorCode: UInt32 = 0,
                eip: UInt32? = nil, text: String? = nil, outcome: String) {
        vmcs.exit = VMCS.ExitInformation()
        vmcs.exit.reason = UInt32(reason.rawValue)
        vmcs.exit.qualification = qualification
        vmcs.exit.instructionLength = UInt32(length)
        vmcs.exit.instructionInformation = info
        vmcs.exit.guestLinearAddress = linear
        vmcs.exit.interruptionInfo = interruption
        vmcs.exit.interruptionErrorCode = errorCode
        vmcs.guest.save(cpu)
        exitCounts[reason.rawValue, default: 0] += 1
        let at = eip ?? cpu.eip
        vm.log.append(TrapEvent(time: vm.machine.now, technique: .vtx, kind: .vmexit, code: UInt32(reason.rawValue),
                                detail: qualification, eip: at, instruction: text ?? vm.instructionText(at: at),
                                guestCPL: cpu.cpl, realCPL: cpu.cpl, nonRoot: true,
                                outcome: "\(reason.name): \(outcome)", cycles: vm.cost.vmExit))
    }

    /// Events the VMM logs while handling an exit happen in root operation.
    override func log(_ kind: EventKind, code: UInt32? = nil, detail: UInt32? = nil, eip: UInt32? = nil, text: String? = nil,
                      outcome: String, cycles: UInt64) {
        let at = eip ?? cpu.eip
        vm.log.append(TrapEvent(time: vm.machine.now, technique: .vtx, kind: kind, code: code, detail: detail, eip: at,
                                instruction: text ?? vm.instructionText(at: at), guestCPL: cpu.cpl, realCPL: cpu.cpl,
                                nonRoot: kind == .exception ? true : false, outcome: outcome, cycles: cycles))
    }

    /// A triple fault in non-root operation is a VM exit (reason 2); the VMM ends the guest.
    func tripleFault() {
        vmExit(.tripleFault, outcome: "the guest shut down; the VMM ends it")
    }

    // ---- Exceptions: the exception bitmap decides ----

    func exception(_ e: CPUException) -> InterceptAction {
        if e.vector == Vector.pf && eptEnabled { return eptPageFault(e) }
        let code = e.errorCode
        guard vmcs.exceptionExits(e.vector, errorCode: code) else {
            if e.vector == Vector.pf { guestCR2 = cpu.cr2 }
            // No exit: the CPU delivers it through the guest's IDT, as on bare metal.
            vm.log.append(TrapEvent(time: vm.machine.now, technique: .vtx, kind: .exception, code: UInt32(e.vector),
                                    detail: code, eip: cpu.eip, instruction: vm.instructionText(at: cpu.eip),
                                    guestCPL: cpu.cpl, realCPL: cpu.cpl, nonRoot: true,
                                    outcome: "\(e.name) delivered through the guest's IDT without a VM exit",
                                    cycles: vm.cost.nativeException))
            return .deliver
        }
        let hardware: UInt32 = 3
        let info = ExitQualification.interruptionInfo(vector: e.vector, type: hardware, errorCode: code != nil)
        if e.vector == Vector.pf {
            // Exit qualification of a #PF exit: the faulting linear address (the CPU's CR2 write is undone below).
            let lin = cpu.cr2
            vmExit(.exceptionOrNMI, qualification: lin, interruption: info, errorCode: code ?? 0,
                   outcome: "#PF at \(hex(lin)) error \(hex(code ?? 0, digits: 1)); shadow MMU decides")
            syncState()
            state.cr2 = guestCR2
            let action = pageFault(e)
            // A hidden fault leaves the guest's CR2 as it was; a true one was
            // injected with its own (`reflect` made it the guest's CR2).
            cpu.cr2 = guestCR2
            return action
        }
        vmExit(.exceptionOrNMI, qualification: 0, interruption: info, errorCode: code ?? 0,
               outcome: "\(e.name) in the exception bitmap; re-injected into the guest")
        log(.injection, code: UInt32(e.vector), detail: code, outcome: "\(e.name) injected at VM entry", cycles: 0)
        return .deliver
    }

    /// Event injection of a true guest fault (VM-entry interruption information).
    override func reflect(_ e: CPUException, instead: CPUException? = nil) -> InterceptAction {
        let shown = instead ?? e
        if shown.vector == Vector.pf { guestCR2 = cpu.cr2; state.cr2 = guestCR2 }
        vmcs.entryInterruptionInfo = ExitQualification.interruptionInfo(vector: shown.vector, type: 3, errorCode: shown.errorCode != nil)
        vmcs.entryExceptionErrorCode = shown.errorCode ?? 0
        log(.injection, code: UInt32(shown.vector), detail: shown.errorCode,
            outcome: "true fault: \(shown.name) injected at VM entry" + (shown.vector == Vector.pf ? ", guest CR2 = \(hex(cpu.cr2))" : ""),
            cycles: vm.cost.reflect)
        return instead.map { .reflect($0) } ?? .deliver
    }

    // ---- External interrupts (SDM Vol. 3C §25.2, §25.4.1, §26.6.5) ----
    //
    // The PIC is the guest's, emulated by the VMM (as KVM's in-kernel PIC
    // is); its requests stand for the host interrupts that drive it.  With
    // external-interrupt exiting every request is a VM exit, reason 1,
    // whatever the guest's IF: IF then does not block external interrupts
    // (CPU.interruptsIgnoreIF).  If the guest can take an interrupt now — IF =
    // 1 and no blocking by STI or MOV SS — the VMM acknowledges the PIC and
    // injects the vector at the VM entry.  If not, it leaves the request in
    // the PIC (where the guest may still mask it or reset the PIC, as on bare
    // metal), sets interrupt-window exiting and resumes; IF blocks again, and
    // the processor exits (reason 7) at the first instruction boundary where
    // IF = 1 and nothing blocks.  Then the VMM acknowledges the PIC and
    // injects what it holds: the guest takes the interrupt exactly where the
    // bare machine would.

    /// Tells the processor model what the controls ask of it.
    func applyInterruptControls() {
        cpu.interruptsIgnoreIF = vmcs.pinBased.contains(.externalInterruptExiting)
            && !vmcs.primary.contains(.interruptWindowExiting)
    }

    /// Can the guest take an external interrupt at this instruction boundary?
    var guestInterruptible: Bool { cpu.interruptsEnabled && !cpu.interruptShadow }

    /// A PIC request under external-interrupt exiting: VM exit, reason 1.
    fileprivate func externalInterrupt(_ pic: PIC8259) -> UInt8 {
        guard guestInterruptible else {
            let why = cpu.interruptsEnabled ? "blocking by STI or MOV SS" : "IF=0"
            vmExit(.externalInterrupt, outcome: "the guest cannot take it (\(why)): left in its PIC; interrupt-window exiting set")
            vmcs.primary.insert(.interruptWindowExiting)
            applyInterruptControls()
            cpu.interruptWithheld = true
            return 0
        }
        let v = pic.acknowledgeInterrupt()
        vmExit(.externalInterrupt, interruption: ExitQualification.interruptionInfo(vector: v, type: 0, errorCode: false),
               outcome: "vector \(v) acknowledged on exit")
        inject(v)
        return v
    }

    /// The interrupt window opened: VM exit, reason 7; inject what the PIC holds.
    fileprivate func interruptWindow(_ pic: PIC8259?) -> UInt8 {
        vmcs.primary.remove(.interruptWindowExiting)
        applyInterruptControls()
        guard let pic, pic.interruptPending else {
            vmExit(.interruptWindow, outcome: "IF=1 and no STI/MOV SS blocking; the PIC has nothing to deliver")
            cpu.interruptWithheld = true
            return 0
        }
        let v = pic.acknowledgeInterrupt()
        vmExit(.interruptWindow, outcome: "IF=1 and no STI/MOV SS blocking: vector \(v) acknowledged")
        inject(v)
        return v
    }

    /// Event injection at VM entry (VM-entry interruption-information field,
    /// type 0): the CPU delivers it through the guest's IDT.
    private func inject(_ vector: UInt8) {
        vmcs.entryInterruptionInfo = ExitQualification.interruptionInfo(vector: vector, type: 0, errorCode: false)
        log(.injection, code: UInt32(vector), outcome: "IRQ vector \(vector) injected at VM entry through the guest's IDT",
            cycles: 0)
    }
}

/// The machine's PIC as the CPU sees it in non-root operation.  The CPU
/// asks it only at boundaries where the VMCS lets an interrupt in: with
/// IF = 1 and no STI/MOV SS blocking, or whatever IF is under
/// external-interrupt exiting; with interrupt-window exiting set, such a
/// boundary is itself the exit.
final class VTxInterruptSource: InterruptSource {
    let pic: PIC8259
    unowned let monitor: VTxMonitor
    init(pic: PIC8259, monitor: VTxMonitor) { self.pic = pic; self.monitor = monitor }
    var interruptPending: Bool {
        monitor.vmcs.primary.contains(.interruptWindowExiting) || pic.interruptPending
    }
    func acknowledgeInterrupt() -> UInt8 {
        // The interrupt-window exit takes priority over external interrupts (SDM §25.2).
        if monitor.vmcs.primary.contains(.interruptWindowExiting) { return monitor.interruptWindow(pic) }
        // Without external-interrupt exiting the CPU delivers it through the guest's IDT: no exit.
        guard monitor.vmcs.pinBased.contains(.externalInterruptExiting) else { return pic.acknowledgeInterrupt() }
        return monitor.externalInterrupt(pic)
    }
}
