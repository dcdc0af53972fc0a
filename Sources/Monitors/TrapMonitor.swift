import PC
import X86

// `trap`: trap-and-emulate with ring compression (Popek & Goldberg's
// classical monitor, as far as IA-32 allows).  The guest kernel really runs
// at CPL 1 and its user code at CPL 3, with real IOPL 0, on the monitor's
// GDT, IDT and TSS (ShadowTables) and shadow page tables (ShadowMMU).
//
// The guest's interrupt flag is the CPU's: CLI and STI fault (CPL 1 > IOPL 0)
// and are emulated by executing them with the privilege granted for that one
// instruction; an interrupt gate clears IF as on hardware.  POPF and IRET at
// CPL 1 can change neither IF nor IOPL and do not fault (SDM POPF, IRET), so
// a kernel that restores IF with them silently loses it.  Nothing below
// special-cases that: it is the CPU's rule at CPL 1.  The monitor only
// *observes* sensitive instructions, through the opcode table's traits, and
// logs each as a `silent` event.

public final class TrapMonitor: Monitor {
    public let technique = Technique.trap
    /// The guest's control and table registers, as it set them.
    var state = VCPU()
    /// What the guest believes: its own registers, CPL 0 for the kernel, and
    /// the CPU's IF (the guest's interrupt flag is the real one, see above).
    public var vcpu: VCPU {
        var v = state
        v.cpl = guestCPL
        v.interruptsEnabled = cpu.interruptsEnabled
        return v
    }
    unowned(unsafe) var vm: VirtualMachine!
    var cpu: CPU { vm.machine.cpu }
    var mem: GuestMemory!
    var shadow: ShadowMMU!
    var tables: ShadowTables!
    private var source: InjectingSource?

    public init() {}

    public func hostPhysical(_ gpa: UInt32) -> UInt32? { mem?.host(gpa) }
    public func guestBytes(linear: UInt32, count: Int) -> [UInt8]? {
        guard let mem else { return nil }
        var out: [UInt8] = []
        for k in 0..<count {
            guard let b = mem.readLinear(linear &+ UInt32(k), 1, vcpu: state) else { return out.isEmpty ? nil : out }
            out += b
        }
        return out
    }

    /// The guest believes it runs at CPL 0 when the CPU is at 1.
    var guestCPL: UInt8 { cpu.cpl == 1 ? 0 : cpu.cpl }

    public func boot(_ vm: VirtualMachine) {
        self.vm = vm
        let cpu = vm.machine.cpu
        state = VCPU(native: cpu)
        mem = GuestMemory(cpu: cpu, base: vm.machine.guestBase, size: vm.machine.guestSize)
        shadow = ShadowMMU(cpu: cpu, mem: mem)
        tables = ShadowTables(cpu: cpu)
        // Native hand-off selectors, before the CPU is switched over.
        let selectors = (0..<6).map { cpu.segs[$0].selector }

        // Real paging on, through the shadow directory; CR0.WP so ring-1 writes obey read-only shadow pages.
        shadow.reset()
        cpu.cr4 = CR4.pse | (state.cr4 & CR4.tsd)
        cpu.cr3 = MonitorLayout.shadowPD
        cpu.cr0 = CR0.pe | CR0.et | CR0.pg | CR0.wp | (state.cr0 & (CR0.mp | CR0.em | CR0.ts | CR0.ne))
        cpu.flushTLB(global: true)
        loadGuestGDT()
        cpu.idtr = TableRegister(base: MonitorLayout.linear(ofHost: MonitorLayout.idt), limit: min(state.idtr.limit, 0x7FF))
        refreshIDT()
        cpu.ldtr = SegmentCache(selector: 0, base: 0, limit: 0, access: 0x82, flags: 0)
        cpu.ldtr.usable = false
        if let d = try? cpu.descriptor(MonitorLayout.tssSelector) {
            cpu.tr = d.cache
            cpu.tr.selector = MonitorLayout.tssSelector
        }
        // The kernel's segments at CPL 1: CS and SS carry RPL 1, data selectors keep theirs.
        cpu.cpl = 1
        for s in 0..<6 {
            var sel = selectors[s]
            if s == Seg.cs || s == Seg.ss { sel |= 1 }
            if let d = try? cpu.descriptor(sel), sel & 0xFFFC != 0 {
                var c = d.cache
                c.selector = sel
                cpu.segs[s] = c
            }
        }
        cpu.setEFLAGS(cpu.eflags & ~EFLAGS.iopl)
        cpu.exceptionIntercept = { [unowned self] _, e in self.exception(e) }
        cpu.instructionIntercept = { [unowned self] _, ins in self.observe(ins) }
        cpu.interceptTraits = [.sensitive, .softInt]
        if let pic = vm.machine.pic {
            let s = InjectingSource(pic: pic, monitor: self)
            source = s
            cpu.interrupts = s
        }
    }

    // ---- Shadow descriptor tables ----

    /// Reads the guest's GDT (through its own paging) and rebuilds the monitor's.
    func loadGuestGDT() {
        tables.loadGDT(guest: guestDescriptors(base: state.gdtr.base, limit: UInt32(state.gdtr.limit)))
        cpu.gdtr = TableRegister(base: MonitorLayout.linear(ofHost: MonitorLayout.gdt),
                                 limit: UInt16(MonitorLayout.gdtEntries * 8 - 1))
    }

