// The disassembler: NASM syntax, printed from the opcode table.  The mnemonic
// and the operand codes come from the decoded instruction's row; this file
// only knows how NASM spells each operand code, and the conventions of
// `ndisasm -b 32` (NASM 2.16), which it follows byte for byte wherever that is
// reasonable.  Tests/X86Tests/DisassemblerTests.swift cross-checks it against
// ndisasm (text, length) and objdump (length) on every table row and on a
// random corpus, and lists every known divergence with its reason.
//
// Conventions (all as ndisasm prints them):
//  - Memory operands get a size keyword (`byte`, `word`, `dword`, `qword`)
//    only when no register operand gives the size: `mov eax,[ebx+0x4]`,
//    `add dword [fs:eax],byte +0x5`, `movzx eax,byte [ebx]`.  Branch targets
//    through memory and SETcc take none (`call [eax]`, `setz [eax]`);
//    CALL/JMP far say `far`.  Segment overrides go inside the brackets; a
//    lone displacement is `[dword 0x1000]` in ModRM form, `[0x1000]` in SIB
//    form and in the moffs forms of MOV.
//  - Sign-extended byte immediates print as `byte +0x5` / `byte -0x1`; shift
//    counts and bit offsets as `byte 0x3`; a lone immediate or the third
//    operand of IMUL carries its size (`push dword 0x100`).
//  - Branch targets are absolute (`call 0x2f`, `jz near 0x6`,
//    `jmp short 0x2`); with an operand-size prefix they wrap at 64 KiB, as
//    EIP does.  Far pointers are `selector:offset`.  With a symbol callback,
//    a target that has a name gets a ` <name>` suffix.
//  - XCHG names the register first (`xchg eax,ecx`, `xchg cl,[ebx]`); 66 90
//    and 67 90 print as `xchg ax,ax` / `xchg eax,eax`, as NASM prefers.
//  - SLDT, STR, SMSW and MOV Sreg show a register operand at the operand size
//    (`str eax`, `mov ds,eax`: the SDM's "Rv/Mw"), other Ew operands as 16-bit
//    registers (`lldt ax`, `lar eax,bx`).
//  - String instructions print without operands (`rep movsd`, `es lodsb`).
//  - Prefixes that do not show in the operands are words before the
//    mnemonic, in NASM's order: segment, rep/repe/repne (bnd on near
//    branches, xacquire/xrelease for HLE forms), lock, o16, a16.  ndisasm
//    prints a16 only on instructions without operands.
//  - The x87 escapes (D8-DF) are one row of the table ("fpu": no FPU is
//    modelled, they raise #NM or #UD), so they print as `db` of their bytes,
//    e.g. `db 0xd9,0xe8`: the line reassembles to the same bytes.
//    `text(_:at:)`, which has no bytes, re-encodes them from the fields.
//  - Undecodable bytes print one at a time as `db 0xNN`, or as the name of
//    the prefix when the byte is one (`o16`, `rep`, `es`…), as ndisasm does.
//
// Where Ringside knowingly differs from ndisasm 2.16 (DisassemblerTests
// `Divergence` lists them all): encodings ndisasm does not know (82 /r,
// group-2 /6 SAL, F6/F7 /1 TEST, SETcc with reg != 0, MOV CRn/DRn with
// mod != 3, 0F 1F /1-7 NOP, 66 0F B7/BF, 66 BSWAP) decode here by the SDM;
// WAIT prints alone; LOCK where it is #UD prints as `lock` then the
// instruction; short branches under o16 wrap at 64 KiB.

public enum Disassembler {
    public typealias Symbolizer = (UInt32) -> String?

    /// The disassembly of one decoded instruction located at `eip`, in a
    /// 32-bit code segment.  An operand-size prefix on a byte-sized
    /// instruction leaves no trace in `Instr`, so only `disassemble` (which
    /// sees the bytes) prints its `o16`; repeated prefixes show once.
    public static func text(_ ins: Instr, at eip: UInt32, symbol: Symbolizer? = nil) -> String {
        var p = Prefixes()
        p.opsize = ins.osize == 2
        p.addr = ins.asize16
        p.seg = ins.segOverride ? Int(ins.seg) : -1
        p.rep = ins.rep
        p.lock = ins.lock
        return render(ins, p, eip: eip, symbol: symbol, raw: nil)
    }

