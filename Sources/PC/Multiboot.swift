import X86

// Multiboot v1 (Multiboot Specification 0.6.96), as `qemu-system-i386
// -kernel` implements it.  The header — magic 0x1BADB002, flags, checksum
// with magic + flags + checksum = 0 — lies 4-byte aligned in the first
// 8 KiB.  Flags bit 16 means the header carries load addresses (the "a.out
// kludge"); otherwise the file must be ELF32.  On entry: EAX = 0x2BADB002,
// EBX = physical address of the multiboot information structure, CS/DS/ES/
// FS/GS/SS flat 4 GiB, CR0.PE = 1, paging off, IF = 0.

public struct MultibootHeader: Equatable, Sendable {
    public var offset: Int
    public var flags: UInt32
    public var headerAddr: UInt32 = 0, loadAddr: UInt32 = 0, loadEndAddr: UInt32 = 0
    public var bssEndAddr: UInt32 = 0, entryAddr: UInt32 = 0
    public var hasAddresses: Bool { flags & (1 << 16) != 0 }
}

public enum Multiboot {
    public static let headerMagic: UInt32 = 0x1BAD_B002
    public static let bootMagic: UInt32 = 0x2BAD_B002
    /// Where QEMU 7.2's multiboot option ROM leaves its GDT (GDTR 0x000CA2B8/0x27),
    /// the memory map (0x9000) and the information structure (0x9500).
    public static let gdtAddress: UInt32 = 0xC_A2B8
    public static let mmapAddress: UInt32 = 0x9000
    public static let infoAddress: UInt32 = 0x9500
    /// ESP and EFLAGS as the option ROM leaves them (observed under QEMU 7.2; ESP is undefined by the spec).
    public static let bootStack: UInt32 = 0x6F08
    public static let bootEFLAGS: UInt32 = 0x0000_0006

    /// Finds the header; nil when there is none, an error when one is malformed.
    public static func findHeader(_ bytes: [UInt8], path: String) throws(LoadError) -> MultibootHeader? {
        let r = ByteReader(bytes: bytes)
        var o = 0
        while o + 12 <= min(bytes.count, 8192) {
            if r.u32(o) == headerMagic {
                let flags = r.u32(o + 4)!, sum = r.u32(o + 8)!
                guard headerMagic &+ flags &+ sum == 0 else {
                    throw LoadError(.malformed, path, "multiboot header at offset \(o) has a bad checksum")
                }
                var h = MultibootHeader(offset: o, flags: flags)
                if h.hasAddresses {
                    guard let a = r.u32(o + 12), let b = r.u32(o + 16), let c = r.u32(o + 20),
                          let d = r.u32(o + 24), let e = r.u32(o + 28) else {
                        throw LoadError(.malformed, path, "truncated multiboot header")
                    }
                    (h.headerAddr, h.loadAddr, h.loadEndAddr, h.bssEndAddr, h.entryAddr) = (a, b, c, d, e)
                }
                // Bits 0-15 ask for boot-loader features; bit 2 (video mode) and unknown bits 3-15 cannot be honoured.
                if flags & 0xFFFC != 0 {
                    throw LoadError(.malformed, path, "multiboot header asks for unsupported features (flags \(hex(flags)))")
                }
                return h
            }
            o += 4
        }
        return nil
    }

    /// The segments of a kernel with the address fields (flags bit 16).
    public static func aoutSegments(_ bytes: [UInt8], _ h: MultibootHeader, path: String, ramSize: UInt32) throws(LoadError) -> [LoadSegment] {
        func bad(_ why: String) -> LoadError { LoadError(.malformed, path, why) }
        guard h.loadAddr <= h.headerAddr else { throw bad("multiboot load_addr above header_addr") }
        let fileStart = h.offset - Int(h.headerAddr - h.loadAddr)
        guard fileStart >= 0 else { throw bad("multiboot header addresses point before the file") }
        let end = h.loadEndAddr == 0 ? bytes.count - fileStart : Int(h.loadEndAddr) - Int(h.loadAddr)
        guard end >= 0, fileStart + end <= bytes.count else { throw bad("multiboot load_end_addr beyond the file (truncated?)") }
        let memEnd = max(UInt64(h.bssEndAddr), UInt64(h.loadAddr) + UInt64(end))
        guard memEnd <= UInt64(ramSize) else { throw bad("kernel at \(hex(h.loadAddr))-\(hex(memEnd)) lies outside RAM") }
        return [LoadSegment(address: h.loadAddr, bytes: Array(bytes[fileStart..<fileStart + end]), memorySize: UInt32(memEnd) - h.loadAddr)]
    }

