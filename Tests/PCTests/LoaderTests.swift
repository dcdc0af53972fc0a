// The guest loaders (DESIGN.md "Guest machine contract", Boot): multiboot v1
// as `qemu-system-i386 -kernel` hands over (ELF and a.out-kludge images),
// plain ELF32, flat binaries, ELF symbols, and every malformed file refused
// with a LoadError that names the file and the problem.
//
// The expected multiboot state was read from QEMU 7.2 with
// tests/guests/mbinfo.asm (`qemu-system-i386 -kernel mbinfo.bin -m 32`).
// Test images are built here, byte by byte; nothing external runs.

#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import PC
import X86

// MARK: - Building test images

/// Little-endian byte helpers.
func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
func put32(_ bytes: inout [UInt8], _ offset: Int, _ v: UInt32) {
    for k in 0..<4 { bytes[offset + k] = UInt8((v >> (8 * UInt32(k))) & 0xFF) }
}
func put16(_ bytes: inout [UInt8], _ offset: Int, _ v: UInt16) {
    bytes[offset] = UInt8(v & 0xFF); bytes[offset + 1] = UInt8(v >> 8)
}
func get32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
    (0..<4).reduce(0) { $0 | UInt32(bytes[offset + $1]) << (8 * UInt32($1)) }
}

/// A minimal ELF32 i386 executable: header, program headers, segment data,
/// and optionally .symtab/.strtab with their section headers.
struct TestELF {
    struct Segment { var type: UInt32 = 1; var paddr: UInt32; var data: [UInt8]; var memsz: UInt32? = nil }
    struct Sym { var name: String; var value: UInt32; var size: UInt32 = 0; var info: UInt8 = 0x12; var shndx: UInt16 = 1 }
    var entry: UInt32 = 0x10_0000
    var segments: [Segment] = []
    var symbols: [Sym] = []
    var elfClass: UInt8 = 1, dataEncoding: UInt8 = 1, type: UInt16 = 2, machine: UInt16 = 3

    static let phoff = 52
    /// File offset of each segment's data.
    var dataOffsets: [Int] {
        var o = (TestELF.phoff + 32 * segments.count + 15) & ~15
        return segments.map { s in defer { o += s.data.count }; return o }
    }

    func bytes() -> [UInt8] {
        let offsets = dataOffsets
        var body: [UInt8] = []
        var out = [UInt8](repeating: 0, count: offsets.first ?? (TestELF.phoff + 32 * segments.count))
        for s in segments { body += s.data }
        out += body
        // Symbol and string tables, then the section headers: null, .symtab (link 2), .strtab.
        var shoff = 0, shnum = 0
        if !symbols.isEmpty {
            var strtab: [UInt8] = [0], symtab = [UInt8](repeating: 0, count: 16)
            for s in symbols {
                let name = UInt32(strtab.count)
                strtab += Array(s.name.utf8) + [0]
                symtab += le32(name) + le32(s.value) + le32(s.size) + [s.info, 0] + le16(s.shndx)
            }
            while out.count % 4 != 0 { out.append(0) }
            let symOff = out.count
            out += symtab
            let strOff = out.count
            out += strtab
            while out.count % 4 != 0 { out.append(0) }
            shoff = out.count
            shnum = 3
            out += [UInt8](repeating: 0, count: 40)
            out += le32(0) + le32(2) + le32(0) + le32(0) + le32(UInt32(symOff)) + le32(UInt32(symtab.count))
                + le32(2) + le32(1) + le32(4) + le32(16)
            out += le32(0) + le32(3) + le32(0) + le32(0) + le32(UInt32(strOff)) + le32(UInt32(strtab.count))
                + le32(0) + le32(0) + le32(1) + le32(0)
        }
        // File header.
        var h: [UInt8] = [0x7F, 0x45, 0x4C, 0x46, elfClass, dataEncoding, 1, 0] + [UInt8](repeating: 0, count: 8)
        h += le16(type) + le16(machine) + le32(1) + le32(entry) + le32(UInt32(TestELF.phoff)) + le32(UInt32(shoff))
        h += le32(0) + le16(52) + le16(32) + le16(UInt16(segments.count)) + le16(40) + le16(UInt16(shnum)) + le16(0)
        out.replaceSubrange(0..<52, with: h)
        for (k, s) in segments.enumerated() {
            let ph = le32(s.type) + le32(UInt32(offsets[k])) + le32(s.paddr) + le32(s.paddr)
                + le32(UInt32(s.data.count)) + le32(s.memsz ?? UInt32(s.data.count)) + le32(5) + le32(16)
            out.replaceSubrange(TestELF.phoff + 32 * k ..< TestELF.phoff + 32 * (k + 1), with: ph)
        }
        return out
    }
}