    /// Disassembles a buffer of 32-bit code at `address`, one line per
    /// instruction or undecodable byte (an instruction cut off by the end of
    /// the buffer is undecodable).
    public static func disassemble(_ bytes: [UInt8], at address: UInt32, symbol: Symbolizer? = nil)
        -> [(address: UInt32, length: Int, bytes: [UInt8], text: String)] {
        var out: [(address: UInt32, length: Int, bytes: [UInt8], text: String)] = []
        var off = 0
        while off < bytes.count {
            let end = min(bytes.count, off + Decoder.maxLength)
            let chunk = Array(bytes[off..<end])
            let addr = address &+ UInt32(truncatingIfNeeded: off)
            if case .ok(let ins) = Decoder.decode(chunk, code16: false) {
                let n = Int(ins.length)
                let raw = Array(chunk[0..<n])
                let t = render(ins, Prefixes(scanning: raw), eip: addr, symbol: symbol, raw: raw)
                out.append((addr, n, raw, t))
                off += n
            } else {
                out.append((addr, 1, [chunk[0]], undecodable(chunk[0])))
                off += 1
            }
        }
        return out
    }

    /// How ndisasm prints a byte it cannot decode as (the start of) an instruction.
    static func undecodable(_ b: UInt8) -> String {
        switch b {
        case 0x26: return "es"
        case 0x2E: return "cs"
        case 0x36: return "ss"
        case 0x3E: return "ds"
        case 0x64: return "fs"
        case 0x65: return "gs"
        case 0x66: return "o16"
        case 0x67: return "a16"
        case 0xF0: return "lock"
        case 0xF2: return "repne"
        case 0xF3: return "rep"
        default: return "db " + hex2(b)
        }
    }

    // MARK: - Prefixes

    struct Prefixes {
        var opsize = false
        var addr = false
        var seg = -1
        var rep: UInt8 = 0
        var lock = false
        init() {}
        /// The prefixes as the bytes give them (last segment and last F2/F3 win,
        /// as in the decoder).
        init(scanning raw: [UInt8]) {
            for b in raw {
                switch b {
                case 0x26: seg = Seg.es
                case 0x2E: seg = Seg.cs
                case 0x36: seg = Seg.ss
                case 0x3E: seg = Seg.ds
                case 0x64: seg = Seg.fs
                case 0x65: seg = Seg.gs
                case 0x66: opsize = true
                case 0x67: addr = true
                case 0xF0: lock = true
                case 0xF2, 0xF3: rep = b
                default: return
                }
            }
        }
    }

    // MARK: - Names

    static let reg8 = ["al", "cl", "dl", "bl", "ah", "ch", "dh", "bh"]
    static let reg16 = ["ax", "cx", "dx", "bx", "sp", "bp", "si", "di"]
    static let reg32 = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"]
    static let segNames = ["es", "cs", "ss", "ds", "fs", "gs", "segr6", "segr7"]

    static func hex(_ v: UInt32) -> String { "0x" + String(v, radix: 16) }
    /// A byte as ndisasm's `db` prints it: two digits.
    static func hex2(_ b: UInt8) -> String { (b < 16 ? "0x0" : "0x") + String(b, radix: 16) }

    static func reg(_ n: UInt8, size: Int) -> String {
        switch size {
        case 1: return reg8[Int(n & 7)]
        case 2: return reg16[Int(n & 7)]
        default: return reg32[Int(n & 7)]
        }
    }

    /// "+0x5" / "-0x5" for a signed displacement or immediate.
    static func signed(_ v: Int64) -> String {
        v < 0 ? "-" + "0x" + String(UInt64(-v), radix: 16) : "+" + "0x" + String(UInt64(v), radix: 16)
    }

    // MARK: - Rendering

    private static func isShiftOrBitOp(_ op: Op) -> Bool {
        switch op {
        case .rol, .ror, .rcl, .rcr, .shl, .shr, .sal, .sar, .bt, .bts, .btr, .btc: return true
        default: return false
        }
    }

    /// Register operands that fix the size of a memory operand in NASM syntax.
    private static func isRegisterOperand(_ o: Opd) -> Bool {
        switch o {
        case .Gb, .Gw, .Gv, .Zb, .Zv, .Zd, .AL, .eAX, .Sw, .Cd, .Dd, .Rd: return true
        default: return false
        }
    }

