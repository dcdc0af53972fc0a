import PC

// The guest's symbols as a debugger needs them: names to addresses for
// expressions and breakpoints, addresses to `<name+offset>` for listings,
// the section an address lies in for `info symbol`.  Read from the ELF file's
// section headers and `.symtab` (SysV ABI), because the loader's symbol list
// carries neither sections nor bindings; without an ELF file the loader's
// list is used as it is.
//
// Address → name follows gdb's minimal-symbol lookup: the nearest symbol at
// or below the address in the same allocated section; a sized symbol that
// ends before the address does not cover it; absolute symbols (NASM `equ`)
// name values, never addresses.

public struct SymbolTable: Sendable {
    public struct Section: Sendable, Equatable {
        public var name: String
        public var address: UInt32
        public var size: UInt32
        public var executable: Bool
        public func contains(_ a: UInt32) -> Bool { a >= address && UInt64(a) < UInt64(address) + UInt64(size) }
    }

    public struct Entry: Sendable, Equatable {
        public var name: String
        public var address: UInt32
        public var size: UInt32
        /// FUNC, or NOTYPE in an executable section.
        public var isFunction: Bool
        public var isGlobal: Bool
        /// Index into `sections`; nil for absolute symbols (values, not addresses).
        public var section: Int?
    }

    public private(set) var sections: [Section] = []
    public private(set) var entries: [Entry] = []
    /// Entries with a section, sorted by address (ties: the preferred name first).
    private var byAddress: [Entry] = []
    private var byName: [String: Int] = [:]

    public init() {}

    /// From an ELF32 file; falls back to `fallback` when the file is not ELF.
    public init(elf bytes: [UInt8], fallback: [Symbol] = []) {
        if !ELFReader.read(bytes, into: &self) {
            for s in fallback {
                entries.append(Entry(name: s.name, address: s.address, size: s.size, isFunction: s.isFunction,
                                     isGlobal: true, section: nil))
            }
        }
        index()
    }

    init(sections: [Section], entries: [Entry]) {
        self.sections = sections
        self.entries = entries
        index()
    }

    mutating func add(section: Section) { sections.append(section) }
    mutating func add(entry: Entry) { entries.append(entry) }

    private mutating func index() {
        for (i, e) in entries.enumerated() where byName[e.name] == nil { byName[e.name] = i }
        func rank(_ e: Entry) -> Int { (e.isFunction ? 0 : 2) + (e.isGlobal ? 0 : 1) }
        byAddress = entries.enumerated().filter { $0.element.section != nil || sections.isEmpty }
            .sorted { a, b in
                if a.element.address != b.element.address { return a.element.address < b.element.address }
                if rank(a.element) != rank(b.element) { return rank(a.element) < rank(b.element) }
                return a.offset < b.offset
            }.map(\.element)
    }

    public var isEmpty: Bool { entries.isEmpty }

    public func lookup(_ name: String) -> Entry? { byName[name].map { entries[$0] } }

    public func section(containing a: UInt32) -> Section? { sections.first { $0.contains(a) } }

    /// The symbol covering `a` and the offset into it.
    public func symbolize(_ a: UInt32) -> (entry: Entry, offset: UInt32)? {
        // Binary search: the last entry with address <= a.
        var lo = 0, hi = byAddress.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if byAddress[mid].address <= a { lo = mid + 1 } else { hi = mid }
        }
        guard lo > 0 else { return nil }
        var k = lo - 1
        // Among symbols at the same address the preferred one sorts first.
        while k > 0 && byAddress[k - 1].address == byAddress[k].address { k -= 1 }
        let e = byAddress[k]
        if !sections.isEmpty {
            guard let s = e.section, s < sections.count, sections[s].contains(a) else { return nil }
        }
        if e.size != 0 && UInt64(a) >= UInt64(e.address) + UInt64(e.size) { return nil }
        return (e, a &- e.address)
    }

    /// `name` or `name+off` (decimal offset, as gdb prints it), for `<...>`.
    public func label(_ a: UInt32, showZero: Bool = false) -> String? {
        guard let (e, off) = symbolize(a) else { return nil }
        return off == 0 && !showZero ? e.name : "\(e.name)+\(off)"
    }

    /// The function containing `a` and where it ends (its size, or the next symbol).
    public func function(containing a: UInt32) -> (entry: Entry, end: UInt32)? {
        guard let (e, _) = symbolize(a) else { return nil }
        if e.size != 0 { return (e, e.address &+ e.size) }
        var end = e.section.flatMap { $0 < sections.count ? sections[$0] : nil }
            .map { $0.address &+ $0.size } ?? e.address &+ 1
        if let next = byAddress.first(where: { $0.address > e.address }), next.address < end { end = next.address }
        return (e, end)
    }
}

