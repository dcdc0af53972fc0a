import X86

// ELF32 for i386 (System V ABI, "ELF Object File Format"): the file header,
// program headers (PT_LOAD segments) and the symbol table.  Every offset and
// size is checked against the file before it is used: a malformed image is
// refused with a reason, never read out of bounds.

/// A reason a guest file cannot be used, phrased for "FILE: REASON".
public struct LoadError: Error, Equatable, CustomStringConvertible {
    public enum Kind: Sendable { case missing, malformed }
    public var kind: Kind
    public var path: String
    public var reason: String
    public init(_ kind: Kind, _ path: String, _ reason: String) { self.kind = kind; self.path = path; self.reason = reason }
    public var description: String { "\(path): \(reason)" }
    /// Exit status: 66 for a missing file (EX_NOINPUT), 65 for a bad one (EX_DATAERR).
    public var exitStatus: Int32 { kind == .missing ? 66 : 65 }
}

public struct Symbol: Equatable, Sendable {
    public var name: String
    public var address: UInt32
    public var size: UInt32
    public var isFunction: Bool
}

public struct LoadSegment: Equatable, Sendable {
    public var address: UInt32      // physical load address (p_paddr)
    public var bytes: [UInt8]       // file contents (p_filesz)
    public var memorySize: UInt32   // p_memsz: the rest is zero-filled
}

public struct ELFImage: Sendable {
    public var entry: UInt32
    public var segments: [LoadSegment]
    public var symbols: [Symbol]
}

/// Reads little-endian fields with bounds checks.
struct ByteReader {
    let bytes: [UInt8]
    func u8(_ o: Int) -> UInt8? { o >= 0 && o < bytes.count ? bytes[o] : nil }
    func u16(_ o: Int) -> UInt16? {
        guard o >= 0, o + 2 <= bytes.count else { return nil }
        return UInt16(bytes[o]) | UInt16(bytes[o + 1]) << 8
    }
    func u32(_ o: Int) -> UInt32? {
        guard o >= 0, o + 4 <= bytes.count else { return nil }
        return UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24
    }
    func slice(_ o: Int, _ n: Int) -> [UInt8]? {
        guard o >= 0, n >= 0, o <= bytes.count, n <= bytes.count - o else { return nil }
        return Array(bytes[o..<o + n])
    }
}

public enum ELF {
    public static func isELF(_ bytes: [UInt8]) -> Bool { bytes.starts(with: [0x7F, 0x45, 0x4C, 0x46]) }

    /// Parses an ELF32 i386 executable.  `ramSize` bounds the segments.
    public static func parse(_ bytes: [UInt8], path: String, ramSize: UInt32) throws(LoadError) -> ELFImage {
        func bad(_ why: String) -> LoadError { LoadError(.malformed, path, why) }
        let r = ByteReader(bytes: bytes)
        guard isELF(bytes) else { throw bad("not an ELF file") }
        guard bytes.count >= 52 else { throw bad("truncated ELF header (\(bytes.count) bytes, need 52)") }
        guard r.u8(4) == 1 else { throw bad("not a 32-bit ELF file (EI_CLASS \(r.u8(4)!))") }
        guard r.u8(5) == 1 else { throw bad("not a little-endian ELF file") }
        guard let type = r.u16(16), type == 2 else { throw bad("not an executable ELF file (e_type \(r.u16(16)!))") }
        guard let machine = r.u16(18), machine == 3 else { throw bad("not an i386 ELF file (e_machine \(r.u16(18)!))") }
        let entry = r.u32(24)!
        let phoff = Int(r.u32(28)!), shoff = Int(r.u32(32)!)
        let phentsize = Int(r.u16(42)!), phnum = Int(r.u16(44)!)
        let shentsize = Int(r.u16(46)!), shnum = Int(r.u16(48)!)
        guard phnum > 0 else { throw bad("no program headers") }
        guard phentsize >= 32 else { throw bad("program header entries of \(phentsize) bytes (need 32)") }
        guard phoff + phnum * phentsize <= bytes.count else { throw bad("truncated program headers") }
        var segments: [LoadSegment] = []
        for k in 0..<phnum {
            let o = phoff + k * phentsize
            guard r.u32(o) == 1 else { continue } // PT_LOAD
            let offset = Int(r.u32(o + 4)!), paddr = r.u32(o + 12)!
            let filesz = Int(r.u32(o + 16)!), memsz = r.u32(o + 20)!
            guard UInt32(clamping: filesz) <= memsz else { throw bad("segment \(k): file size larger than memory size") }
            guard let data = r.slice(offset, filesz) else { throw bad("segment \(k) extends past the end of the file (truncated?)") }
            guard UInt64(paddr) + UInt64(memsz) <= UInt64(ramSize) else {
                throw bad("segment \(k) at \(hex(paddr))-\(hex(UInt64(paddr) + UInt64(memsz))) lies outside RAM (\(ramSize >> 20) MiB)")
            }
            segments.append(LoadSegment(address: paddr, bytes: data, memorySize: memsz))
        }
        guard !segments.isEmpty else { throw bad("no loadable segments") }
        try checkOverlap(segments, bad)
        let symbols = (shoff > 0 && shnum > 0) ? readSymbols(r, shoff: shoff, shentsize: shentsize, shnum: shnum) : []
        return ELFImage(entry: entry, segments: segments, symbols: symbols)
    }

    static func checkOverlap(_ segments: [LoadSegment], _ bad: (String) -> LoadError) throws(LoadError) {
        let sorted = segments.filter { $0.memorySize > 0 }.sorted { $0.address < $1.address }
        for (a, b) in zip(sorted, sorted.dropFirst()) where UInt64(a.address) + UInt64(a.memorySize) > UInt64(b.address) {
            throw bad("segments at \(hex(a.address)) and \(hex(b.address)) overlap")
        }
    }

    /// The symbol table (SHT_SYMTAB) with its string table; malformed tables are skipped, not fatal.
    static func readSymbols(_ r: ByteReader, shoff: Int, shentsize: Int, shnum: Int) -> [Symbol] {
        guard shentsize >= 40 else { return [] }
        var out: [Symbol] = []
        for k in 0..<shnum {
            let o = shoff + k * shentsize
            guard let type = r.u32(o + 4), type == 2,   // SHT_SYMTAB
                  let off = r.u32(o + 16), let size = r.u32(o + 20), let link = r.u32(o + 24),
                  let entsize = r.u32(o + 36), entsize >= 16, Int(link) < shnum else { continue }
            let so = shoff + Int(link) * shentsize
            guard let strOff = r.u32(so + 16), let strSize = r.u32(so + 20),
                  let strtab = r.slice(Int(strOff), Int(strSize)) else { continue }
            let count = Int(size / entsize)
            for n in 1..<max(count, 1) {
                let e = Int(off) + n * Int(entsize)
                guard let nameOff = r.u32(e), let value = r.u32(e + 4), let sz = r.u32(e + 8), let info = r.u8(e + 12),
                      let shndx = r.u16(e + 14) else { break }
                let kind = info & 0xF
                guard shndx != 0, kind <= 2, Int(nameOff) < strtab.count else { continue } // NOTYPE, OBJECT, FUNC
                let end = strtab[Int(nameOff)...].firstIndex(of: 0) ?? strtab.count
                let name = String(decoding: strtab[Int(nameOff)..<end], as: UTF8.self)
                guard !name.isEmpty else { continue }
                out.append(Symbol(name: name, address: value, size: sz, isFunction: kind == 2))
            }
        }
        return out
    }
}
