import X86

// gdb's output formats, as pure functions of values: what `print`,
// `x`, `info registers` and stop reports look like.  References are gdb's
// printcmd.c and valprint.c behaviour:
//  - /x /t pad to the unit size only in `x` (a size is given), /z always;
//    /o is a 0 followed by the digits; /d /u decimal; /c `65 'A'`;
//    /a `0x100010 <kmain+4>`.
//  - `x` prints 8 units a line for b and h, 4 for w, 2 for g, one string or
//    instruction a line; each line starts `ADDR <sym+off>:` and a tab
//    precedes every unit.
//  - Strings: C escapes, runs of more than 10 equal characters as
//    `'c' <repeats N times>`, at most 200 characters then `...`.
//  - Flags registers as QEMU's i386 target description defines them for
//    gdb: fields from the high bit down, multi-bit fields as NAME=value:
//    `[ IOPL=0 IF ZF PF ]`, `[ PG ET PE ]`, `[ PDBR=261 PCID=0 ]`.

public enum GDBFormat {
    /// Reads guest memory for the string a `char *` points to (nil: unreadable).
    public typealias MemoryReader = (_ address: UInt32, _ count: Int) -> [UInt8]?

    static let printElements = 200
    static let repeatThreshold = 10

    // MARK: - Integers

    /// One integer in a format letter.  `pad` zero-pads hex and binary to the size (the `x` command).
    public static func integer(_ bits: UInt64, size: Int, signed: Bool, letter: Character, pad: Bool = false) -> String {
        let mask: UInt64 = size >= 8 ? ~0 : (1 << (UInt64(size) * 8)) - 1
        let u = bits & mask
        let s: Int64 = size >= 8 ? Int64(bitPattern: u) : Int64(bitPattern: u << UInt64(64 - size * 8)) >> Int64(64 - size * 8)
        switch letter {
        case "x": return "0x" + padded(String(u, radix: 16), pad ? size * 2 : 0)
        case "z": return "0x" + padded(String(u, radix: 16), size * 2)
        case "t": return padded(String(u, radix: 2), pad ? size * 8 : 0)
        case "o": return u == 0 ? "0" : "0" + String(u, radix: 8)
        case "d": return String(s)
        case "u": return String(u)
        case "c": return character(UInt8(truncatingIfNeeded: u), signed: true)
        default: return signed ? String(s) : String(u)
        }
    }