/// A multiboot v1 header; with `addresses`, flags bit 16 and the five address fields.
func multibootHeader(flags: UInt32 = 0, checksum: UInt32? = nil,
                     addresses: (header: UInt32, load: UInt32, loadEnd: UInt32, bssEnd: UInt32, entry: UInt32)? = nil) -> [UInt8] {
    let f = addresses == nil ? flags : flags | 0x1_0000
    var h = le32(Multiboot.headerMagic) + le32(f) + le32(checksum ?? (0 &- Multiboot.headerMagic &- f))
    if let a = addresses { h += le32(a.header) + le32(a.load) + le32(a.loadEnd) + le32(a.bssEnd) + le32(a.entry) }
    return h
}

/// The repository root, from this file's path (Tests/PCTests/LoaderTests.swift).
let repositoryRoot: String = {
    var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)
    return parts.joined(separator: "/")
}()

/// demos/build/*.elf, sorted.
func demoImages() -> [String] {
    let dir = repositoryRoot + "/demos/build"
    guard let d = opendir(dir) else { return [] }
    defer { closedir(d) }
    var names: [String] = []
    while let e = readdir(d) {
        let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if name.hasSuffix(".elf") { names.append(dir + "/" + name) }
    }
    return names.sorted()
}

/// A scratch directory for files the tests create.
func scratchDirectory() -> String {
    var template = Array("/tmp/ringside-loader-XXXXXX".utf8CString)
    guard let p = mkdtemp(&template) else { return "/tmp" }
    return String(cString: p)
}

func writeFile(_ path: String, _ bytes: [UInt8]) {
    let f = fopen(path, "wb")!
    _ = bytes.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count, f) }
    fclose(f)
}

/// Guest-physical access for the tests (host-physical guestBase + address).
extension Machine {
    subscript(guest a: UInt32) -> UInt8 {
        get { ram[Int(guestBase) + Int(a)] }
        set { ram[Int(guestBase) + Int(a)] = newValue }
    }
    func u32(_ a: UInt32) -> UInt32 { get32(bytes(a, 4), 0) }
    func bytes(_ a: UInt32, _ n: Int) -> [UInt8] { (0..<n).map { self[guest: a + UInt32($0)] } }
    func cString(_ a: UInt32) -> String {
        var s: [UInt8] = []
        var p = a
        while p < guestSize, self[guest: p] != 0, s.count < 4096 { s.append(self[guest: p]); p += 1 }
        return String(decoding: s, as: UTF8.self)
    }
}

/// Loads `bytes` into a fresh standard PC.
func load(_ bytes: [UInt8], path: String = "test.elf", memoryMiB: Int = 32,
          _ configure: (inout GuestOptions) -> Void = { _ in }) throws(LoadError) -> (Machine, LoadedGuest) {
    let m = Machine.standardPC(memoryMiB: memoryMiB)
    var options = GuestOptions()
    configure(&options)
    let g = try GuestLoader.load(bytes, path: path, into: m, options: options)
    return (m, g)
}

/// The LoadError from loading `bytes`, or nil when they load.
func loadError(_ bytes: [UInt8], path: String = "bad.elf", memoryMiB: Int = 32,
               _ configure: (inout GuestOptions) -> Void = { _ in }) -> LoadError? {
    do throws(LoadError) { _ = try load(bytes, path: path, memoryMiB: memoryMiB, configure); return nil } catch { return error }
}

/// A multiboot ELF kernel at 1 MiB: header, then `code`, then `bss` bytes of bss.
func multibootELF(code: [UInt8] = [0xFA, 0xF4], bss: UInt32 = 0x2345) -> TestELF {
    let data = multibootHeader() + code
    var e = TestELF(entry: 0x10_000C)
    e.segments = [.init(paddr: 0x10_0000, data: data, memsz: UInt32(data.count) + bss)]
    return e
}

// MARK: - Multiboot

@Suite("Loader: multiboot v1 as qemu-system-i386 -kernel")
struct MultibootLoaderTests {

