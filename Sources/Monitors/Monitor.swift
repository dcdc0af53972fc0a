import PC
import X86

// A monitor owns the CPU's intercept points while a guest runs (the
// exception, instruction and system-register intercepts of X86/CPU.swift)
// and keeps the guest-visible vCPU.  The CPU never knows which monitor is
// installed: each technique is a policy over the same faithful CPU.

public protocol Monitor: AnyObject {
    var technique: Technique { get }
    /// Installs the monitor's intercepts and turns the loader's native
    /// hand-off state (the CPU as `qemu -kernel` leaves it) into the
    /// technique's real CPU state.
    func boot(_ vm: VirtualMachine)
    /// What the guest believes its CPU state is.
    var vcpu: VCPU { get }
    /// Guest-physical → host-physical, nil outside guest RAM.
    func hostPhysical(_ guestPhysical: UInt32) -> UInt32?
    /// Bytes at a guest-linear address as the guest kernel would read them
    /// (through the guest's own page tables), without side effects.
    func guestBytes(linear: UInt32, count: Int) -> [UInt8]?
    /// The guest linear address for a linear address the CPU executes at
    /// (under `bt`, a translation-cache address maps back to guest code).
    func guestLinear(ofReal linear: UInt32) -> UInt32
    /// The addresses the CPU must stop at for breakpoints at these guest addresses.
    func realBreakpoints(_ guest: Set<UInt32>) -> Set<UInt32>
    /// Does a guest instruction start at this real address? (Stepping stops only there.)
    func isGuestBoundary(real linear: UInt32) -> Bool
    /// The debugger sets the guest's EIP; true when the monitor did it (under
    /// `bt` the CPU goes to the new address's translation).
    func setGuestEIP(_ eip: UInt32) -> Bool
}

extension Monitor {
    public func guestLinear(ofReal linear: UInt32) -> UInt32 { linear }
    public func realBreakpoints(_ guest: Set<UInt32>) -> Set<UInt32> { guest }
    public func isGuestBoundary(real linear: UInt32) -> Bool { true }
    public func setGuestEIP(_ eip: UInt32) -> Bool { false }
}

/// `native`: no monitor work, guest-physical = host-physical, vCPU = CPU.
public final class NativeMonitor: Monitor {
    public let technique = Technique.native
    unowned(unsafe) var vm: VirtualMachine?
    /// Port I/O instructions executed: on the bare machine each one goes out
    /// on the I/O bus to a device (CostModel.portIO; VirtualMachine.modeledCycles).
    public private(set) var portInstructions: UInt64 = 0
    public init() {}
    public func boot(_ vm: VirtualMachine) {
        self.vm = vm
        // Count them without changing them: the intercept only looks.
        vm.machine.cpu.instructionIntercept = { [unowned self] _, _ in self.portInstructions &+= 1; return false }
        vm.machine.cpu.interceptTraits = [.io]
        // Count native exceptions in the trap log too, so `compare` can put them side by side.
        vm.machine.cpu.exceptionIntercept = { [unowned vm] cpu, e in
            vm.log.append(TrapEvent(time: vm.machine.now, technique: .native, kind: .exception,
                                    code: UInt32(e.vector), detail: e.errorCode, eip: cpu.eip,
                                    instruction: vm.instructionText(at: cpu.eip), guestCPL: cpu.cpl, realCPL: cpu.cpl,
                                    outcome: "delivered through the IDT", cycles: vm.cost.nativeException))
            return .deliver
        }
    }
    public var vcpu: VCPU { vm.map { VCPU(native: $0.machine.cpu) } ?? VCPU() }
    public func hostPhysical(_ gpa: UInt32) -> UInt32? {
        guard let vm, gpa < vm.machine.ramSize else { return nil }
        return gpa
    }
    public func guestBytes(linear: UInt32, count: Int) -> [UInt8]? {
        guard let cpu = vm?.machine.cpu else { return nil }
        var out: [UInt8] = []
        for k in 0..<count {
            let w = cpu.walk(linear &+ UInt32(k))
            let phys = cpu.pagingEnabled ? w.physical : linear &+ UInt32(k)
            guard let p = phys, p < cpu.ramSize else { return out.isEmpty ? nil : out }
            out.append(UInt8(cpu.readPhysical(p, 1)))
        }
        return out
    }
}
