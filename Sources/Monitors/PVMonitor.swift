import PC
import X86

// `pv`: paravirtualization after Xen (docs/pv-abi.md).  The guest kernel is
// *modified*: it never executes a privileged instruction but asks the
// hypervisor with `int 0x82` (EAX = number, EBX, ECX, EDX, ESI, EDI =
// arguments, result in EAX).  It runs at CPL 1 on flat segments the monitor
// provides (Xen's FLAT_RING1_CS/DS, FLAT_RING3_CS/DS), with real IOPL 0 and
// real IF = 1; its interrupt flag is a byte in memory it shares with the
// monitor — the event mask of Xen's vcpu_info — which the monitor reads
// before it injects anything.  Page tables are guest memory the monitor
// shadows (ShadowMMU), changed only through validated hypercalls.
//
// Traps reach the guest through the monitor's IDT, built from the trap table
// the guest registers (set_trap_table); every gate is a trap gate, so the CPU
// never clears the real IF: "mask events on entry" is the monitor setting the
// mask byte.  The hypercalls themselves are in PVHypercalls.swift.

public final class PVMonitor: DeprivilegedMonitor {
    /// The guest's trap table: per vector, the flags it registered (bit 2:
    /// mask events on entry), nil when no handler is registered.
    var trapFlags = [UInt8?](repeating: nil, count: 256)
    /// Guest-physical address of the registered vcpu_info, nil before.
    var vcpuInfo: UInt32?
    /// The event mask before a vcpu_info is registered (1: masked, as Xen starts a vCPU).
    var bootMask: UInt8 = 1

    public init() { super.init(technique: .pv) }

    public override var vcpu: VCPU {
        var v = state
        v.cpl = cpu.cpl
        v.interruptsEnabled = !eventMask
        return v
    }

    // ---- The shared vcpu_info (docs/pv-abi.md "Event mask") ----

    var eventMask: Bool {
        get { vcpuInfo.map { mem.read8($0 &+ PVABI.maskOffset) != 0 } ?? (bootMask != 0) }
        set {
            if let at = vcpuInfo { writeByte(at &+ PVABI.maskOffset, newValue ? 1 : 0) } else { bootMask = newValue ? 1 : 0 }
        }
    }

    func writeByte(_ gpa: UInt32, _ v: UInt8) {
        guard let host = mem.host(gpa) else { return }
        cpu.writePhysical(host, 1, UInt32(v))
    }

    /// Events are delivered only when the guest's mask allows; otherwise the
    /// monitor flags them pending in vcpu_info, for the guest to look at when
    /// it unmasks (as Xen's evtchn_upcall_pending).
    override func eventsDeliverable(_ picPending: Bool) -> Bool {
        if let at = vcpuInfo { writeByte(at &+ PVABI.pendingOffset, picPending ? 1 : 0) }
        return picPending && !eventMask
    }

    override func injecting(vector: UInt8) { enter(vector: Int(vector)) }

    /// Just before the CPU delivers `vector` to the guest's handler: the frame
    /// must carry the guest's *virtual* IF (as Xen's bounce frame does), and
    /// an entry registered with flag bit 2 masks events.
    func enter(vector: Int) {
        let masked = eventMask
        cpu.setEFLAGS(masked ? cpu.eflags & ~EFLAGS.if : cpu.eflags | EFLAGS.if)
        if let f = trapFlags[vector], f & PVABI.trapMaskEvents != 0 { eventMask = true }
    }

    // ---- Boot ----

