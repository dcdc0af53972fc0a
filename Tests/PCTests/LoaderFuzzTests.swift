// Fuzzing the guest loaders with mutated demo images (demos/build/*.elf):
// byte flips, truncations, and header fields overwritten with extreme values.
// Every mutant must either load or be refused with a LoadError — never trap
// — and a successful load must keep every segment inside RAM.  The mutants
// come from a seeded generator: the same run every time.

#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import PC
import X86

/// SplitMix64 (Steele, Lea & Flood 2014): small, fast, deterministic.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// True when the `count` bytes at `p` are all zero (memcmp: fast in a debug build too).
func allZero(_ p: UnsafeMutablePointer<UInt8>, _ count: Int) -> Bool {
    let zeros = [UInt8](repeating: 0, count: count)
    return zeros.withUnsafeBytes { memcmp(p, $0.baseAddress!, count) == 0 }
}

/// Where the interesting fields of an ELF32 image are (from the unmutated image).
struct ELFFieldMap {
    var fields32: [Int] = []        // offsets of 32-bit fields
    var fields16: [Int] = []        // offsets of 16-bit fields
    var multiboot: Int?             // offset of the multiboot header

    init(_ b: [UInt8]) {
        func u32(_ o: Int) -> Int { o + 4 <= b.count ? Int(get32(b, o)) : 0 }
        func u16(_ o: Int) -> Int { o + 2 <= b.count ? Int(b[o]) | Int(b[o + 1]) << 8 : 0 }
        fields32 = [24, 28, 32]                     // e_entry, e_phoff, e_shoff
        fields16 = [42, 44, 46, 48, 50]             // e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx
        let phoff = u32(28), phnum = u16(44), shoff = u32(32), shnum = u16(48)
        for k in 0..<phnum where phoff + 32 * (k + 1) <= b.count {
            let o = phoff + 32 * k
            fields32 += [o, o + 4, o + 8, o + 12, o + 16, o + 20]   // type, offset, vaddr, paddr, filesz, memsz
        }
        for k in 0..<shnum where shoff + 40 * (k + 1) <= b.count {
            let o = shoff + 40 * k
            fields32 += [o + 4, o + 16, o + 20, o + 24, o + 36]     // type, offset, size, link, entsize
        }
        var o = 0
        while o + 12 <= min(b.count, 8192) {
            if get32(b, o) == Multiboot.headerMagic { multiboot = o; break }
            o += 4
        }
    }
}

@Suite("Loader fuzzing")
struct LoaderFuzzTests {
    static let extremes: [UInt32] = [0, 1, 2, 3, 4, 0x10, 0x20, 0x28, 0x34, 0xFFF, 0x1000, 0xFFFF, 0x1_0000,
                                     0x10_0000, 0x1FF_FFFF, 0x200_0000, 0x7FFF_FFFF, 0x8000_0000,
                                     0xFFFF_0000, 0xFFFF_8000, 0xFFFF_E000, 0xFFFF_F000, 0xFFFF_FFF0,
                                     0xFFFF_FFFC, 0xFFFF_FFFF]

    /// One mutant of `image`.
    static func mutate(_ image: [UInt8], _ map: ELFFieldMap, _ rng: inout SplitMix64) -> [UInt8] {
        var b = image
        func extreme() -> UInt32 {
            switch rng.next() % 4 {
            case 0: return UInt32(truncatingIfNeeded: rng.next())
            case 1: return UInt32(b.count) &+ UInt32(truncatingIfNeeded: Int(rng.next() % 9) - 4)
            default: return extremes[Int(rng.next() % UInt64(extremes.count))]
            }
        }
        let rounds = 1 + Int(rng.next() % 3)
        for _ in 0..<rounds {
            switch rng.next() % 8 {
            case 0, 1:      // flip a few bits anywhere
                for _ in 0..<(1 + rng.next() % 8) where !b.isEmpty {
                    b[Int(rng.next() % UInt64(b.count))] ^= UInt8(1 << (rng.next() % 8))
                }
            case 2:         // random bytes in the headers
                for _ in 0..<(1 + rng.next() % 4) where !b.isEmpty {
                    b[Int(rng.next() % UInt64(min(b.count, 0x200)))] = UInt8(truncatingIfNeeded: rng.next())
                }
            case 3:         // truncate
                if !b.isEmpty { b.removeLast(b.count - Int(rng.next() % UInt64(b.count + 1))) }
            case 4, 5:      // a 32-bit header field
                let o = map.fields32[Int(rng.next() % UInt64(map.fields32.count))]
                if o + 4 <= b.count { put32(&b, o, extreme()) }
            case 6:         // a 16-bit header field
                let o = map.fields16[Int(rng.next() % UInt64(map.fields16.count))]
                if o + 2 <= b.count { put16(&b, o, UInt16(truncatingIfNeeded: extreme())) }
            default:        // the multiboot header: flags (with a valid checksum) and the a.out address fields
                guard let h = map.multiboot, h + 32 <= b.count else { break }
                var flags = get32(b, h + 4)
                switch rng.next() % 3 {
                case 0: flags |= 0x1_0000
                case 1: flags ^= UInt32(1) << (rng.next() % 32)
                default: break
                }
                put32(&b, h + 4, flags)
                if rng.next() % 8 != 0 { put32(&b, h + 8, 0 &- Multiboot.headerMagic &- flags) }
                if rng.next() % 3 == 0 {
                    // Consistent a.out addresses (the file loads from offset 0) at an extreme load address.
                    let load = extreme()
                    put32(&b, h + 12, load &+ UInt32(h))
                    put32(&b, h + 16, load)
                    put32(&b, h + 20, rng.next() % 2 == 0 ? 0 : load &+ UInt32(rng.next() % UInt64(b.count + 1)))
                    put32(&b, h + 24, rng.next() % 2 == 0 ? 0 : extreme())
                    break
                }
                for k in 0..<5 where rng.next() % 2 == 0 {
                    // Mostly near the real load address, sometimes anywhere.
                    let near = 0x10_0000 &+ UInt32(rng.next() % 0x3000) &- 0x100
                    put32(&b, h + 12 + 4 * k, rng.next() % 3 == 0 ? extreme() : near)
                }
            }
        }
        return b
    }