    static func render(_ ins: Instr, _ pfx: Prefixes, eip: UInt32, symbol: Symbolizer?, raw: [UInt8]?) -> String {
        let row = ins.tableRow
        let op = row.op
        if op == .fpu { return "db " + (raw ?? reencode(ins, pfx)).map(hex2).joined(separator: ",") }

        let osize = Int(ins.osize)
        let o16 = pfx.opsize
        let a16 = pfx.addr
        var usedO = false      // the operand-size prefix shows in the operands or mnemonic
        var usedSeg = false    // the segment override shows inside brackets
        let isString = row.traits.contains(.string)
        let hasRegOperand = row.operands.contains(where: isRegisterOperand)
        let fullSize = o16 ? 2 : 4      // size selected by the operand-size attribute

        // Mnemonic.
        var mnem = row.mnemonic
        var operands: [String] = []
        if isString {
            if osize != 1 { mnem += osize == 2 ? "w" : "d"; usedO = true }
        }
        switch op {
        case .cbw: if osize == 2 { mnem = "cbw" }; usedO = true
        case .cwd: if osize == 2 { mnem = "cwd" }; usedO = true
        case .pushf, .popf, .pusha, .popa, .iret, .retFar:
            if o16 { mnem += "w" }; usedO = true
        case .ret:
            if o16 { mnem = row.operands.isEmpty ? "retw" : "retnw" }; usedO = true
        case .nop where row.map == 0 && (o16 || a16):
            // 90 is XCHG eAX,eAX; NASM prefers that spelling to a prefixed NOP.
            return prefixWords(pfx, seg: true, o: false, a: false, row: row, ins: ins) + (o16 ? "xchg ax,ax" : "xchg eax,eax")
        case .pause where o16 && a16:
            // ...and to `o16 a16 pause`, which needs one prefix word more.
            return prefixWords(pfx, seg: true, o: false, a: false, row: row, ins: ins) + "rep xchg ax,ax"
        case .jecxz:
            if a16 { mnem = "jcxz" }
        default: break
        }

        // Operands.
        var sawImm = false
        let count = row.operands.count
        var order = Array(row.operands.indices)
        // NASM writes XCHG register first (`xchg eax,ecx`, `xchg cl,[ebx]`).
        if op == .xchg { order.reverse() }
        var texts = [String](repeating: "", count: count)
        for k in 0..<count {
            let opd = row.operands[k]
            var s = ""
            switch opd {
            case .Eb, .Ew, .Ed, .Ev, .M, .Mp, .Ms, .Ma, .Mq, .Rd:
                if ins.mod == 3 {
                    var size: Int
                    switch opd {
                    case .Eb: size = 1
                    case .Ew:
                        // SLDT, STR, SMSW and MOV Sreg write or read a full register
                        // in register form (SDM "Rv/Mw"); NASM prints it at the
                        // operand size.
                        switch op {
                        case .sldt, .str, .smsw, .movToSeg: size = fullSize; usedO = true
                        default: size = 2
                        }
                    case .Ed, .Rd: size = 4
                    default: size = osize; usedO = true
                    }
                    s = reg(ins.rm, size: size)
                } else {
                    var kw = ""
                    switch opd {
                    case .Mq: kw = "qword "
                    case .Mp where !hasRegOperand:      // CALL/JMP far; LES and friends name a register
                        kw = (o16 ? "word " : "") + "far "
                        usedO = true
                    case .Eb, .Ev:
                        let size = opd == .Eb ? 1 : osize
                        switch op {
                        case .setcc: break
                        case .callIndirect, .jmpIndirect: if size == 2 { kw = "word " }
                        case .movzx, .movsx: break
                        default: if !hasRegOperand { kw = sizeKeyword(size) }
                        }
                    default: break
                    }
                    if (op == .movzx || op == .movsx) && k == 1 && !o16 {
                        kw = sizeKeyword(opd == .Eb ? 1 : 2)
                    }
                    if opd == .Ev && !kw.isEmpty { usedO = true }
                    s = kw + memory(ins, pfx)
                    usedSeg = true
                }
            case .Gb: s = reg(ins.reg, size: 1)
            case .Gw: s = reg(ins.reg, size: 2)
            case .Gv: s = reg(ins.reg, size: osize); usedO = true
            case .Zb: s = reg(ins.reg, size: 1)
            case .Zv: s = reg(ins.reg, size: osize); usedO = true
            case .Zd: s = reg(ins.reg, size: 4)
            case .Sw: s = segNames[Int(ins.reg & 7)]
            case .Cd: s = "cr" + String(ins.reg)
            case .Dd: s = "dr" + String(ins.reg)
            case .AL: s = "al"
            case .eAX: s = osize == 2 ? "ax" : "eax"; usedO = true
            case .CL: s = "cl"
            case .DX: s = "dx"
            case .one: s = "1"; sawImm = true
            case .ES, .CS, .SS, .DS, .FS, .GS: s = segNames[Int(opd.rawValue - Opd.ES.rawValue)]
            case .Xb, .Xv, .Yb, .Yv: s = ""
            case .Ob, .Ov:
                if opd == .Ov { usedO = true }
                usedSeg = true
                let segText = pfx.seg >= 0 ? segNames[pfx.seg] + ":" : ""
                s = "[" + segText + (a16 ? "word " : "") + hex(ins.disp) + "]"
            case .Ap:
                s = (o16 ? "word " : "") + hex(ins.imm2) + ":" + hex(ins.imm)
                s += symbolSuffix(ins.imm, symbol)
                usedO = true
                sawImm = true
            case .Ib, .Ibs, .Iw, .Iz, .Jb, .Jz:
                let second = k > 0 && (sawImm || count == 3)
                let v = second ? ins.imm2 : ins.imm
                sawImm = true
                switch opd {
                case .Ib:
                    if op == .aam || op == .aad {
                        if v == 10 && !a16 { continue }     // base 10 is implied (but "a16 aam" is not NASM's choice)
                        s = hex(v)
                    } else {
                        s = (isShiftOrBitOp(op) ? "byte " : "") + hex(v)
                    }
                case .Ibs:
                    let sv: Int64 = osize == 2 ? Int64(Int16(truncatingIfNeeded: v)) : Int64(Int32(bitPattern: v))
                    s = "byte " + signed(sv)
                case .Iw: s = hex(v)
                case .Iz:
                    usedO = true
                    s = (count == 1 || count == 3 ? sizeKeyword(osize) : "") + hex(v)
                case .Jb, .Jz:
                    var target = eip &+ UInt32(ins.length) &+ v
                    if osize == 2 { target &= 0xFFFF }
                    var kw = ""
                    if opd == .Jz {
                        usedO = true
                        if o16 { kw = "word " } else if op == .jcc { kw = "near " }
                    } else if op == .jmp {
                        kw = "short "
                    }
                    s = kw + hex(target) + symbolSuffix(target, symbol)
                    if (op == .loop || op == .loope || op == .loopne) && a16 { s += ",cx" }
                default: break
                }
            }
            texts[k] = s
        }
        if !isString {
            for k in order where !texts[k].isEmpty { operands.append(texts[k]) }
        }

        // ndisasm shows an address-size prefix only on instructions printed without operands.
        let head = prefixWords(pfx, seg: !usedSeg, o: o16 && !usedO, a: a16 && operands.isEmpty, row: row, ins: ins)
        return head + mnem + (operands.isEmpty ? "" : " " + operands.joined(separator: ","))
    }

