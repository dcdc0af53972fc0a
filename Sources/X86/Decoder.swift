// The instruction decoder (Intel SDM Vol. 2 ch. 2, "Instruction Format"):
// prefixes, opcode, ModRM, SIB, displacement, immediates.  It works on a
// byte buffer and reports when it needs more bytes, so that the CPU fetches
// the next page only when an instruction really straddles it (and a #PF on
// that page is raised exactly when the SDM says).

public enum DecodeResult: Sendable {
    case ok(Instr)
    /// No row matches (#UD), including LOCK on an instruction that forbids it.
    case invalid(length: Int)
    /// The buffer ended before the instruction did: fetch more and retry.
    case needMore
    /// More than 15 bytes (#GP(0), SDM Vol. 2 §2.3.11).
    case tooLong
}

public enum Decoder {
    public static let maxLength = 15

    /// Candidate rows per (map, opcode): index map * 256 + opcode.  Rows that
    /// name a register in the opcode's low bits cover eight opcodes; an exact
    /// row for one of those opcodes (NOP at 0x90) comes first.
    static let candidates: [[UInt16]] = {
        var lists = [[UInt16]](repeating: [], count: 512)
        for (i, row) in opcodeRows.enumerated() where !row.registerInOpcode {
            lists[Int(row.map) * 256 + Int(row.opcode)].append(UInt16(i))
        }
        for (i, row) in opcodeRows.enumerated() where row.registerInOpcode {
            for k in 0..<8 {
                let slot = Int(row.map) * 256 + Int(row.opcode) + k
                lists[slot].append(UInt16(i))
            }
        }
        // Rows with a mandatory prefix or an exact r/m are tried first.
        return lists.map { l in l.sorted { specificity(opcodeRows[Int($0)]) > specificity(opcodeRows[Int($1)]) } }
    }()

    private static func specificity(_ r: OpcodeRow) -> Int {
        (r.prefix != 0 ? 4 : 0) + (r.rmExact >= 0 ? 2 : 0) + (r.registerInOpcode ? 0 : 1)
    }

    /// 16-bit addressing forms (SDM Vol. 2 Table 2-1): base and index per r/m.
    private static let base16: [UInt8] = [3, 3, 5, 5, 6, 7, 5, 3]        // bx bx bp bp si di bp bx
    private static let index16: [UInt8] = [6, 7, 6, 7, Instr.noRegister, Instr.noRegister, Instr.noRegister, Instr.noRegister]