    static func padded(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    /// `65 'A'` — a char value as gdb prints it (signed: bytes above 127 are negative).
    public static func character(_ b: UInt8, signed: Bool) -> String {
        let n = signed ? String(Int8(bitPattern: b)) : String(b)
        return n + " " + charLiteral(b)
    }

    /// `'A'`, `'\n'`, `'\000'`.
    public static func charLiteral(_ b: UInt8) -> String {
        if b == 0x27 { return "'\\''" }
        return "'" + escaped(b, quote: 0x27) + "'"
    }

    static func escaped(_ b: UInt8, quote: UInt8) -> String {
        switch b {
        case 7: return "\\a"
        case 8: return "\\b"
        case 9: return "\\t"
        case 10: return "\\n"
        case 11: return "\\v"
        case 12: return "\\f"
        case 13: return "\\r"
        case 27: return "\\033"
        case 0x5C: return "\\\\"
        case quote: return "\\" + String(UnicodeScalar(b))
        case 0x20...0x7E: return String(UnicodeScalar(b))
        default:
            let o = String(b, radix: 8)
            return "\\" + String(repeating: "0", count: 3 - o.count) + o
        }
    }

    /// A string as gdb prints it: `"Hello\r\n"`, repeats folded, `...` when cut at the limit.
    public static func string(_ bytes: [UInt8], truncated: Bool) -> String {
        var parts: [String] = []
        var run = ""
        var i = 0
        while i < bytes.count {
            var j = i
            while j < bytes.count && bytes[j] == bytes[i] { j += 1 }
            let reps = j - i
            if reps > repeatThreshold {
                if !run.isEmpty { parts.append("\"" + run + "\""); run = "" }
                parts.append(charLiteral(bytes[i]) + " <repeats \(reps) times>")
                i = j
            } else {
                run += escaped(bytes[i], quote: 0x22)
                i += 1
            }
        }
        if !run.isEmpty || parts.isEmpty { parts.append("\"" + run + "\"") }
        return parts.joined(separator: ", ") + (truncated ? "..." : "")
    }

    /// `0x100010 <kmain+4>` (gdb's print_address), or the bare address.
    public static func address(_ a: UInt32, _ symbols: SymbolTable) -> String {
        "0x" + String(a, radix: 16) + (symbols.label(a).map { " <\($0)>" } ?? "")
    }

    // MARK: - Flags

    /// QEMU's field lists, high bit first: (name, low bit, width).
    static let flagFields: [FlagsKind: [(String, Int, Int)]] = [
        .eflags: [("ID", 21, 1), ("VIP", 20, 1), ("VIF", 19, 1), ("AC", 18, 1), ("VM", 17, 1), ("RF", 16, 1),
                  ("NT", 14, 1), ("IOPL", 12, 2), ("OF", 11, 1), ("DF", 10, 1), ("IF", 9, 1), ("TF", 8, 1),
                  ("SF", 7, 1), ("ZF", 6, 1), ("AF", 4, 1), ("PF", 2, 1), ("CF", 0, 1)],
        .cr0: [("PG", 31, 1), ("CD", 30, 1), ("NW", 29, 1), ("AM", 18, 1), ("WP", 16, 1), ("NE", 5, 1),
               ("ET", 4, 1), ("TS", 3, 1), ("EM", 2, 1), ("MP", 1, 1), ("PE", 0, 1)],
        .cr3: [("PDBR", 12, 20), ("PCID", 0, 12)],
        .cr4: [("LAM_SUP", 28, 1), ("LASS", 27, 1), ("UINTR", 25, 1), ("PKS", 24, 1), ("CET", 23, 1), ("PKE", 22, 1),
               ("SMAP", 21, 1), ("SMEP", 20, 1), ("KL", 19, 1), ("OSXSAVE", 18, 1), ("PCIDE", 17, 1),
               ("FSGSBASE", 16, 1), ("SMXE", 14, 1), ("VMXE", 13, 1), ("LA57", 12, 1), ("UMIP", 11, 1),
               ("OSXMMEXCPT", 10, 1), ("OSFXSR", 9, 1), ("PCE", 8, 1), ("PGE", 7, 1), ("MCE", 6, 1),
               ("PAE", 5, 1), ("PSE", 4, 1), ("DE", 3, 1), ("TSD", 2, 1), ("PVI", 1, 1), ("VME", 0, 1)],
    ]

    public static func flags(_ v: UInt32, _ kind: FlagsKind) -> String {
        var s = "["
        for (name, bit, width) in flagFields[kind]! {
            let field = (v >> UInt32(bit)) & UInt32((UInt64(1) << UInt64(width)) - 1)
            if width == 1 { if field != 0 { s += " " + name } } else { s += " \(name)=\(field)" }
        }
        return s + " ]"
    }

    // MARK: - Values

    /// A value as `print` shows it after `$N = `.
    public static func value(_ v: Value, format: Character?, symbols: SymbolTable, memory: MemoryReader) -> String {
        if v.isVoid { return "void" }
        if let f = format, f != "s" {
            switch f {
            case "a": return address(v.u32, symbols)
            case "c": return character(UInt8(truncatingIfNeeded: v.bits), signed: true)
            default: return integer(v.bits, size: v.type.size, signed: v.type.isSigned, letter: f)
            }
        }
        switch v.type {
        case .void: return "void"
        case .int(let size, let signed): return integer(v.bits, size: size, signed: signed, letter: "n")
        case .char(let signed): return character(UInt8(truncatingIfNeeded: v.bits), signed: signed)
        case .flags(let kind): return flags(v.u32, kind)
        case .function: return "{<text variable, no debug info>} " + address(v.u32, symbols)
        case .codePointer: return "(void (*)()) " + address(v.u32, symbols)
        case .dataSymbol: return "(<data variable, no debug info> *) " + address(v.u32, symbols)
        case .pointer(let t):
            if case .char = t {
                let a = v.u32
                var text = address(a, symbols)
                if let (bytes, cut) = cString(at: a, memory) {
                    text += " " + string(bytes, truncated: cut)
                } else {
                    text += " <error: Cannot access memory at address 0x\(String(a, radix: 16))>"
                }
                if case .char(false) = t { return "(unsigned char *) " + text }
                return text
            }
            return "(\(v.type.name)) " + address(v.u32, symbols)
        }
    }

    /// Up to 200 characters up to a NUL; `cut` when the limit ended it.
    static func cString(at a: UInt32, _ memory: MemoryReader) -> ([UInt8], Bool)? {
        var out: [UInt8] = []
        var p = a
        while out.count < printElements {
            guard let b = memory(p, 1)?.first else { return out.isEmpty ? nil : (out, false) }
            if b == 0 { return (out, false) }
            out.append(b)
            p &+= 1
        }
        return (out, true)
    }

    // MARK: - Registers and locations

    /// An `info registers` line: name to column 15, raw hex to column 35, then the natural value.
    public static func registerLine(_ name: String, raw: UInt32, natural: String) -> String {
        let hexText = "0x" + String(raw, radix: 16)
        return pad(name, 15) + pad(hexText, 20) + natural
    }

    static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count)
    }

    /// `0x00100010 in kmain ()` — a frame line as gdb prints it without debug information.
    public static func frame(_ a: UInt32, _ symbols: SymbolTable) -> String {
        hex(a) + " in " + (symbols.symbolize(a)?.entry.name ?? "??") + " ()"
    }
}