    private static func sizeKeyword(_ size: Int) -> String {
        switch size {
        case 1: return "byte "
        case 2: return "word "
        default: return "dword "
        }
    }

    private static func symbolSuffix(_ target: UInt32, _ symbol: Symbolizer?) -> String {
        guard let symbol, let name = symbol(target) else { return "" }
        return " <" + name + ">"
    }

    /// The prefix words before the mnemonic, in NASM's order.
    private static func prefixWords(_ pfx: Prefixes, seg: Bool, o: Bool, a: Bool,
                                    row: OpcodeRow, ins: Instr) -> String {
        var w: [String] = []
        if seg && pfx.seg >= 0 { w.append(segNames[pfx.seg]) }
        if ins.rep != 0 {
            let op = row.op
            let memDst = ins.mod != 3 && row.usesModRM
            if memDst && row.traits.contains(.lockable) && (pfx.lock || op == .xchg) {
                w.append(ins.rep == 0xF2 ? "xacquire" : "xrelease")
            } else if ins.rep == 0xF3 && memDst && op == .mov && row.operands.first.map({ $0 == .Eb || $0 == .Ev }) == true {
                w.append("xrelease")
            } else if ins.rep == 0xF2 && isBndBranch(row) {
                w.append("bnd")
            } else if ins.rep == 0xF2 {
                w.append("repne")
            } else {
                w.append(op == .cmps || op == .scas ? "repe" : "rep")
            }
        }
        if pfx.lock { w.append("lock") }
        if o { w.append("o16") }
        if a { w.append("a16") }
        return w.isEmpty ? "" : w.joined(separator: " ") + " "
    }