    /// Writes the boot GDT and the multiboot information structure and puts
    /// the CPU in the hand-off state, as `qemu-system-i386 -kernel` (QEMU 7.2
    /// with SeaBIOS) leaves them: checked field by field with
    /// tests/guests/mbinfo.asm under both.  The command line and the boot
    /// loader name follow the kernel image, at its lowest address plus its
    /// size rounded up to 4 KiB (QEMU's mb_buf layout).
    public static func boot(_ m: Machine, entry: UInt32, commandLine: String, segments: [LoadSegment] = []) {
        // GDT as QEMU's multiboot option ROM builds it: 0x08 flat code, 0x10 flat data, 0x18/0x20 16-bit.
        let gdt: [UInt32] = [0, 0, 0x0000_FFFF, 0x00CF_9A00, 0x0000_FFFF, 0x00CF_9200,
                             0x0000_FFFF, 0x0000_9A00, 0x0000_FFFF, 0x0000_9200]
        m.load(gdt.flatMap(le32), at: gdtAddress)
        let cpu = m.cpu
        cpu.resetFlat(entry: entry, stack: bootStack)
        cpu.setEFLAGS(bootEFLAGS)
        cpu.segs[Seg.cs] = .flat(selector: 0x08, code: true)
        for s in [Seg.ds, Seg.es, Seg.fs, Seg.gs, Seg.ss] { cpu.segs[s] = .flat(selector: 0x10, code: false) }
        cpu.gdtr = TableRegister(base: gdtAddress, limit: 0x27)
        cpu.idtr = TableRegister(base: 0, limit: 0x3FF)

        // SeaBIOS's e820 map: 639 KiB of base memory (the EBDA takes the last KiB), the BIOS
        // at 0xF0000, 128 KiB reserved at the top of RAM, the flash at 4 GiB - 256 KiB.
        let ram = UInt64(m.guestSize), top = ram > 0x12_0000 ? ram - 0x2_0000 : ram
        var regions: [(UInt64, UInt64, UInt32)] = [(0, 0x9_FC00, 1), (0x9_FC00, 0x400, 2), (0xF_0000, 0x1_0000, 2)]
        if top > 0x10_0000 { regions.append((0x10_0000, top - 0x10_0000, 1)) }
        if top < ram { regions.append((top, ram - top, 2)) }
        regions.append((0xFFFC_0000, 0x4_0000, 2))
        var mmap: [UInt8] = []
        for (base, length, type) in regions {
            mmap += le32(20) + le32(UInt32(truncatingIfNeeded: base)) + le32(UInt32(base >> 32))
            mmap += le32(UInt32(truncatingIfNeeded: length)) + le32(UInt32(length >> 32)) + le32(type)
        }

        let low = segments.map(\.address).min() ?? 0x10_0000
        let high = segments.map { UInt64($0.address) + UInt64($0.memorySize) }.max() ?? UInt64(low)
        let cmdAddr = UInt32(truncatingIfNeeded: UInt64(low) + ((high - UInt64(low) + 0xFFF) & ~0xFFF))
        let cmd = Array(commandLine.utf8) + [0]
        let nameAddr = cmdAddr &+ UInt32(cmd.count)
        // flags: mem_* (0), boot_device (1), cmdline (2), mods (3), mmap_* (6), boot_loader_name (9).
        var info = [UInt32](repeating: 0, count: 22)
        info[0] = (1 << 0) | (1 << 1) | (1 << 2) | (1 << 3) | (1 << 6) | (1 << 9)
        info[1] = 639
        info[2] = UInt32((max(top, 0x10_0000) - 0x10_0000) >> 10)
        info[3] = 0x8000_FFFF
        info[4] = cmdAddr
        info[5] = 0                 // mods_count
        info[6] = cmdAddr           // mods_addr: the (empty) module list sits where the command line starts
        info[11] = UInt32(mmap.count)
        info[12] = mmapAddress
        info[16] = nameAddr
        m.load(mmap, at: mmapAddress)
        m.load(info.flatMap(le32), at: infoAddress)
        m.load(cmd, at: cmdAddr)
        // The boot loader name QEMU reports, so that a guest printing it sees the same.
        m.load(Array("qemu".utf8) + [0], at: nameAddr)
        cpu.eax = bootMagic
        cpu.ebx = infoAddress
    }
}

@inline(__always) func le32(_ v: UInt32) -> [UInt8] {
    [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF), UInt8((v >> 16) & 0xFF), UInt8(v >> 24)]
}
