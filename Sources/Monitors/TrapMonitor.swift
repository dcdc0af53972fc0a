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

public class TrapMonitor: DeprivilegedMonitor {
    /// What the guest believes: its own registers, CPL 0 for the kernel, and
    /// the CPU's IF (the guest's interrupt flag is the real one, see above).
    public override var vcpu: VCPU {
        var v = state
        v.cpl = guestCPL
        v.interruptsEnabled = cpu.interruptsEnabled
        return v
    }

    public init() { super.init(technique: .trap) }
    override init(technique: Technique) { super.init(technique: technique) }

    /// Does kernel code run from a translation cache (`bt`), in its own code segment?
    var runsTranslationCache: Bool { false }

    /// The guest believes it runs at CPL 0 when the CPU is at 1.
    override var guestCPL: UInt8 { cpu.cpl == 1 ? 0 : cpu.cpl }

    public override func boot(_ vm: VirtualMachine) {
        let cpu = vm.machine.cpu
        state = VCPU(native: cpu)
        // Native hand-off selectors, before the CPU is switched over.
        let selectors = (0..<6).map { cpu.segs[$0].selector }

        // Real paging on, through the shadow directory.
        setUpMemory(vm)
        loadGuestGDT()
        cpu.idtr = TableRegister(base: MonitorLayout.linear(ofHost: MonitorLayout.idt), limit: min(state.idtr.limit, 0x7FF))
        refreshIDT()
        cpu.ldtr = SegmentCache(selector: 0, base: 0, limit: 0, access: 0x82, flags: 0)
        cpu.ldtr.usable = false
        loadMonitorTR()
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
        wireInterrupts()
    }

    override func injecting(vector: UInt8) { prepareDelivery(vector: Int(vector)) }

    // ---- Shadow descriptor tables ----

    /// Reads the guest's GDT (through its own paging) and rebuilds the monitor's.
    func loadGuestGDT() {
        tables.loadGDT(guest: guestDescriptors(base: state.gdtr.base, limit: UInt32(state.gdtr.limit)),
                       translationCache: runsTranslationCache)
        cpu.gdtr = TableRegister(base: MonitorLayout.linear(ofHost: MonitorLayout.gdt),
                                 limit: UInt16(MonitorLayout.gdtEntries * 8 - 1))
    }

    func guestDescriptors(base: UInt32, limit: UInt32) -> [Descriptor] {
        let count = min(Int(limit + 1) / 8, MonitorLayout.guestGDTEntries)
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
        syncRingStack()
    }

    /// The guest's SS0:ESP0 (from its TSS) as the monitor TSS's ring-1 stack.
    func syncRingStack() {
        let at = UInt32(state.tr & 0xFFF8)
        guard state.tr & 0xFFFC != 0, at + 7 <= UInt32(state.gdtr.limit),
              let lo = mem.readLinear32(state.gdtr.base &+ at, vcpu: state),
              let hi = mem.readLinear32(state.gdtr.base &+ at &+ 4, vcpu: state) else { return }
        let tss = Descriptor(lo: lo, hi: hi).base
        guard let esp0 = mem.readLinear32(tss &+ 4, vcpu: state), let ss0 = mem.readLinear32(tss &+ 8, vcpu: state) else { return }
        cpu.writePhysical(MonitorLayout.tss &+ 12, 4, esp0)
        cpu.writePhysical(MonitorLayout.tss &+ 16, 4, (ss0 & 0xFFFC) | 1)
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
    override func reflect(_ e: CPUException, instead: CPUException? = nil) -> InterceptAction {
        let shown = instead ?? e
        prepareDelivery(vector: Int(shown.vector))
        if shown.vector == Vector.pf { state.cr2 = cpu.cr2 }
        log(.exception, code: UInt32(shown.vector), detail: shown.errorCode,
            outcome: "\(shown.name) reflected to the guest's handler", cycles: vm.cost.reflect)
        return instead.map { .reflect($0) } ?? .deliver
    }
}
