import PC
import X86

// What the software monitors share (`trap`, `pv`): the guest kernel really
// runs at CPL 1 and its user code at CPL 3, guest RAM sits at host-physical
// MonitorLayout.guestBase, the monitor keeps its own GDT, IDT and TSS
// (ShadowTables) in the monitor window, and the CPU walks shadow page
// tables (ShadowMMU) built from the guest's.  Each technique subclasses it
// with its own policy for privileged operations: `trap` emulates the
// instructions that fault, `pv` answers hypercalls.

public class DeprivilegedMonitor: Monitor {
    public let technique: Technique
    /// The guest's control and table registers, as it set them (or asked for them).
    var state = VCPU()
    unowned(unsafe) var vm: VirtualMachine!
    var cpu: CPU { vm.machine.cpu }
    var mem: GuestMemory!
    var shadow: ShadowMMU!
    var tables: ShadowTables!
    private var source: InjectingSource?

    init(technique: Technique) { self.technique = technique }

    /// What the guest believes its CPU state is (each technique refines it).
    public var vcpu: VCPU { state }
    public func boot(_ vm: VirtualMachine) { fatalError("subclass") }

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

    public func guestLinear(ofReal linear: UInt32) -> UInt32 { linear }
    public func realBreakpoints(_ guest: Set<UInt32>) -> Set<UInt32> { guest }
    public func isGuestBoundary(real linear: UInt32) -> Bool { true }
    public func setGuestEIP(_ eip: UInt32) -> Bool { false }

    /// The CPL written into the trap log as the guest's.
    var guestCPL: UInt8 { cpu.cpl }

    /// Guest memory, the shadow MMU and the monitor tables; real paging on
    /// through the empty shadow directory (CR0.WP, so ring-1 writes obey
    /// read-only shadow pages).  `state` must hold the guest's registers.
    func setUpMemory(_ vm: VirtualMachine) {
        self.vm = vm
        let cpu = vm.machine.cpu
        mem = GuestMemory(cpu: cpu, base: vm.machine.guestBase, size: vm.machine.guestSize)
        shadow = ShadowMMU(cpu: cpu, mem: mem)
        tables = ShadowTables(cpu: cpu)
        shadow.reset()
        cpu.cr4 = CR4.pse | (state.cr4 & CR4.tsd)
        cpu.cr3 = MonitorLayout.shadowPD
        cpu.cr0 = CR0.pe | CR0.et | CR0.pg | CR0.wp | (state.cr0 & (CR0.mp | CR0.em | CR0.ts | CR0.ne))
        cpu.flushTLB(global: true)
    }

    /// The monitor's TSS as the CPU's task register.  Its I/O-map base
    /// (offset 0x66) points past the limit: no permission bitmap, so every
    /// IN and OUT at CPL 1 > IOPL 0 faults into the monitor (SDM Vol. 1
    /// §19.5.2).  Left at 0, the TSS's own bytes would be the bitmap and
    /// grant ports 0-0x337 wherever they happen to be zero.
    func loadMonitorTR() {
        cpu.writePhysical(MonitorLayout.tss &+ 0x66, 2, 0x68)
        if let d = try? cpu.descriptor(MonitorLayout.tssSelector) {
            cpu.tr = d.cache
            cpu.tr.selector = MonitorLayout.tssSelector
        }
    }

    /// The machine's PIC goes to the CPU through an InjectingSource that asks this monitor.
    func wireInterrupts() {
        if let pic = vm.machine.pic {
            let s = InjectingSource(pic: pic, monitor: self)
            source = s
            cpu.interrupts = s
        }
    }

    /// May a pending PIC request be delivered now? (`pv`: only when the guest's event mask allows.)
    func eventsDeliverable(_ picPending: Bool) -> Bool { picPending }
    /// The CPU acknowledged `vector` and is about to deliver it to the guest.
    func injecting(vector: UInt8) {}
    /// The instruction at `eip` wrote a guest page table through a trace (`bt` adapts to it).
    func pageTableWritten(at eip: UInt32) {}
    /// A write hit a page of translated code (`bt` makes it and drops the translations).
    func codePageWritten(frame: UInt32, at lin: UInt32) -> InterceptAction { .handled }

    // ---- The trap log ----

    func log(_ kind: EventKind, code: UInt32? = nil, detail: UInt32? = nil, eip: UInt32? = nil, text: String? = nil,
             outcome: String, cycles: UInt64) {
        let at = eip ?? cpu.eip
        vm.log.append(TrapEvent(time: vm.machine.now, technique: technique, kind: kind, code: code, detail: detail, eip: at,
                                instruction: text ?? vm.instructionText(at: at), guestCPL: guestCPL, realCPL: cpu.cpl,
                                outcome: outcome, cycles: cycles))
    }

    /// Delivers a fault to the guest through its handler (the monitor IDT's gate for it).
    func reflect(_ e: CPUException, instead: CPUException? = nil) -> InterceptAction {
        fatalError("subclass")
    }
}

/// The machine's PIC as the CPU sees it under a monitor: the monitor decides
/// whether a request may be delivered, and each acknowledged interrupt is
/// logged as an injection and prepared for delivery to the guest.
final class InjectingSource: InterruptSource {
    let pic: PIC8259
    unowned let monitor: DeprivilegedMonitor
    init(pic: PIC8259, monitor: DeprivilegedMonitor) { self.pic = pic; self.monitor = monitor }
    var interruptPending: Bool { monitor.eventsDeliverable(pic.interruptPending) }
    func acknowledgeInterrupt() -> UInt8 {
        let v = pic.acknowledgeInterrupt()
        monitor.injecting(vector: v)
        monitor.log(.injection, code: UInt32(v), outcome: "IRQ vector \(v) injected through the guest's \(monitor.technique == .pv ? "trap table" : "IDT")",
                    cycles: monitor.vm.cost.reflect)
        return v
    }
}
