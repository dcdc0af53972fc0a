import X86

// The vCPU: the state the guest believes it has, kept apart from what the
// CPU really holds.  Under `native` the two are the same; under a monitor
// the guest-visible CPL, IOPL, control registers and descriptor-table
// registers live here while the CPU runs with the monitor's own.

public struct VCPU: Sendable, Equatable {
    /// The privilege level the guest believes it runs at.
    public var cpl: UInt8 = 0
    public var iopl: UInt8 = 0
    public var interruptsEnabled = false
    public var cr0: UInt32 = CR0.pe | CR0.et
    public var cr2: UInt32 = 0
    public var cr3: UInt32 = 0
    public var cr4: UInt32 = 0
    public var gdtr = TableRegister()
    public var idtr = TableRegister()
    public var ldtr: UInt16 = 0
    public var tr: UInt16 = 0

    public init() {}

    /// The guest-visible state of a CPU running natively: identical to the CPU's.
    public init(native cpu: CPU) {
        cpl = cpu.cpl
        iopl = cpu.iopl
        interruptsEnabled = cpu.interruptsEnabled
        cr0 = cpu.cr0; cr2 = cpu.cr2; cr3 = cpu.cr3; cr4 = cpu.cr4
        gdtr = cpu.gdtr; idtr = cpu.idtr
        ldtr = cpu.ldtr.selector; tr = cpu.tr.selector
    }
}