    @Test("20,000+ mutants of demos/build/*.elf: each loads or throws LoadError; loads stay inside guest RAM")
    func fuzz() throws {
        let images = demoImages()
        #expect(images.count >= 5, "demo images in demos/build")
        // Guest RAM above 1 MiB of host memory that stands for a monitor's: no load may touch it.
        let machine = Machine.standardPC(memoryMiB: 32, guestBase: 0x10_0000)
        var rng = SplitMix64(seed: 0x52_696E_6773_6964)   // "Ringsid"
        var loaded = 0, refused = 0, total = 0
        var reasons: [String: Int] = [:]
        let perImage = (20_400 + images.count - 1) / max(images.count, 1)
        for path in images {
            let image = try GuestLoader.read(path)
            let map = ELFFieldMap(image)
            for _ in 0..<perImage {
                let mutant = Self.mutate(image, map, &rng)
                var options = GuestOptions()
                options.commandLine = "fuzz"
                total += 1
                do throws(LoadError) {
                    let g = try GuestLoader.load(mutant, path: path, into: machine, options: options)
                    loaded += 1
                    for s in g.segments {
                        #expect(UInt64(s.address) + UInt64(s.memorySize) <= UInt64(machine.guestSize))
                        #expect(s.bytes.count <= Int(s.memorySize))
                    }
                    // And again through the parser alone, when it is an ELF file.
                    if ELF.isELF(mutant), let image = try? ELF.parse(mutant, path: path, ramSize: machine.guestSize) {
                        for s in image.segments { #expect(UInt64(s.address) + UInt64(s.memorySize) <= UInt64(machine.guestSize)) }
                    }
                } catch {
                    refused += 1
                    #expect(error.kind == .malformed)
                    #expect(error.path == path && !error.reason.isEmpty && !error.description.contains("\n"))
                    // Count reasons without their numbers, to see that the fuzzer reaches many checks.
                    let key = String(error.reason.prefix { !$0.isNumber })
                    reasons[key, default: 0] += 1
                }
            }
        }
        #expect(total >= 20_000)
        #expect(allZero(machine.ram, Int(machine.guestBase)), "a load wrote below guest RAM")
        #expect(loaded > 500 && refused > 5_000, "loaded \(loaded), refused \(refused)")
        // The mutations reach the different refusals, not just one.
        #expect(reasons.count >= 8, "\(reasons.keys.sorted())")
    }

    @Test("Truncating demo images at every length (hello.elf) or every 7th (minikernel.elf): never a trap")
    func everyTruncation() throws {
        let machine = Machine.standardPC(memoryMiB: 32)
        for (name, stride) in [("hello.elf", 1), ("minikernel.elf", 7)] {
            let path = repositoryRoot + "/demos/build/" + name
            let image = try GuestLoader.read(path)
            // Where the last PT_LOAD segment's file bytes end: shorter cuts must be refused.
            let phoff = Int(get32(image, 28)), phnum = Int(image[44]) | Int(image[45]) << 8
            let dataEnd = (0..<phnum).map { Int(get32(image, phoff + 32 * $0 + 4)) + Int(get32(image, phoff + 32 * $0 + 16)) }.max()!
            for n in Swift.stride(from: 0, through: image.count, by: stride) {
                do throws(LoadError) {
                    _ = try GuestLoader.load(Array(image.prefix(n)), path: path, into: machine, options: GuestOptions())
                    #expect(n >= dataEnd, "\(name) cut to \(n) bytes loaded")
                } catch {
                    #expect(error.kind == .malformed)
                }
            }
        }
    }
}
