// Modeled cycles per event (DESIGN.md "Cost model").  Defaults come from the
// published figures gathered in reference/virtualization.md §3.4 and §8
// (Adams & Agesen, ASPLOS 2006, on a 3.8 GHz Pentium 4 672); they are
// relative costs meant to reproduce the *shape* of the nanobenchmark table,
// not absolute times.  Every figure is a named setting a user can change.

public struct CostModel: Sendable, Equatable {
    /// An ordinary instruction.
    public var instruction: UInt64 = 1
    /// A native exception or interrupt delivered through the IDT (native pgfault ≈ 1,093; divzero ≈ 889).
    public var nativeException: UInt64 = 1_000
    /// Port I/O to a device on the bus (native `in` from port 0x80 ≈ 3,209).  Charged
    /// only on the bare machine (`modeledCycles`): under a monitor the device is virtual.
    public var portIO: UInt64 = 3_209
    /// A trap into a classical trap-and-emulate monitor and back (≈ 2,030).
    public var trap: UInt64 = 2_030
    /// A callout from translated code into the monitor (≈ 1,254).
    public var callout: UInt64 = 1_254
    /// A privileged operation emulated inline in the translation cache (≈ 216; CLI ≈ 1).
    public var inlineTC: UInt64 = 216
    /// The BT indirect-branch penalty (call/ret 51 vs 11 native).
    public var indirectBranch: UInt64 = 40
    /// A VM exit and VM entry round trip on a first-generation VT-x part (`in` ≈ 15,826).
    public var vmExit: UInt64 = 12_000
    /// Reflecting a fault into the guest under a software monitor (pgfault 3,927 − native).
    public var reflect: UInt64 = 2_800
    /// A hidden (shadow-miss) page fault.
    public var shadowFault: UInt64 = 2_000
    /// A traced guest page-table write (adaptive BT ≈ 391; trap-based ≈ 2,000+).
    public var ptWrite: UInt64 = 2_000
    /// A page-table write by an instruction adaptive BT retranslated to update
    /// the shadow itself, with no page fault (Adams & Agesen's ptemod under BT: 391).
    public var adaptivePTWrite: UInt64 = 391
    /// A hypercall round trip (int 0x82 into the hypervisor and back).
    public var hypercall: UInt64 = 1_000
    /// Translating one guest instruction into the translation cache.
    public var translate: UInt64 = 100

    public init() {}

    /// The settings by name, for `set cost NAME VALUE` and the documentation.
    nonisolated(unsafe) public static let names: [String: WritableKeyPath<CostModel, UInt64>] = [
        "instruction": \.instruction, "native-exception": \.nativeException, "port-io": \.portIO,
        "trap": \.trap, "callout": \.callout, "inline-tc": \.inlineTC, "indirect-branch": \.indirectBranch,
        "vm-exit": \.vmExit, "reflect": \.reflect, "shadow-fault": \.shadowFault, "pt-write": \.ptWrite,
        "hypercall": \.hypercall, "translate": \.translate, "adaptive-pt-write": \.adaptivePTWrite,
    ]
}

extension VirtualMachine {
    /// Modeled cycles so far: every retired instruction, every monitor event
    /// as the trap log charged it, and — on the bare machine only — every
    /// port I/O instruction at `port-io`, since there it goes out on the bus
    /// to a device.  Under a monitor the guest's devices are virtual: the
    /// trap, callout or VM exit that emulates the access is what it costs
    /// (Adams & Agesen: BT's `in` is "fifteen times faster than native").
    public var modeledCycles: UInt64 {
        machine.cpu.instructions &* cost.instruction &+ log.totalCycles &+ deviceCycles
    }

    /// The device part of `modeledCycles`.
    public var deviceCycles: UInt64 {
        guard let native = monitor as? NativeMonitor else { return 0 }
        return native.portInstructions &* cost.portIO
    }
}
