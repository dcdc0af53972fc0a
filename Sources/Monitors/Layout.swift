import X86

// Where a software monitor keeps things (the trap technique; bt shares it).
//
//   host-physical                         linear (every address space)
//   0x0000_0000  shadow page directory    0xFF80_0000  the same 8 MiB, mapped
//   0x0000_1000  shadow page-table pool   ...          supervisor-only through two
//   0x0041_0000  monitor GDT (64 KiB)     0xFFFF_FFFF  4 MiB pages
//   0x0042_0000  monitor IDT (2 KiB)
//   0x0042_1000  monitor TSS
//   0x0043_0000  shadow LDT (64 KiB)
//   0x0044_0000  bt: the vCPU area (guest CR0-CR4 for inline reads)
//   0x0045_0000  bt: the return table (64 Ki slots, 256 KiB)
//   0x0050_0000  bt: the translation cache (3 MiB)
//   0x0080_0000  guest-physical 0 ... guest RAM
//
// Guest-physical memory starts at host-physical 8 MiB, so it is not
// identity-mapped and translation has real work to do.  Paging cannot keep a
// ring-1 guest kernel out of the monitor window (CPL 1 counts as supervisor),
// so every guest segment is truncated to end below it, as VMware's monitor
// did; SGDT and SIDT then reveal the window's high addresses (the "red pill").

public enum MonitorLayout {
    public static let guestBase: UInt32 = 0x0080_0000
    public static let shadowPD: UInt32 = 0x0000_0000
    public static let ptPoolStart: UInt32 = 0x0000_1000
    public static let ptPoolEnd: UInt32 = 0x0041_0000
    public static let gdt: UInt32 = 0x0041_0000
    public static let gdtEntries = 8192
    public static let idt: UInt32 = 0x0042_0000
    public static let tss: UInt32 = 0x0042_1000
    public static let ldt: UInt32 = 0x0043_0000
    /// `bt`: the vCPU area translated code reads (CR n at offset 4 n) and the translation cache.
    public static let vcpuArea: UInt32 = 0x0044_0000
    public static let returnTable: UInt32 = 0x0045_0000
    public static let tcStart: UInt32 = 0x0050_0000
    public static let tcEnd: UInt32 = 0x0080_0000
    /// Linear address of host-physical 0 in the monitor window.
    public static let window: UInt32 = 0xFF80_0000
    /// The highest offset a guest segment may reach.
    public static let segmentCeiling: UInt32 = window - 1
    /// Monitor selectors at the top of the GDT (as Xen keeps its own in a reserved area).
    public static let tssSelector: UInt16 = UInt16((gdtEntries - 2) * 8)
    public static let ldtSelector: UInt16 = UInt16((gdtEntries - 3) * 8)
    /// `bt`: the code segment translated code runs in (flat, DPL 1, so it reaches the cache).
    public static let tcSelector: UInt16 = UInt16((gdtEntries - 4) * 8)
    /// Guest descriptors the monitor GDT can hold below its own.
    public static let guestGDTEntries = gdtEntries - 4

    public static func linear(ofHost host: UInt32) -> UInt32 { window &+ host }
}
