import X86

// Looking at the guest: `x`, `print`, `info registers`, `info symbol`,
// `disassemble`.  Memory is read through the guest's page walk without side
// effects (Session.readMemory).

extension Session {
    // MARK: - x

    func examine(_ f: Format, _ e: Expr?) throws(CommandError) {
        let a: UInt32
        if let e {
            a = try address(e)
        } else {
            guard let next = examineNext else { throw CommandError("Argument required (starting display address).") }
            a = next
        }
        try examine(f, at: a)
    }

    /// gdb's x: the format and size default to the last ones used; `c` to
    /// bytes, `a` to words; 8 units a line for b and h, 4 for w, 2 for g.
    func examine(_ f: Format, at start: UInt32) throws(CommandError) {
        let letter = f.letter ?? examineLetter
        var size = f.size ?? examineSize
        if f.size == nil {
            if letter == "a" { size = "w" }
            if letter == "c" { size = "b" }
        }
        if let c = f.count, c > 100_000 { throw CommandError("Item count \(c) is too large.") }
        let count = f.count ?? 1
        examineLetter = letter
        if letter != "s" && letter != "i" { examineSize = size }
        var a = start
        switch letter {
        case "i":
            for _ in 0..<count {
                let ins = try instruction(at: a)
                emit((a == linearEIP ? "=> " : "   ") + GDBFormat.address(a, symbols) + ":\t" + ins.text + "\n")
                variables["_"] = Value(.codePointer, UInt64(a))
                a &+= UInt32(ins.length)
            }
        case "s":
            for _ in 0..<count {
                guard let (bytes, cut) = GDBFormat.cString(at: a, memoryReader) else { throw Session.cannotAccess(a) }
                emit(GDBFormat.address(a, symbols) + ":\t" + GDBFormat.string(bytes, truncated: cut) + "\n")
                variables["_"] = Value(.pointer(.char(signed: true)), UInt64(a))
                a &+= UInt32(bytes.count + (cut ? 0 : 1))
            }
        default:
            let unit = size == "b" ? 1 : size == "h" ? 2 : size == "w" ? 4 : 8
            let perLine = unit == 4 ? 4 : unit == 8 ? 2 : 8
            var lineText = ""
            for k in 0..<count {
                if k % perLine == 0 {
                    if !lineText.isEmpty { emit(lineText + "\n") }
                    lineText = GDBFormat.address(a, symbols) + ":"
                }
                let bits: UInt64
                do { bits = try read(a, size: unit) } catch {
                    emit(lineText + "\n")
                    throw error
                }
                let item: String
                switch letter {
                case "a": item = GDBFormat.address(UInt32(truncatingIfNeeded: bits), symbols)
                case "c": item = GDBFormat.character(UInt8(truncatingIfNeeded: bits), signed: true)
                default: item = GDBFormat.integer(bits, size: unit, signed: true, letter: letter, pad: true)
                }
                lineText += "\t" + item
                let type: CType = letter == "c" ? .char(signed: true) : .int(size: unit, signed: letter != "u" && letter != "x")
                variables["_"] = Value(.pointer(type), UInt64(a))
                variables["__"] = Value(type, bits)
                a &+= UInt32(unit)
            }
            if !lineText.isEmpty { emit(lineText + "\n") }
        }
        examineNext = a
    }

    /// The instruction at a linear address (as many bytes as are readable, up to 15).
    func instruction(at a: UInt32) throws(CommandError) -> (length: Int, bytes: [UInt8], text: String) {
        let bytes = readable(a, count: Decoder.maxLength)
        guard !bytes.isEmpty else { throw Session.cannotAccess(a) }
        let d = Disassembler.disassemble(bytes, at: a) { [symbols] t in symbols.label(t) }[0]
        return (d.length, d.bytes, d.text)
    }

    // MARK: - print

    func printCommand(_ f: Format, _ e: Expr?) throws(CommandError) {
        let v = try e.map { (x: Expr) throws(CommandError) in try evaluate(x) } ?? (history.last ?? .void)
        history.append(v)
        out.append(.value(number: history.count, value: v, text: formatValue(v, f.letter)))
    }

    // MARK: - info registers

    static let generalRegisters = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi", "eip", "eflags",
                                   "cs", "ss", "ds", "es", "fs", "gs", "fs_base", "gs_base", "cr0", "cr2", "cr3", "cr4"]

    func registers(_ names: [String]) throws(CommandError) {
        for name in names.isEmpty ? Session.generalRegisters : names {
            guard let r = RegisterRef.named(name) else { throw CommandError("Invalid register `\(name)'") }
            let raw = readRegister(r)
            let v = Value(r.type, UInt64(raw))
            let natural: String
            switch r.type {
            case .pointer: natural = "0x" + String(raw, radix: 16)
            case .codePointer: natural = GDBFormat.address(raw, symbols)
            default: natural = formatValue(v, nil)
            }
            line(GDBFormat.registerLine(name.lowercased(), raw: raw, natural: natural))
        }
    }

    // MARK: - info symbol

    func infoSymbol(_ e: Expr, _ text: String) throws(CommandError) {
        let a = try address(e)
        guard let (entry, off) = symbols.symbolize(a), let section = symbols.section(containing: a) else {
            line("No symbol matches \(text).")
            return
        }
        line(entry.name + (off == 0 ? "" : " + \(off)") + " in section " + section.name)
    }

    // MARK: - disassemble

    func disassemble(_ range: DisassembleRange, raw: Bool) throws(CommandError) {
        var start: UInt32, end: UInt32
        var inFunction = false
        switch range {
        case .function(let e):
            let a = try e.map { (x: Expr) throws(CommandError) in try address(x) } ?? linearEIP
            guard let (f, fend) = symbols.function(containing: a) else {
                throw CommandError(e == nil ? "No function contains program counter for selected frame."
                                            : "No function contains specified address.")
            }
            (start, end, inFunction) = (f.address, fend, true)
            line("Dump of assembler code for function \(f.name):")
        case .range(let s, let e):
            (start, end) = (try address(s), try address(e))
            line("Dump of assembler code from 0x\(String(start, radix: 16)) to 0x\(String(end, radix: 16)):")
        case .length(let s, let n):
            start = try address(s)
            end = start &+ (try address(n))
            line("Dump of assembler code from 0x\(String(start, radix: 16)) to 0x\(String(end, radix: 16)):")
        }
        var a = start
        var listed = 0
        while a < end && listed < 10_000 {
            let ins = try instruction(at: a)
            var label = ""
            if let (entry, off) = symbols.symbolize(a) {
                label = inFunction ? " <+\(off)>" : " <\(entry.name)+\(off)>"
            }
            let bytesText = raw ? ins.bytes.map { GDBFormat.padded(String($0, radix: 16), 2) }.joined(separator: " ") + "\t" : ""
            line((a == linearEIP ? "=> " : "   ") + hex(a) + label + ":\t" + bytesText + ins.text)
            a &+= UInt32(ins.length)
            listed += 1
            if a < UInt32(ins.length) { break }     // wrapped around
        }
        line("End of assembler dump.")
    }
}