/// Section headers and `.symtab` of an ELF32 file, bounds-checked.
enum ELFReader {
    static func read(_ b: [UInt8], into t: inout SymbolTable) -> Bool {
        func u16(_ o: Int) -> Int? { o >= 0 && o + 2 <= b.count ? Int(b[o]) | Int(b[o + 1]) << 8 : nil }
        func u32(_ o: Int) -> UInt32? {
            guard o >= 0, o + 4 <= b.count else { return nil }
            return UInt32(b[o]) | UInt32(b[o + 1]) << 8 | UInt32(b[o + 2]) << 16 | UInt32(b[o + 3]) << 24
        }
        func string(_ table: Int, _ size: Int, _ off: Int) -> String? {
            guard off >= 0, off < size, table + off < b.count else { return nil }
            var end = table + off
            while end < min(b.count, table + size) && b[end] != 0 { end += 1 }
            return String(decoding: b[(table + off)..<end], as: UTF8.self)
        }
        guard b.count >= 52, b.starts(with: [0x7F, 0x45, 0x4C, 0x46]), b[4] == 1 else { return false }
        guard let shoffRaw = u32(32), let shentsize = u16(46), let shnum = u16(48), let shstrndx = u16(50),
              shentsize >= 40, shnum > 0 else { return true }
        let shoff = Int(shoffRaw)
        func header(_ k: Int) -> (name: UInt32, type: UInt32, flags: UInt32, addr: UInt32, offset: UInt32, size: UInt32, link: UInt32, entsize: UInt32)? {
            let o = shoff + k * shentsize
            guard let n = u32(o), let ty = u32(o + 4), let f = u32(o + 8), let a = u32(o + 12), let off = u32(o + 16),
                  let s = u32(o + 20), let l = u32(o + 24), let es = u32(o + 36) else { return nil }
            return (n, ty, f, a, off, s, l, es)
        }
        var sectionIndex: [Int: Int] = [:]      // ELF section number -> index in t.sections
        let names = shstrndx < shnum ? header(shstrndx) : nil
        for k in 0..<shnum {
            guard let h = header(k), h.flags & 2 != 0, h.size > 0 else { continue }     // SHF_ALLOC
            let name = names.flatMap { string(Int($0.offset), Int($0.size), Int(h.name)) } ?? "?"
            sectionIndex[k] = t.sections.count
            t.add(section: SymbolTable.Section(name: name, address: h.addr, size: h.size, executable: h.flags & 4 != 0))
        }
        for k in 0..<shnum {
            guard let h = header(k), h.type == 2, h.entsize >= 16, Int(h.link) < shnum,
                  let strtab = header(Int(h.link)) else { continue }           // SHT_SYMTAB
            let count = Int(h.size / h.entsize)
            for n in 1..<max(count, 1) {
                let e = Int(h.offset) + n * Int(h.entsize)
                guard let nameOff = u32(e), let value = u32(e + 4), let size = u32(e + 8), e + 16 <= b.count,
                      let shndx = u16(e + 14) else { break }
                let info = b[e + 12]
                let kind = info & 0xF, binding = info >> 4
                guard kind <= 2, shndx != 0,
                      let name = string(Int(strtab.offset), Int(strtab.size), Int(nameOff)), !name.isEmpty else { continue }
                var section: Int? = nil
                if shndx != 0xFFF1 {                           // SHN_ABS: a value, not an address
                    guard let s = sectionIndex[shndx] else { continue }
                    section = s
                }
                let executable = section.map { t.sections[$0].executable } ?? false
                t.add(entry: SymbolTable.Entry(name: name, address: value, size: size,
                                               isFunction: kind == 2 || (kind == 0 && executable),
                                               isGlobal: binding != 0, section: section))
            }
        }
        return true
    }
}