    /// Decodes one instruction from `bytes` (at most `count` of them).
    /// `code16` is true in a code segment whose D bit is clear.
    public static func decode(_ bytes: UnsafePointer<UInt8>, count: Int, code16: Bool = false) -> DecodeResult {
        var p = 0
        var ins = Instr()
        var opsizePrefix = false, addrPrefix = false
        var segOverride: Int = -1
        // Prefixes: any order, any number, within the 15-byte limit.
        while true {
            if p >= count { return p >= maxLength ? .tooLong : .needMore }
            let b = bytes[p]
            switch b {
            case 0x26: segOverride = Seg.es
            case 0x2E: segOverride = Seg.cs
            case 0x36: segOverride = Seg.ss
            case 0x3E: segOverride = Seg.ds
            case 0x64: segOverride = Seg.fs
            case 0x65: segOverride = Seg.gs
            case 0x66: opsizePrefix = true
            case 0x67: addrPrefix = true
            case 0xF0: ins.lock = true
            case 0xF2, 0xF3: ins.rep = b
            default: break
            }
            guard isPrefix(b) else { break }
            p += 1
            if p >= maxLength { return .tooLong }
        }
        var map: UInt8 = 0
        if bytes[p] == 0x0F {
            map = 1
            p += 1
            if p >= count { return p >= maxLength ? .tooLong : .needMore }
        }
        let opcode = bytes[p]
        p += 1
        ins.opcode = opcode
        ins.map = map
        let cands = candidates[Int(map) * 256 + Int(opcode)]
        if cands.isEmpty { return .invalid(length: p) }
        let needsModRM = opcodeRows[Int(cands[0])].usesModRM
        var modrm: UInt8 = 0
        if needsModRM {
            if p >= count { return p >= maxLength ? .tooLong : .needMore }
            modrm = bytes[p]
            p += 1
            ins.mod = modrm >> 6
            ins.reg = (modrm >> 3) & 7
            ins.rm = modrm & 7
        }
        // Pick the row.
        var chosen = -1
        for c in cands {
            let row = opcodeRows[Int(c)]
            if row.prefix != 0 && row.prefix != ins.rep { continue }
            if row.digit >= 0 && UInt8(row.digit) != ins.reg { continue }
            if row.modForm == .mem && ins.mod == 3 { continue }
            if row.modForm == .reg && ins.mod != 3 { continue }
            if row.rmExact >= 0 && (ins.mod != 3 || UInt8(row.rmExact) != ins.rm) { continue }
            chosen = Int(c)
            break
        }
        if chosen < 0 { return .invalid(length: p) }
        let row = opcodeRows[chosen]
        ins.row = UInt16(chosen)
        ins.op = row.op
        if row.prefix != 0 { ins.rep = 0 }
        let size16 = code16 != opsizePrefix
        let addr16 = code16 != addrPrefix
        ins.asize16 = addr16
        // OUT and OUTSB name the port first: their data operand gives the width.
        let byteOp = row.isByteOp || ((row.op == .out || row.op == .outs) && row.operands.last?.isByte == true)
        ins.osize = byteOp ? 1 : (size16 ? 2 : 4)
        if row.hasConditionInOpcode { ins.cond = opcode & 0x0F }
        if row.op == .imul && row.operands.count == 3 { ins.cond = 1 }
        if row.op == .movzx || row.op == .movsx { ins.cond = row.operands[1] == .Eb ? 1 : 2 }
        ins.traitBits = row.traits.rawValue
        if row.registerInOpcode { ins.reg = opcode & 7 }
        // Control and debug register moves ignore mod: always a register (SDM MOV—Move to/from Control Registers).
        if row.op == .movToCR || row.op == .movFromCR || row.op == .movToDR || row.op == .movFromDR { ins.mod = 3 }

        // Memory operand: SIB and displacement (SDM Vol. 2 Tables 2-2, 2-3).
        var defaultSS = false
        if needsModRM && ins.mod != 3 {
            if addr16 {
                if ins.mod == 0 && ins.rm == 6 {
                    guard p + 2 <= count else { return p + 2 > maxLength ? .tooLong : .needMore }
                    ins.disp = UInt32(read16(bytes, p)); p += 2
                } else {
                    ins.base = base16[Int(ins.rm)]
                    ins.index = index16[Int(ins.rm)]
                    defaultSS = ins.base == 5
                    if ins.mod == 1 {
                        guard p + 1 <= count else { return p + 1 > maxLength ? .tooLong : .needMore }
                        ins.disp = UInt32(bitPattern: Int32(Int8(bitPattern: bytes[p]))) & 0xFFFF; p += 1
                    } else if ins.mod == 2 {
                        guard p + 2 <= count else { return p + 2 > maxLength ? .tooLong : .needMore }
                        ins.disp = UInt32(read16(bytes, p)); p += 2
                    }
                }
            } else {
                var baseReg = ins.rm
                if ins.rm == 4 {
                    guard p < count else { return p >= maxLength ? .tooLong : .needMore }
                    let sib = bytes[p]; p += 1
                    ins.scale = sib >> 6
                    let idx = (sib >> 3) & 7
                    ins.index = idx == 4 ? Instr.noRegister : idx
                    baseReg = sib & 7
                    if baseReg == 5 && ins.mod == 0 {
                        ins.base = Instr.noRegister
                    } else {
                        ins.base = baseReg
                    }
                } else if ins.rm == 5 && ins.mod == 0 {
                    ins.base = Instr.noRegister
                } else {
                    ins.base = baseReg
                }
                defaultSS = ins.base == 4 || ins.base == 5
                let dispBytes = ins.mod == 1 ? 1 : (ins.mod == 2 || ins.base == Instr.noRegister && (ins.rm == 5 || baseReg == 5) ? 4 : 0)
                guard p + dispBytes <= count else { return p + dispBytes > maxLength ? .tooLong : .needMore }
                if dispBytes == 1 {
                    ins.disp = UInt32(bitPattern: Int32(Int8(bitPattern: bytes[p])))
                } else if dispBytes == 4 {
                    ins.disp = read32(bytes, p)
                }
                p += dispBytes
            }
        }
        ins.seg = UInt8(segOverride >= 0 ? segOverride : (defaultSS ? Seg.ss : Seg.ds))
        ins.segOverride = segOverride >= 0

        // Operands: immediates and where each operand lives.
        var locs: [Loc] = []
        for (k, opd) in row.operands.enumerated() {
            var loc: Loc = .none
            switch opd {
            case .Eb, .Ew, .Ed, .Ev, .M, .Mp, .Ms, .Ma, .Mq, .Rd: loc = .rm
            case .Gb, .Gw, .Gv, .Sw, .Cd, .Dd, .Zb, .Zv, .Zd: loc = .reg
            case .AL, .eAX:
                // With a register already in `reg` (XCHG Zv, eAX), eAX goes in r/m.
                if locs.contains(.reg) { ins.mod = 3; ins.rm = 0; loc = .rm } else { ins.reg = 0; loc = .reg }
            case .CL: if row.op == .shld || row.op == .shrd { ins.cond = 1 } else { ins.reg = 1; loc = .reg }
            case .one: ins.imm = 1; loc = .imm
            case .Ib, .Ibs, .Iw, .Iz, .Jb, .Jz:
                let n: Int
                switch opd {
                case .Ib, .Ibs, .Jb: n = 1
                case .Iw: n = 2
                default: n = ins.osize == 2 || (opd == .Jz && size16) ? 2 : 4
                }
                guard p + n <= count else { return p + n > maxLength ? .tooLong : .needMore }
                var v: UInt32
                switch n {
                case 1: v = UInt32(bytes[p])
                case 2: v = UInt32(read16(bytes, p))
                default: v = read32(bytes, p)
                }
                p += n
                if opd == .Ibs || opd == .Jb { v = UInt32(bitPattern: Int32(Int8(truncatingIfNeeded: v))) }
                if opd == .Jz && n == 2 { v = UInt32(bitPattern: Int32(Int16(truncatingIfNeeded: v))) }
                if opd == .Ibs && ins.osize == 2 { v &= 0xFFFF }
                // A second immediate (ENTER's level, or IMUL/SHLD's third operand) goes in imm2.
                let second = k > 0 && (locs.contains(.imm) || row.operands.count == 3)
                if second { ins.imm2 = v } else { ins.imm = v; loc = .imm }
            case .Ob, .Ov:
                let n = addr16 ? 2 : 4
                guard p + n <= count else { return p + n > maxLength ? .tooLong : .needMore }
                ins.disp = n == 2 ? UInt32(read16(bytes, p)) : read32(bytes, p)
                p += n
                ins.mod = 0; ins.base = Instr.noRegister; ins.index = Instr.noRegister
                loc = .rm
            case .Ap:
                let n = size16 ? 2 : 4
                guard p + n + 2 <= count else { return p + n + 2 > maxLength ? .tooLong : .needMore }
                ins.imm = n == 2 ? UInt32(read16(bytes, p)) : read32(bytes, p)
                ins.imm2 = UInt32(read16(bytes, p + n))
                p += n + 2
                loc = .imm
            case .ES, .CS, .SS, .DS, .FS, .GS:
                ins.reg = opd.rawValue - Opd.ES.rawValue
            case .DX, .Xb, .Xv, .Yb, .Yv: break
            }
            locs.append(loc)
        }
        if p > maxLength { return .tooLong }
        ins.dst = locs.count > 0 ? locs[0] : .none
        ins.src = locs.count > 1 ? locs[1] : .none
        ins.length = UInt8(p)
        // LOCK is allowed only on the listed read-modify-write forms with a memory destination (#UD otherwise).
        if ins.lock && (!row.traits.contains(.lockable) || ins.mod == 3) { return .invalid(length: p) }
        specialize(&ins)
        return .ok(ins)
    }

    @inline(__always) static func isPrefix(_ b: UInt8) -> Bool {
        switch b {
        case 0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65, 0x66, 0x67, 0xF0, 0xF2, 0xF3: return true
        default: return false
        }
    }

    @inline(__always) static func read16(_ b: UnsafePointer<UInt8>, _ p: Int) -> UInt16 {
        UInt16(b[p]) | UInt16(b[p + 1]) << 8
    }
    @inline(__always) static func read32(_ b: UnsafePointer<UInt8>, _ p: Int) -> UInt32 {
        UInt32(b[p]) | UInt32(b[p + 1]) << 8 | UInt32(b[p + 2]) << 16 | UInt32(b[p + 3]) << 24
    }

    /// Convenience for tests and tools: decode from an array.
    public static func decode(_ bytes: [UInt8], code16: Bool = false) -> DecodeResult {
        bytes.withUnsafeBufferPointer { decode($0.baseAddress!, count: $0.count, code16: code16) }
    }
}