    /// Near branches that take Intel MPX's BND prefix (F2).
    private static func isBndBranch(_ row: OpcodeRow) -> Bool {
        switch row.op {
        case .call, .callIndirect, .jmpIndirect, .ret, .jcc: return true
        case .jmp: return row.operands.first == .Jz
        default: return false
        }
    }

    /// A ModRM memory operand, `[seg:base+index*scale+disp]`.
    static func memory(_ ins: Instr, _ pfx: Prefixes) -> String {
        let segText = pfx.seg >= 0 ? segNames[pfx.seg] + ":" : ""
        var parts = ""
        if ins.asize16 {
            if ins.base == Instr.noRegister && ins.index == Instr.noRegister {
                return "[word " + segText + hex(ins.disp & 0xFFFF) + "]"
            }
            parts = reg16[Int(ins.base)]
            if ins.index != Instr.noRegister { parts += "+" + reg16[Int(ins.index)] }
            if ins.mod != 0 { parts += signed(Int64(Int16(truncatingIfNeeded: ins.disp))) }
            return "[" + segText + parts + "]"
        }
        if ins.base == Instr.noRegister && ins.index == Instr.noRegister {
            // No base, no index: rm = 5 (`[dword 0x1000]`) or SIB base 5 (`[0x1000]`).
            return "[" + (ins.rm == 5 ? "dword " : "") + segText + hex(ins.disp) + "]"
        }
        var terms: [String] = []
        if ins.base != Instr.noRegister { terms.append(reg32[Int(ins.base)]) }
        if ins.index != Instr.noRegister {
            terms.append(reg32[Int(ins.index)] + (ins.scale == 0 ? "" : "*" + String(1 << ins.scale)))
        }
        parts = terms.joined(separator: "+")
        if ins.mod != 0 || ins.base == Instr.noRegister {
            parts += signed(Int64(Int32(bitPattern: ins.disp)))
        }
        return "[" + segText + parts + "]"
    }

    /// The bytes of an instruction rebuilt from its fields (for `text(_:at:)`
    /// on rows printed as data).  Prefixes come out in a canonical order.
    static func reencode(_ ins: Instr, _ pfx: Prefixes) -> [UInt8] {
        var b: [UInt8] = []
        if pfx.lock { b.append(0xF0) }
        if pfx.rep != 0 { b.append(pfx.rep) }
        if pfx.seg >= 0 { b.append([0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65][pfx.seg]) }
        if pfx.opsize { b.append(0x66) }
        if pfx.addr { b.append(0x67) }
        if ins.map == 1 { b.append(0x0F) }
        b.append(ins.opcode)
        guard ins.tableRow.usesModRM else { return b }
        b.append(ins.mod << 6 | (ins.reg & 7) << 3 | (ins.rm & 7))
        if ins.mod == 3 { return b }
        var dispBytes = 0
        if ins.asize16 {
            dispBytes = ins.mod == 1 ? 1 : (ins.mod == 2 || ins.rm == 6 ? 2 : 0)
        } else {
            if ins.rm == 4 {
                let idx: UInt8 = ins.index == Instr.noRegister ? 4 : ins.index
                let base: UInt8 = ins.base == Instr.noRegister ? 5 : ins.base
                b.append(ins.scale << 6 | idx << 3 | base)
            }
            dispBytes = ins.mod == 1 ? 1 : (ins.mod == 2 || ins.base == Instr.noRegister ? 4 : 0)
        }
        for i in 0..<dispBytes { b.append(UInt8(truncatingIfNeeded: ins.disp >> (8 * UInt32(i)))) }
        return b
    }
}