    public override func boot(_ vm: VirtualMachine) {
        let cpu = vm.machine.cpu
        state = VCPU(native: cpu)
        state.gdtr = TableRegister()
        state.idtr = TableRegister()
        setUpMemory(vm)
        shadow.protectTables = false
        // The monitor's GDT holds only its flat segments (Xen's reserved
        // entries) and its TSS; a PV guest has no descriptor tables of its own.
        tables.loadGDT(guest: [])
        for (sel, access) in [(PVABI.ring1CS, UInt8(0xBB)), (PVABI.ring1DS, 0xB3), (PVABI.ring3CS, 0xFB), (PVABI.ring3DS, 0xF3)] {
            tables.writeEntry(MonitorLayout.gdt, Int(sel >> 3), ShadowTables.compress(Self.flat(access: access)))
        }
        cpu.gdtr = TableRegister(base: MonitorLayout.linear(ofHost: MonitorLayout.gdt),
                                 limit: UInt16(MonitorLayout.gdtEntries * 8 - 1))
        // The IDT: empty until set_trap_table, except the hypercall gate, DPL 1
        // so that INT 0x82 from ring 3 is a #GP.  (From ring 1 the instruction
        // intercept answers it before the CPU looks at the gate.)
        for v in 0..<256 { tables.setGate(v, nil) }
        tables.writeEntry(MonitorLayout.idt, PVABI.hypercallVector, Self.gate(offset: 0, selector: PVABI.ring1CS, dpl: 1))
        cpu.idtr = TableRegister(base: MonitorLayout.linear(ofHost: MonitorLayout.idt), limit: 0x7FF)
        cpu.ldtr = SegmentCache(selector: 0, base: 0, limit: 0, access: 0x82, flags: 0)
        cpu.ldtr.usable = false
        loadMonitorTR()
        // The monitor TSS: ring-1 stack from stack_switch, no I/O permission bitmap.
        cpu.writePhysical(MonitorLayout.tss &+ 12, 4, 0)
        cpu.writePhysical(MonitorLayout.tss &+ 16, 4, UInt32(PVABI.ring1DS))
        cpu.writePhysical(MonitorLayout.tss &+ 102, 2, 0x68)
        // The kernel starts at CPL 1 on the flat ring-1 segments, events masked, real IF = 1.
        cpu.cpl = 1
        for s in 0..<6 {
            let sel = s == Seg.cs ? PVABI.ring1CS : PVABI.ring1DS
            if let d = try? cpu.descriptor(sel) {
                var c = d.cache
                c.selector = sel
                cpu.segs[s] = c
            }
        }
        cpu.setEFLAGS((cpu.eflags & ~EFLAGS.iopl) | EFLAGS.if)
        cpu.exceptionIntercept = { [unowned self] _, e in self.exception(e) }
        cpu.instructionIntercept = { [unowned self] _, ins throws(CPUException) in try self.intercept(ins) }
        cpu.interceptTraits = [.softInt]
        wireInterrupts()
    }

    /// A flat 4 GiB segment descriptor (truncated below the monitor window by ShadowTables.compress).
    static func flat(access: UInt8) -> Descriptor {
        Descriptor(lo: 0x0000_FFFF, hi: 0x00CF_0000 | UInt32(access) << 8)
    }

    /// A 32-bit trap gate (SDM Vol. 3 §6.11): the CPU leaves IF alone on entry.
    static func gate(offset: UInt32, selector: UInt16, dpl: UInt8) -> Descriptor {
        Descriptor(lo: UInt32(selector) << 16 | (offset & 0xFFFF),
                   hi: (offset & 0xFFFF_0000) | 0x8000 | UInt32(dpl) << 13 | UInt32(SystemType.trapGate32) << 8)
    }

    // ---- Exceptions and software interrupts ----

    func exception(_ e: CPUException) -> InterceptAction {
        if e.vector == Vector.pf { return pageFault(e) }
        return reflect(e)
    }

