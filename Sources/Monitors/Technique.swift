// The five ways to run a guest (DESIGN.md "The five techniques").

public enum Technique: String, CaseIterable, Sendable {
    /// The bare emulated PC: the reference behaviour.
    case native
    /// Trap-and-emulate with ring compression: kernel at CPL 1, privileged
    /// instructions fault into the monitor, sensitive-unprivileged ones do not.
    case trap
    /// Binary translation after VMware: kernel code runs from a translation cache.
    case bt
    /// Hardware-assisted after Intel VT-x: VMX non-root operation, VM exits, EPT.
    case vtx
    /// Paravirtual after Xen: a modified kernel calls the hypervisor.
    case pv

    /// One line for `help technique` and the TUI's status line.
    public var summary: String {
        switch self {
        case .native: return "the bare emulated PC (reference behaviour)"
        case .trap: return "trap-and-emulate with ring compression (guest kernel at CPL 1)"
        case .bt: return "binary translation of kernel code, after VMware"
        case .vtx: return "hardware-assisted virtualization, after Intel VT-x with EPT"
        case .pv: return "paravirtualization, after Xen (hypercalls through int 0x82)"
        }
    }
}
