#if canImport(Glibc)
import Glibc
#endif
import X86

// Loading a guest file into a machine: multiboot (ELF or with header
// addresses), plain ELF32, or a flat binary.  Problems come back as a
// LoadError naming the file and the reason.

public struct GuestOptions: Sendable {
    public var flat = false
    public var loadAddress: UInt32 = 0x10_0000
    public var entry: UInt32?
    public var commandLine = ""
    public init() {}
}

public struct LoadedGuest: Sendable {
    public var path: String
    public var kind: String         // "multiboot", "elf", "flat"
    public var entry: UInt32
    public var symbols: [Symbol]
    public var segments: [LoadSegment]
}

public enum GuestLoader {
    /// Reads the file at `path`: missing → 66, unreadable or empty → 65.
    public static func read(_ path: String) throws(LoadError) -> [UInt8] {
        let bytes = try contents(path)
        guard !bytes.isEmpty else { throw LoadError(.malformed, path, "empty file") }
        return bytes
    }

    /// Every byte of the file at `path` (possibly none).
    public static func contents(_ path: String) throws(LoadError) -> [UInt8] {
        guard let f = fopen(path, "rb") else { throw LoadError(.missing, path, "no such file") }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&buf, 1, buf.count, f)
            if n > 0 { bytes += buf[0..<n] }
            if n < buf.count { break }
        }
        if ferror(f) != 0 { throw LoadError(.malformed, path, "cannot read the file (is it a directory?)") }
        return bytes
    }

    /// Loads `bytes` (from `path`) into `m` and sets up the CPU to start it.
    public static func load(_ bytes: [UInt8], path: String, into m: Machine, options: GuestOptions) throws(LoadError) -> LoadedGuest {
        if options.flat {
            guard UInt64(options.loadAddress) + UInt64(bytes.count) <= UInt64(m.guestSize) else {
                throw LoadError(.malformed, path, "\(bytes.count) bytes at \(hex(options.loadAddress)) do not fit in RAM")
            }
            let seg = LoadSegment(address: options.loadAddress, bytes: bytes, memorySize: UInt32(bytes.count))
            place([seg], in: m)
            let entry = options.entry ?? options.loadAddress
            m.cpu.resetFlat(entry: entry, stack: m.guestSize)
            return LoadedGuest(path: path, kind: "flat", entry: entry, symbols: [], segments: [seg])
        }
        if let header = try Multiboot.findHeader(bytes, path: path) {
            var segments: [LoadSegment], entry: UInt32, symbols: [Symbol] = []
            if header.hasAddresses {
                segments = try Multiboot.aoutSegments(bytes, header, path: path, ramSize: m.guestSize)
                entry = header.entryAddr
                if ELF.isELF(bytes), let image = try? ELF.parse(bytes, path: path, ramSize: m.guestSize) { symbols = image.symbols }
            } else {
                guard ELF.isELF(bytes) else {
                    throw LoadError(.malformed, path, "multiboot kernel is neither ELF nor gives load addresses (flags bit 16)")
                }
                let image = try ELF.parse(bytes, path: path, ramSize: m.guestSize)
                (segments, entry, symbols) = (image.segments, image.entry, image.symbols)
            }
            place(segments, in: m)
            // QEMU forms the command line as "%s %s" of the kernel path and -append (trailing space when empty).
            Multiboot.boot(m, entry: entry, commandLine: path + " " + options.commandLine, segments: segments)
            return LoadedGuest(path: path, kind: "multiboot", entry: entry, symbols: symbols, segments: segments)
        }
        guard ELF.isELF(bytes) else {
            throw LoadError(.malformed, path, "not an ELF file and no multiboot header in the first 8 KiB (use --flat for a raw binary)")
        }
        let image = try ELF.parse(bytes, path: path, ramSize: m.guestSize)
        place(image.segments, in: m)
        m.cpu.resetFlat(entry: image.entry, stack: m.guestSize)
        return LoadedGuest(path: path, kind: "elf", entry: image.entry, symbols: image.symbols, segments: image.segments)
    }

    static func place(_ segments: [LoadSegment], in m: Machine) {
        for s in segments {
            m.load(s.bytes, at: s.address)
            let zeros = Int(s.memorySize) - s.bytes.count
            if zeros > 0 { m.load([UInt8](repeating: 0, count: zeros), at: s.address + UInt32(s.bytes.count)) }
        }
    }
}