    /// A fault goes to the guest's registered handler; a page fault's address
    /// is written into vcpu_info.arch.cr2 first (a PV kernel cannot read CR2).
    override func reflect(_ e: CPUException, instead: CPUException? = nil) -> InterceptAction {
        let shown = instead ?? e
        if shown.vector == Vector.pf {
            state.cr2 = cpu.cr2
            if let at = vcpuInfo, let host = mem.host(at &+ PVABI.cr2Offset) { cpu.writePhysical(host, 4, cpu.cr2) }
        }
        enter(vector: Int(shown.vector))
        let registered = trapFlags[Int(shown.vector)] != nil
        log(.exception, code: UInt32(shown.vector), detail: shown.errorCode,
            outcome: registered ? "\(shown.name) bounced to the guest's handler (trap table)"
                                : "\(shown.name): no handler in the guest's trap table",
            cycles: vm.cost.reflect)
        return instead.map { .reflect($0) } ?? .deliver
    }

    /// INT n: a hypercall when it is INT 0x82 at CPL 1; otherwise (INT 0x80
    /// from user code) an entry through the trap table, masking events if
    /// the entry says so and the gate lets the caller in.
    func intercept(_ ins: Instr) throws(CPUException) -> Bool {
        let vector = ins.op == .int ? Int(ins.imm & 0xFF) : ins.op == .int3 ? 3 : ins.op == .into ? 4 : -1
        if vector == PVABI.hypercallVector && cpu.cpl == 1 {
            hypercall(at: cpu.eip)
            return true
        }
        if vector >= 0, let f = trapFlags[vector], cpu.cpl <= max(f & 3, 1), ins.op != .into || cpu.eflags & EFLAGS.of != 0 {
            enter(vector: vector)
        }
        return false
    }
}

/// The hypercall ABI's numbers and layouts (docs/pv-abi.md), Xen's where Xen has one.
public enum PVABI {
    public static let hypercallVector = 0x82
    // Xen's flat selectors (xen/include/public/arch-x86/xen-x86_32.h).
    public static let ring1CS: UInt16 = 0xE019, ring1DS: UInt16 = 0xE021
    public static let ring3CS: UInt16 = 0xE02B, ring3DS: UInt16 = 0xE033
    // Hypercall numbers (xen/include/public/xen.h), plus one of Ringside's in Xen's arch range.
    public static let setTrapTable: UInt32 = 0, mmuUpdate: UInt32 = 1, stackSwitch: UInt32 = 3
    public static let schedOpCompat: UInt32 = 6, updateVAMapping: UInt32 = 14, xenVersion: UInt32 = 17
    public static let consoleIO: UInt32 = 18, iret: UInt32 = 23, vcpuOp: UInt32 = 24, mmuextOp: UInt32 = 26
    public static let schedOp: UInt32 = 29
    /// __HYPERVISOR_arch_0: Ringside's port I/O for whitelisted devices.
    public static let portIO: UInt32 = 48
    public static let names: [UInt32: String] = [
        0: "set_trap_table", 1: "mmu_update", 3: "stack_switch", 6: "sched_op_compat", 14: "update_va_mapping",
        17: "xen_version", 18: "console_io", 23: "iret", 24: "vcpu_op", 26: "mmuext_op", 29: "sched_op", 48: "port_io",
    ]
    // Errors (negated in EAX).
    public static let EPERM: Int32 = 1, ENOENT: Int32 = 2, EFAULT: Int32 = 14, EINVAL: Int32 = 22, ENOSYS: Int32 = 38
    // trap_info_t flags.
    public static let trapMaskEvents: UInt8 = 4
    // vcpu_info layout (xen.h, x86_32): upcall_pending, upcall_mask, pending_sel, arch.cr2.
    public static let pendingOffset: UInt32 = 0, maskOffset: UInt32 = 1, cr2Offset: UInt32 = 8, vcpuInfoSize: UInt32 = 64
    public static let domidSelf: UInt32 = 0x7FF0
    /// The ports a PV kernel may reach with port_io: PIC, PIT, POST, debug-exit, COM1.
    public static func portAllowed(_ p: UInt16) -> Bool {
        (0x20...0x21).contains(p) || (0xA0...0xA1).contains(p) || (0x40...0x43).contains(p)
            || p == 0x80 || p == 0xF4 || (0x3F8...0x3FF).contains(p)
    }
}