    @Test("ELF kernel: EAX = 0x2BADB002, EBX = MBI, flat CS 0x08 / data 0x10, CR0 = 0x11, IF = 0, paging off")
    func bootState() throws {
        let (m, g) = try load(multibootELF().bytes(), path: "/boot/kernel.elf") { $0.commandLine = "console=ttyS0 quiet" }
        let c = m.cpu
        #expect(g.kind == "multiboot")
        #expect(g.entry == 0x10_000C)
        #expect(c.eax == 0x2BAD_B002)
        #expect(c.ebx == 0x9500)
        #expect(c.eip == 0x10_000C)
        #expect(c.cr0 == 0x11)
        #expect(c.cr0 & 0x8000_0000 == 0)           // PG
        #expect(!c.interruptsEnabled)
        #expect(c.eflags == 0x6)                    // as QEMU's option ROM leaves them (PF set)
        #expect(c.cpl == 0)
        #expect(c.esp == 0x6F08)
        for r in [Reg.ecx, Reg.edx, Reg.ebp, Reg.esi, Reg.edi] { #expect(c.regs[r] == 0) }
        #expect(c.segs[Seg.cs] == SegmentCache.flat(selector: 0x08, code: true))
        #expect(c.segs[Seg.cs].base == 0 && c.segs[Seg.cs].limit == 0xFFFF_FFFF && c.segs[Seg.cs].big)
        for s in [Seg.ds, Seg.es, Seg.fs, Seg.gs, Seg.ss] {
            #expect(c.segs[s] == SegmentCache.flat(selector: 0x10, code: false))
        }
        // The GDT the selectors came from is in memory, as QEMU's option ROM has it.
        #expect(c.gdtr == TableRegister(base: 0xC_A2B8, limit: 0x27))
        #expect(c.idtr == TableRegister(base: 0, limit: 0x3FF))
        #expect(m.u32(0xC_A2B8 + 8) == 0x0000_FFFF && m.u32(0xC_A2B8 + 12) == 0x00CF_9A00)
        #expect(m.u32(0xC_A2B8 + 16) == 0x0000_FFFF && m.u32(0xC_A2B8 + 20) == 0x00CF_9200)
    }

    @Test("MBI: flags 0x24F, mem_lower 639, mem_upper, boot_device, cmdline \"PATH ARGS\", loader name, no modules")
    func infoFields() throws {
        let e = multibootELF()
        let (m, _) = try load(e.bytes(), path: "/boot/kernel.elf") { $0.commandLine = "console=ttyS0 quiet" }
        let mbi: UInt32 = 0x9500
        #expect(m.u32(mbi) == 0x24F)                       // mem, boot_device, cmdline, mods, mmap, loader name
        #expect(m.u32(mbi + 4) == 639)                     // mem_lower (KiB): SeaBIOS keeps 1 KiB for the EBDA
        #expect(m.u32(mbi + 8) == 0x7B80)                  // mem_upper: 32 MiB - 1 MiB - 128 KiB
        #expect(m.u32(mbi + 12) == 0x8000_FFFF)            // boot_device
        // The command line follows the kernel (1 MiB + its size rounded up to 4 KiB), as QEMU's mb_buf.
        let cmdAddr = m.u32(mbi + 16)
        #expect(cmdAddr == 0x10_0000 + ((e.segments[0].memsz! + 0xFFF) & ~0xFFF))
        #expect(m.cString(cmdAddr) == "/boot/kernel.elf console=ttyS0 quiet")
        #expect(m.u32(mbi + 20) == 0)                      // mods_count
        #expect(m.u32(mbi + 24) == cmdAddr)                // mods_addr
        #expect(m.u32(mbi + 64) == cmdAddr + UInt32("/boot/kernel.elf console=ttyS0 quiet".utf8.count) + 1)
        #expect(m.cString(m.u32(mbi + 64)) == "qemu")
    }

    @Test("Without --append the command line is \"PATH \" (QEMU's \"%s %s\" with an empty second string)")
    func emptyCommandLine() throws {
        let (m, _) = try load(multibootELF().bytes(), path: "k.elf")
        #expect(m.cString(m.u32(0x9500 + 16)) == "k.elf ")
    }

    /// (base, length, type) of each memory-map entry at the MBI's mmap_addr.
    func memoryMap(_ m: Machine) -> [(UInt64, UInt64, UInt32)] {
        let length = m.u32(0x9500 + 44), addr = m.u32(0x9500 + 48)
        var out: [(UInt64, UInt64, UInt32)] = []
        var p = addr
        while p < addr + length {
            #expect(m.u32(p) == 20)
            out.append((UInt64(m.u32(p + 4)) | UInt64(m.u32(p + 8)) << 32,
                        UInt64(m.u32(p + 12)) | UInt64(m.u32(p + 16)) << 32, m.u32(p + 20)))
            p += m.u32(p) + 4
        }
        return out
    }

    @Test("Memory map: SeaBIOS's e820 map at 0x9000, six 24-byte entries (32 MiB and 128 MiB)",
          arguments: [(32, UInt32(0x7B80)), (128, UInt32(0x1_FB80))])
    func memoryMapEntries(mib: Int, memUpper: UInt32) throws {
        let (m, _) = try load(multibootELF().bytes(), memoryMiB: mib)
        let ram = UInt64(mib) << 20
        #expect(m.u32(0x9500 + 48) == 0x9000)
        #expect(m.u32(0x9500 + 44) == 6 * 24)
        let map = memoryMap(m)
        let want: [(UInt64, UInt64, UInt32)] = [
            (0, 0x9_FC00, 1), (0x9_FC00, 0x400, 2), (0xF_0000, 0x1_0000, 2),
            (0x10_0000, ram - 0x12_0000, 1), (ram - 0x2_0000, 0x2_0000, 2), (0xFFFC_0000, 0x4_0000, 2)]
        #expect(map.count == want.count)
        for (a, b) in zip(map, want) { #expect(a == b) }
        #expect(m.u32(0x9500 + 8) == memUpper)
        // mem_upper is the first usable region above 1 MiB, in KiB.
        #expect(UInt64(memUpper) << 10 == map[3].1)
    }

    @Test("Segments are copied to p_paddr and the rest of p_memsz is zeroed")
    func segmentsPlaced() throws {
        let code: [UInt8] = [0x90, 0x90, 0xFA, 0xF4]
        var e = multibootELF(code: code, bss: 0x100)
        e.segments.append(.init(paddr: 0x20_0000, data: [1, 2, 3, 4, 5], memsz: 0x1000))
        let m = Machine.standardPC()
        for k: UInt32 in 0..<0x2000 { m[guest: 0x10_0000 + k] = 0xAA; m[guest: 0x20_0000 + k] = 0xAA }
        let g = try GuestLoader.load(e.bytes(), path: "k", into: m, options: GuestOptions())
        #expect(g.segments.count == 2)
        #expect(m.bytes(0x10_000C, 4) == code)
        #expect(m.bytes(0x10_0010, 0x100) == [UInt8](repeating: 0, count: 0x100))
        #expect(m.bytes(0x20_0000, 5) == [1, 2, 3, 4, 5])
        #expect(m.bytes(0x20_0005, 0x1000 - 5) == [UInt8](repeating: 0, count: 0x1000 - 5))
        #expect(m[guest: 0x10_0010 + 0x100] == 0xAA)     // nothing beyond p_memsz
        #expect(m[guest: 0x10_0FFF] == 0xAA)
        #expect(m.cString(0x20_1000) == "k ")         // the command line follows the last segment
    }

    @Test("Under a monitor (guest RAM above guestBase) everything lands at guest-physical addresses, nothing below")
    func aboveGuestBase() throws {
        let m = Machine.standardPC(memoryMiB: 32, guestBase: 0x10_0000)
        let e = multibootELF(code: [0x90, 0xF4])
        _ = try GuestLoader.load(e.bytes(), path: "k.elf", into: m, options: GuestOptions())
        #expect(m.bytes(0x10_000C, 2) == [0x90, 0xF4])
        #expect(m.u32(0x9500) == 0x24F && m.u32(0x9500 + 8) == 0x7B80)
        #expect(m.cString(m.u32(0x9500 + 16)) == "k.elf ")
        #expect(allZero(m.ram, Int(m.guestBase)))
        // Segments are bounded by the guest's RAM, not by the host memory behind it.
        var high = TestELF(entry: 0x1FF_0000)
        high.segments = [.init(paddr: 0x1FF_0000, data: [0xF4], memsz: 0x2_0000)]
        #expect(loadError(high.bytes(), memoryMiB: 32)?.reason.contains("outside RAM") == true)
        do throws(LoadError) {
            _ = try GuestLoader.load(high.bytes(), path: "high.elf", into: m, options: GuestOptions())
            Issue.record("a segment past guest RAM loaded")
        } catch { #expect(error.reason.contains("outside RAM")) }
    }

    @Test("Header found 4-byte aligned in the first 8 KiB; not at 8 KiB, not misaligned")
    func headerPosition() throws {
        // At file offset 8140 (QEMU scans up to 8192 - 48): found, with its address fields.
        let at = 8140
        var raw = [UInt8](repeating: 0x90, count: at)
        raw += multibootHeader(addresses: (header: 0x10_0000 + UInt32(at), load: 0x10_0000, loadEnd: 0, bssEnd: 0, entry: 0x10_0000))
        raw += [UInt8](repeating: 0x90, count: 64)
        let h = try Multiboot.findHeader(raw, path: "k")
        #expect(h?.offset == at && h?.hasAddresses == true && h?.headerAddr == 0x10_0000 + UInt32(at))
        let (m, g) = try load(raw)
        #expect(g.segments.first?.address == 0x10_0000 && m.bytes(0x10_0000, raw.count) == raw)
        // At 8192: not a multiboot image.
        var late = [UInt8](repeating: 0x90, count: 8192) + multibootHeader()
        #expect(try Multiboot.findHeader(late, path: "k") == nil)
        // Misaligned: not found either.
        late = [0x90, 0x90] + multibootHeader() + [0, 0]
        #expect(try Multiboot.findHeader(late, path: "k") == nil)
    }

    @Test("a.out kludge (flags bit 16): load_addr/load_end_addr/bss_end_addr/entry_addr from the header")
    func aoutKludge() throws {
        // 0x20 bytes of preamble, the header at file offset 0x20, code after it.
        var raw = [UInt8](repeating: 0xCC, count: 0x20)
        raw += multibootHeader(addresses: (header: 0x20_0020, load: 0x20_0000, loadEnd: 0, bssEnd: 0x20_2000, entry: 0x20_0040))
        while raw.count < 0x40 { raw.append(0x90) }
        raw += [0xFA, 0xF4]
        let m = Machine.standardPC()
        for k: UInt32 in 0..<0x3000 { m[guest: 0x20_0000 + k] = 0xAA }
        let g = try GuestLoader.load(raw, path: "k.bin", into: m, options: GuestOptions())
        #expect(g.kind == "multiboot")
        #expect(g.segments == [LoadSegment(address: 0x20_0000, bytes: raw, memorySize: 0x2000)])
        #expect(m.bytes(0x20_0000, raw.count) == raw)
        #expect(m.bytes(0x20_0000 + UInt32(raw.count), 0x2000 - raw.count) == [UInt8](repeating: 0, count: 0x2000 - raw.count))
        #expect(m[guest: 0x20_2000 + 0x800] == 0xAA)     // beyond bss_end_addr and the command line: untouched
        #expect(m.cpu.eip == 0x20_0040 && m.cpu.eax == 0x2BAD_B002 && m.cpu.ebx == 0x9500)
        // The command line follows the kernel: 0x200000 + 0x2000.
        #expect(m.u32(0x9500 + 16) == 0x20_2000)
        #expect(m.cString(0x20_2000) == "k.bin ")
    }

    @Test("a.out kludge with load_end_addr: only that much of the file is loaded; the text may start after the file start")
    func aoutLoadEnd() throws {
        // The header is at file offset 8 but header_addr - load_addr = 4: the load starts at file offset 4.
        var raw: [UInt8] = [0xEE, 0xEE, 0xEE, 0xEE, 0x11, 0x22, 0x33, 0x44]
        raw += multibootHeader(addresses: (header: 0x30_0004, load: 0x30_0000, loadEnd: 0x30_0010, bssEnd: 0, entry: 0x30_0000))
        raw += [UInt8](repeating: 0x55, count: 64)
        let (m, g) = try load(raw)
        #expect(g.segments.count == 1)
        #expect(g.segments[0].address == 0x30_0000 && g.segments[0].memorySize == 0x10)
        #expect(g.segments[0].bytes == Array(raw[4..<0x14]))
        #expect(m.bytes(0x30_0000, 4) == [0x11, 0x22, 0x33, 0x44])
    }

    @Test("An ELF file with flags bit 16 is loaded by its header addresses (QEMU checks the flag first), keeping its symbols")
    func elfWithAddresses() throws {
        var e = TestELF(entry: 0x10_0000)
        let body = multibootHeader(addresses: (header: 0x40_0000, load: 0x40_0000, loadEnd: 0, bssEnd: 0, entry: 0x40_0020))
            + [UInt8](repeating: 0x90, count: 8)
        e.segments = [.init(paddr: 0x10_0000, data: body)]
        e.symbols = [.init(name: "start", value: 0x40_0020)]
        let bytes = e.bytes()
        let (m, g) = try load(bytes)
        #expect(g.entry == 0x40_0020 && m.cpu.eip == 0x40_0020)
        #expect(g.segments[0].address == 0x40_0000)
        #expect(g.segments[0].bytes == Array(bytes[e.dataOffsets[0]...]))
        #expect(g.symbols.map(\.name) == ["start"])
    }
}

// MARK: - Plain ELF and flat binaries

@Suite("Loader: plain ELF32 and flat binaries")
struct PlainLoaderTests {

    @Test("Plain ELF32: entry in flat protected mode, registers 0, ESP = top of RAM, EFLAGS = 0x2")
    func plainELF() throws {
        var e = TestELF(entry: 0x10_0004)
        e.segments = [.init(paddr: 0x10_0000, data: [0x90, 0x90, 0x90, 0x90, 0xF4])]
        let (m, g) = try load(e.bytes(), memoryMiB: 16)
        let c = m.cpu
        #expect(g.kind == "elf" && g.entry == 0x10_0004)
        #expect(c.eip == 0x10_0004)
        #expect(c.esp == 16 << 20)
        #expect(c.eflags == 0x2)
        #expect(c.cr0 == 0x11 && c.cpl == 0)
        for r in [Reg.eax, Reg.ebx, Reg.ecx, Reg.edx, Reg.ebp, Reg.esi, Reg.edi] { #expect(c.regs[r] == 0) }
        #expect(c.segs[Seg.cs].base == 0 && c.segs[Seg.cs].limit == 0xFFFF_FFFF && c.segs[Seg.cs].isCode)
        #expect(c.segs[Seg.ss].base == 0 && c.segs[Seg.ss].limit == 0xFFFF_FFFF && c.segs[Seg.ss].writable)
        #expect(m.bytes(0x10_0000, 5) == [0x90, 0x90, 0x90, 0x90, 0xF4])
        #expect(m.u32(0x9500) == 0)                   // no multiboot information
    }

    @Test("Flat binary: copied to --load-address, started at --entry (default: the load address)")
    func flat() throws {
        let code: [UInt8] = [0xB8, 0x78, 0x56, 0x34, 0x12, 0xF4]
        let (m, g) = try load(code, path: "t.bin") { $0.flat = true; $0.loadAddress = 0x7000; $0.entry = 0x7005 }
        #expect(g.kind == "flat" && g.entry == 0x7005 && g.symbols.isEmpty)
        #expect(m.bytes(0x7000, code.count) == code)
        #expect(m.cpu.eip == 0x7005 && m.cpu.esp == 32 << 20 && m.cpu.eflags == 0x2 && m.cpu.cpl == 0)
        let (m2, g2) = try load(code, path: "t.bin") { $0.flat = true; $0.loadAddress = 0x8000 }
        #expect(g2.entry == 0x8000 && m2.cpu.eip == 0x8000)
        // --flat wins over what the bytes look like: a multiboot ELF loads as raw bytes.
        let elf = multibootELF().bytes()
        let (m3, g3) = try load(elf) { $0.flat = true; $0.loadAddress = 0x1000 }
        #expect(g3.kind == "flat" && m3.bytes(0x1000, elf.count) == elf && m3.cpu.eax == 0)
    }

    @Test("Flat binary that does not fit: refused", arguments: [UInt32(0x1FF_FFFF), 0xFFFF_FFF0, 0x200_0000])
    func flatOutsideRAM(at: UInt32) {
        let e = loadError([0x90, 0x90, 0xF4], path: "t.bin") { $0.flat = true; $0.loadAddress = at }
        #expect(e?.kind == .malformed)
        #expect(e?.reason.contains("do not fit in RAM") == true)
        // Exactly at the end: fits.
        #expect(loadError([0xF4], path: "t.bin") { $0.flat = true; $0.loadAddress = 0x1FF_FFFF } == nil)
    }
}

// MARK: - Symbols

@Suite("Loader: ELF symbol tables")
struct SymbolTests {

    @Test("Symbols from .symtab/.strtab: names, values, sizes, FUNC vs OBJECT; undefined and section symbols skipped")
    func synthetic() throws {
        var e = TestELF(entry: 0x10_0000)
        e.segments = [.init(paddr: 0x10_0000, data: [0xF4])]
        e.symbols = [.init(name: "kmain", value: 0x10_0000, size: 12, info: 0x12),
                     .init(name: "counter", value: 0x10_1000, size: 4, info: 0x11),
                     .init(name: "label", value: 0x10_0008, info: 0x00),
                     .init(name: "undefined", value: 0, info: 0x10, shndx: 0),
                     .init(name: "section", value: 0, info: 0x03)]
        let image = try ELF.parse(e.bytes(), path: "k", ramSize: 32 << 20)
        #expect(image.symbols == [Symbol(name: "kmain", address: 0x10_0000, size: 12, isFunction: true),
                                  Symbol(name: "counter", address: 0x10_1000, size: 4, isFunction: false),
                                  Symbol(name: "label", address: 0x10_0008, size: 0, isFunction: false)])
    }

    @Test("demos/build/hello.elf: _start is the entry point; every demo has its symbols")
    func demos() throws {
        let hello = repositoryRoot + "/demos/build/hello.elf"
        let bytes = try GuestLoader.read(hello)
        let (_, g) = try load(bytes, path: hello)
        #expect(g.kind == "multiboot")
        #expect(g.symbols.first { $0.name == "_start" }?.address == g.entry)
        #expect(g.entry == 0x10_0010)
        #expect(g.symbols.contains { $0.name == "message" && $0.address == 0x10_0040 })
        let images = demoImages()
        #expect(images.count >= 5)
        for path in images {
            let g = try load(try GuestLoader.read(path), path: path).1
            #expect(g.symbols.count > 5, "\(path)")
            #expect(g.symbols.contains { $0.name == "_start" && $0.address == g.entry }, "\(path)")
        }
        let kernel = try load(try GuestLoader.read(repositoryRoot + "/demos/build/minikernel.elf")).1
        #expect(kernel.symbols.contains { $0.name == "console_write" && $0.isFunction })
    }
}

// MARK: - Malformed and missing files

@Suite("Loader: malformed and missing guest files")
struct MalformedLoaderTests {

    /// A good two-segment multiboot ELF to break in various ways.
    static func good() -> TestELF {
        var e = multibootELF()
        e.segments.append(.init(paddr: 0x20_0000, data: [1, 2, 3, 4], memsz: 0x100))
        return e
    }

    static func patched(_ f: (inout [UInt8]) -> Void) -> [UInt8] { var b = good().bytes(); f(&b); return b }
    static var ph1: Int { TestELF.phoff + 32 }

    static let cases: [(String, [UInt8], String)] = [
        ("not ELF, no multiboot header", Array("#!/bin/sh\necho hello\n".utf8), "not an ELF file"),
        ("truncated ELF header", Array(good().bytes().prefix(30)), "truncated ELF header"),
        ("truncated program headers", Array(good().bytes().prefix(TestELF.phoff + 40)), "truncated program headers"),
        ("segment past EOF", patched { put32(&$0, ph1 + 16, 0x10_0000); put32(&$0, ph1 + 20, 0x10_0000) }, "extends past the end of the file"),
        ("segment offset past EOF", patched { put32(&$0, ph1 + 4, 0xFFFF_FFF0) }, "extends past the end of the file"),
        ("segment outside RAM", patched { put32(&$0, ph1 + 12, 0x1FF_FFF0) }, "lies outside RAM"),
        ("segment wrapping past 4 GiB", patched { put32(&$0, ph1 + 12, 0xFFFF_FFF0) }, "lies outside RAM"),
        ("overlapping segments", patched { put32(&$0, ph1 + 12, 0x10_0010) }, "overlap"),
        ("file size above memory size", patched { put32(&$0, ph1 + 20, 2) }, "file size larger than memory size"),
        ("bad multiboot checksum", patched { $0[good().dataOffsets[0] + 8] ^= 1 }, "bad checksum"),
        ("multiboot video mode (flags bit 2)", {
            var e = good(); e.segments[0].data.replaceSubrange(0..<12, with: multibootHeader(flags: 1 << 2)); return e.bytes()
        }(), "unsupported features"),
        ("multiboot unknown flag bit 15", {
            var e = good(); e.segments[0].data.replaceSubrange(0..<12, with: multibootHeader(flags: 1 << 15)); return e.bytes()
        }(), "unsupported features"),
        ("64-bit ELF", { var e = good(); e.elfClass = 2; return e.bytes() }(), "not a 32-bit ELF"),
        ("big-endian ELF", { var e = good(); e.dataEncoding = 2; return e.bytes() }(), "not a little-endian ELF"),
        ("relocatable ELF", { var e = good(); e.type = 1; return e.bytes() }(), "not an executable ELF"),
        ("x86-64 machine", { var e = good(); e.machine = 62; return e.bytes() }(), "not an i386 ELF"),
        ("no program headers", patched { put16(&$0, 44, 0) }, "no program headers"),
        ("short program header entries", patched { put16(&$0, 42, 16) }, "program header entries of 16 bytes"),
        ("no PT_LOAD segment", patched { put32(&$0, TestELF.phoff, 4); put32(&$0, ph1, 6) }, "no loadable segments"),
        ("multiboot header, neither ELF nor addresses", [0x90, 0x90, 0x90, 0x90] + multibootHeader() + [0xF4], "neither ELF nor gives load addresses"),
        ("a.out: load_addr above header_addr",
         multibootHeader(addresses: (header: 0x10_0000, load: 0x10_1000, loadEnd: 0, bssEnd: 0, entry: 0x10_0000)), "load_addr above header_addr"),
        ("a.out: addresses before the file",
         multibootHeader(addresses: (header: 0x10_1000, load: 0x10_0000, loadEnd: 0, bssEnd: 0, entry: 0x10_0000)), "point before the file"),
        ("a.out: load_end_addr past the file",
         multibootHeader(addresses: (header: 0x10_0000, load: 0x10_0000, loadEnd: 0x10_1000, bssEnd: 0, entry: 0x10_0000)), "load_end_addr beyond the file"),
        ("a.out: load_end_addr below load_addr",
         multibootHeader(addresses: (header: 0x10_0000, load: 0x10_0000, loadEnd: 0x0F_0000, bssEnd: 0, entry: 0x10_0000)), "load_end_addr beyond the file"),
        ("a.out: bss outside RAM",
         multibootHeader(addresses: (header: 0x10_0000, load: 0x10_0000, loadEnd: 0, bssEnd: 0x400_0000, entry: 0x10_0000)), "outside RAM"),
        ("a.out: kernel at the top of the address space",
         multibootHeader(addresses: (header: 0xFFFF_FFF0, load: 0xFFFF_FFF0, loadEnd: 0, bssEnd: 0, entry: 0xFFFF_FFF0)), "outside RAM"),
        ("a.out: kernel crossing 4 GiB (once an arithmetic overflow trap)",
         multibootHeader(addresses: (header: 0xFFFF_F000, load: 0xFFFF_F000, loadEnd: 0, bssEnd: 0, entry: 0xFFFF_F000))
            + [UInt8](repeating: 0x90, count: 0x1100), "outside RAM"),
        ("a.out: truncated header", Array(multibootHeader(addresses: (header: 0, load: 0, loadEnd: 0, bssEnd: 0, entry: 0)).prefix(20)),
         "truncated multiboot header"),
    ]

    @Test("Malformed images: LoadError .malformed, one line \"PATH: REASON\", exit status 65",
          arguments: cases.indices)
    func malformed(index: Int) {
        let (name, bytes, reason) = Self.cases[index]
        let error = loadError(bytes, path: "guests/bad.elf")
        #expect(error != nil, "\(name) loaded")
        guard let error else { return }
        #expect(error.kind == .malformed, "\(name)")
        #expect(error.path == "guests/bad.elf")
        #expect(error.reason.contains(reason), "\(name): \(error.reason)")
        #expect(error.description == "guests/bad.elf: \(error.reason)")
        #expect(!error.description.contains("\n"))
        #expect(error.exitStatus == 65)
    }

    @Test("The good image the malformed cases start from loads")
    func goodLoads() throws {
        let (_, g) = try load(Self.good().bytes())
        #expect(g.segments.count == 2)
    }

    @Test("Empty file and directory: .malformed (65); missing file: .missing (66)")
    func files() throws {
        let dir = scratchDirectory()
        defer { rmdir(dir) }
        let empty = dir + "/empty.elf"
        writeFile(empty, [])
        defer { unlink(empty) }
        #expect(throws: LoadError(.malformed, empty, "empty file")) { try GuestLoader.read(empty) }
        do throws(LoadError) { _ = try GuestLoader.read(dir); Issue.record("a directory was read") } catch {
            #expect(error.kind == .malformed && error.path == dir && error.exitStatus == 65)
            #expect(error.reason.contains("directory"))
        }
        let missing = dir + "/no-such-kernel.elf"
        do throws(LoadError) { _ = try GuestLoader.read(missing); Issue.record("a missing file was read") } catch {
            #expect(error.kind == .missing && error.path == missing && error.exitStatus == 66)
            #expect(error.description == "\(missing): no such file")
        }
        // A real file reads back byte for byte.
        let good = dir + "/good.elf"
        let bytes = Self.good().bytes()
        writeFile(good, bytes)
        defer { unlink(good) }
        #expect(try GuestLoader.read(good) == bytes)
    }
}