    func guestDescriptors(base: UInt32, limit: UInt32) -> [Descriptor] {
        let count = min(Int(limit + 1) / 8, MonitorLayout.gdtEntries - 3)
        return (0..<count).map { i in
            let lo = mem.readLinear32(base &+ UInt32(i * 8), vcpu: state) ?? 0
            let hi = mem.readLinear32(base &+ UInt32(i * 8 + 4), vcpu: state) ?? 0
            return Descriptor(lo: lo, hi: hi)
        }
    }

    /// Mirrors the guest's IDT gates into the monitor's IDT.
    func refreshIDT(vector: Int? = nil) {
        let count = min(Int(state.idtr.limit) + 1, 0x800) / 8
        for v in vector.map({ [$0] }) ?? Array(0..<256) {
            guard v < count else { tables.setGate(v, nil); continue }
            let lo = mem.readLinear32(state.idtr.base &+ UInt32(v * 8), vcpu: state)
            let hi = mem.readLinear32(state.idtr.base &+ UInt32(v * 8 + 4), vcpu: state)
            tables.setGate(v, lo.flatMap { l in hi.map { Descriptor(lo: l, hi: $0) } })
        }
    }

    /// Before any delivery to the guest: its ring-0 stack (SS0:ESP0 of its TSS)
    /// becomes the monitor TSS's ring-1 stack, and the gate is re-read.
    func prepareDelivery(vector: Int) {
        refreshIDT(vector: vector)
        let at = UInt32(state.tr & 0xFFF8)
        guard state.tr & 0xFFFC != 0, at + 7 <= UInt32(state.gdtr.limit),
              let lo = mem.readLinear32(state.gdtr.base &+ at, vcpu: state),
              let hi = mem.readLinear32(state.gdtr.base &+ at &+ 4, vcpu: state) else { return }
        let tss = Descriptor(lo: lo, hi: hi).base
        guard let esp0 = mem.readLinear32(tss &+ 4, vcpu: state), let ss0 = mem.readLinear32(tss &+ 8, vcpu: state) else { return }
        cpu.writePhysical(MonitorLayout.tss &+ 12, 4, esp0)
        cpu.writePhysical(MonitorLayout.tss &+ 16, 4, (ss0 & 0xFFFC) | 1)
    }

    // ---- The trap log ----

    func log(_ kind: EventKind, code: UInt32? = nil, detail: UInt32? = nil, eip: UInt32? = nil, text: String? = nil,
             outcome: String, cycles: UInt64) {
        let at = eip ?? cpu.eip
        vm.log.append(TrapEvent(time: vm.machine.now, technique: .trap, kind: kind, code: code, detail: detail, eip: at,
                                instruction: text ?? vm.instructionText(at: at), guestCPL: guestCPL, realCPL: cpu.cpl,
                                outcome: outcome, cycles: cycles))
    }

    /// The instruction at CS:EIP, decoded from guest memory.
    func currentInstruction() -> Instr? {
        let lin = cpu.segs[Seg.cs].base &+ cpu.eip
        var bytes: [UInt8] = []
        for k in 0..<15 {
            guard let b = try? cpu.readSlow(lin &+ UInt32(k), 1, user: false) else { break }
            bytes.append(UInt8(b))
        }
        guard case .ok(let ins) = Decoder.decode(bytes, code16: !cpu.segs[Seg.cs].big) else { return nil }
        return ins
    }

    // ---- Exceptions: emulate, fix up the shadow, or reflect ----

    func exception(_ e: CPUException) -> InterceptAction {
        if e.vector == Vector.pf { return pageFault(e) }
        if e.vector == Vector.gp, let ins = currentInstruction(), let action = emulate(ins, e) { return action }
        return reflect(e)
    }

    /// Delivers a fault to the guest through its own IDT (mirrored in the monitor's).
    func reflect(_ e: CPUException, instead: CPUException? = nil) -> InterceptAction {
        let shown = instead ?? e
        prepareDelivery(vector: Int(shown.vector))
        if shown.vector == Vector.pf { state.cr2 = cpu.cr2 }
        log(.exception, code: UInt32(shown.vector), detail: shown.errorCode,
            outcome: "\(shown.name) reflected to the guest's handler", cycles: vm.cost.reflect)
        return instead.map { .reflect($0) } ?? .deliver
    }
}

/// The machine's PIC as the CPU sees it under a monitor: each acknowledged
/// interrupt is logged as an injection and prepared for delivery to the guest.
final class InjectingSource: InterruptSource {
    let pic: PIC8259
    unowned let monitor: TrapMonitor
    init(pic: PIC8259, monitor: TrapMonitor) { self.pic = pic; self.monitor = monitor }
    var interruptPending: Bool { pic.interruptPending }
    func acknowledgeInterrupt() -> UInt8 {
        let v = pic.acknowledgeInterrupt()
        monitor.prepareDelivery(vector: Int(v))
        monitor.log(.injection, code: UInt32(v), outcome: "IRQ vector \(v) injected through the guest's IDT",
                    cycles: monitor.vm.cost.reflect)
        return v
    }
}
