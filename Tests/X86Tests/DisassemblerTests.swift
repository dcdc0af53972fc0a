// The disassembler against ndisasm (text and length) and objdump (length).
//
// Expectations are recorded by tools/disasm/record.py into
// Tests/X86Tests/Vectors/disasm-rows.json (one or more representative byte
// strings per table row) and Vectors/disasm-corpus.tsv (a random corpus).
// The byte strings themselves are made here, by `DisasmInputs`, so that
// they follow the table; record.py asks this test target to dump them
// (RINGSIDE_DISASM_DUMP=dir swift test --filter dumpDisasmInputs).
//
// Every disagreement must fall in one of the classes of `Divergence`, each
// with its reason; anything else fails the test.

import Foundation
import Testing
@testable import X86

// MARK: - Inputs

/// A small deterministic generator (SplitMix64), so corpora are reproducible.
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

enum DisasmInputs {
    /// Representative byte strings for every row of the table (x87 escapes
    /// excluded: they print as data by design).  Register form, memory form
    /// `[ebx+0x4]`, and an operand-size-prefixed form for rows that are not
    /// byte-sized.
    static func rowVectors() -> [(row: Int, bytes: [UInt8])] {
        var out: [(row: Int, bytes: [UInt8])] = []
        for (i, row) in opcodeRows.enumerated() where row.op != .fpu {
            var forms: [Bool] = []          // true = register form
            if !row.usesModRM {
                forms = [true]
            } else if row.rmExact >= 0 || row.modForm == .reg {
                forms = [true]
            } else if row.modForm == .mem {
                forms = [false]
            } else if row.operands.contains(where: { $0 == .Cd || $0 == .Dd }) {
                forms = [true]              // MOV CRn/DRn: mod is ignored, always registers
            } else {
                forms = [true, false]
            }
            for f in forms { out.append((i, encode(row, registerForm: f, o16: false))) }
            if !row.isByteOp { out.append((i, encode(row, registerForm: forms.last!, o16: true))) }
        }
        return out
    }

    static func defaultReg(_ row: OpcodeRow) -> UInt8 {
        if row.digit >= 0 { return UInt8(row.digit) }
        if row.op == .setcc || row.op == .nop { return 0 }   // ndisasm's SETcc and NOP Ev forms
        if row.operands.contains(.Sw) { return 3 }      // ds
        if row.operands.contains(.Cd) { return 3 }      // cr3
        if row.operands.contains(.Dd) { return 7 }      // dr7
        return 1                                        // ecx / cl / cx
    }

    static func encode(_ row: OpcodeRow, registerForm: Bool, o16: Bool) -> [UInt8] {
        var b: [UInt8] = []
        if o16 { b.append(0x66) }
        if row.prefix != 0 { b.append(row.prefix) }
        if row.map == 1 { b.append(0x0F) }
        b.append(row.registerInOpcode ? row.opcode + (row.op == .xchg ? 1 : 3) : row.opcode)
        if row.usesModRM {
            let reg = defaultReg(row)
            if registerForm {
                b.append(0xC0 | reg << 3 | (row.rmExact >= 0 ? UInt8(row.rmExact) : 3))
            } else {
                b += [0x40 | reg << 3 | 3, 0x04]           // [ebx+0x4]
            }
        }
        for opd in row.operands {
            switch opd {
            case .Ib: b.append(row.op == .aam || row.op == .aad ? 0x0A : 0x05)
            case .Ibs: b.append(0xFC)
            case .Iw: b += [0x10, 0x00]
            case .Iz: b += o16 ? [0x34, 0x12] : [0x78, 0x56, 0x34, 0x12]
            case .Jb: b.append(0x10)
            case .Jz: b += o16 ? [0x00, 0x01] : [0x00, 0x01, 0x00, 0x00]
            case .Ob, .Ov: b += [0x00, 0x10, 0x00, 0x00]
            case .Ap: b += o16 ? [0x00, 0x20, 0x08, 0x00] : [0x00, 0x20, 0x00, 0x00, 0x08, 0x00]
            default: break
            }
        }
        return b
    }

    /// The random corpus: `rowBased` instructions made by picking a row (x87
    /// escapes excluded) and random prefixes, ModRM, SIB, displacement and
    /// immediates, then `raw` strings of 15 random bytes.  Row-based entries
    /// are cut to the length Ringside decodes.
    static func corpus(seed: UInt64 = 0x5269_6E67_7369_6465, rowBased: Int = 16000, raw: Int = 4000) -> [[UInt8]] {
        var rng = SplitMix64(seed: seed)
        let rows = opcodeRows.enumerated().filter { $0.element.op != .fpu }.map { $0.offset }
        var out: [[UInt8]] = []
        let segs: [UInt8] = [0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65]
        for _ in 0..<rowBased {
            let row = opcodeRows[rows[Int.random(in: 0..<rows.count, using: &rng)]]
            var pf: [UInt8] = []
            let lockIt = row.traits.contains(.lockable) && Int.random(in: 0..<4, using: &rng) == 0
            if Int.random(in: 0..<100, using: &rng) < 15 { pf.append(segs[Int.random(in: 0..<6, using: &rng)]) }
            if Int.random(in: 0..<100, using: &rng) < 15 { pf.append(0x66) }
            if Int.random(in: 0..<100, using: &rng) < 12 { pf.append(0x67) }
            if row.prefix != 0 {
                pf.append(row.prefix)
            } else if Int.random(in: 0..<100, using: &rng) < 5 {
                pf.append(Bool.random(using: &rng) ? 0xF2 : 0xF3)
            }
            if lockIt { pf.append(0xF0) }
            pf.shuffle(using: &rng)
            var b = pf
            if row.map == 1 { b.append(0x0F) }
            if row.registerInOpcode {
                b.append(row.opcode + UInt8(row.op == .xchg ? Int.random(in: 1...7, using: &rng) : Int.random(in: 0...7, using: &rng)))
            } else {
                b.append(row.opcode)
            }
            if row.usesModRM {
                var mod = UInt8.random(in: 0...3, using: &rng)
                if row.modForm == .mem || lockIt { mod = UInt8.random(in: 0...2, using: &rng) }
                if row.modForm == .reg || row.rmExact >= 0 { mod = 3 }
                let reg = row.digit >= 0 ? UInt8(row.digit) : UInt8.random(in: 0...7, using: &rng)
                let rm = row.rmExact >= 0 ? UInt8(row.rmExact) : UInt8.random(in: 0...7, using: &rng)
                b.append(mod << 6 | reg << 3 | rm)
            }
            while b.count < 15 { b.append(UInt8.random(in: 0...255, using: &rng)) }
            if case .ok(let ins) = Decoder.decode(b) { b = Array(b[0..<Int(ins.length)]) }
            out.append(b)
        }
        for _ in 0..<raw {
            out.append((0..<15).map { _ in UInt8.random(in: 0...255, using: &rng) })
        }
        return out
    }

    static func hex(_ b: [UInt8]) -> String { b.map { String(format: "%02x", $0) }.joined() }
    static func bytes(_ h: Substring) -> [UInt8] {
        var out: [UInt8] = []
        var i = h.startIndex
        while i < h.endIndex {
            let j = h.index(i, offsetBy: 2)
            out.append(UInt8(h[i..<j], radix: 16)!)
            i = j
        }
        return out
    }
}

// MARK: - Oracles

/// What an oracle printed for the first instruction of a byte string.
struct OracleLine: Equatable {
    var length: Int
    var text: String
}

struct Expectation {
    var bytes: [UInt8]
    /// Where the oracles saw the bytes (branch targets are absolute).
    var address: UInt32
    var ndisasm: OracleLine
    var objdump: OracleLine
}

enum Oracles {
    static func vectorsURL(_ name: String) -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Vectors").appendingPathComponent(name)
    }

    /// Vectors/disasm-rows.json: [{"hex", "address", "ndisasm": [len, text], "objdump": [len, text]}].
    static func loadRows() throws -> [String: Expectation] {
        let data = try Data(contentsOf: vectorsURL("disasm-rows.json"))
        let list = try JSONSerialization.jsonObject(with: data) as! [[String: Any]]
        var out: [String: Expectation] = [:]
        for e in list {
            let h = e["hex"] as! String
            let nd = e["ndisasm"] as! [Any], od = e["objdump"] as! [Any]
            out[h] = Expectation(bytes: DisasmInputs.bytes(Substring(h)), address: UInt32(e["address"] as! Int),
                                 ndisasm: OracleLine(length: nd[0] as! Int, text: nd[1] as! String),
                                 objdump: OracleLine(length: od[0] as! Int, text: od[1] as! String))
        }
        return out
    }

    /// Vectors/disasm-corpus.tsv: address, hex, ndisasm length, ndisasm text, objdump length, objdump text.
    static func loadCorpus() throws -> [Expectation] {
        let text = try String(contentsOf: vectorsURL("disasm-corpus.tsv"), encoding: .utf8)
        var out: [Expectation] = []
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let f = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard f.count == 6 else { continue }
            out.append(Expectation(bytes: DisasmInputs.bytes(f[1]), address: UInt32(f[0], radix: 16)!,
                                   ndisasm: OracleLine(length: Int(f[2])!, text: String(f[3])),
                                   objdump: OracleLine(length: Int(f[4])!, text: String(f[5]))))
        }
        return out
    }

    static func which(_ tool: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let p = String(dir) + "/" + tool
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }

    static let slot = 32

    /// "NDISASM version 2.16.01" from the corpus header.
    static func recordedNdisasmVersion() throws -> String {
        let text = try String(contentsOf: vectorsURL("disasm-corpus.tsv"), encoding: .utf8)
        let line = text.split(separator: "\n").first { $0.hasPrefix("# NDISASM") } ?? ""
        return String(line.dropFirst(2).split(separator: ";").first ?? "")
    }

    static func ndisasmVersion() -> String? {
        guard let exe = which("ndisasm") else { return nil }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = ["-v"]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        guard (try? p.run()) != nil else { return nil }
        let out = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: out, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Runs ndisasm -b 32 on the byte strings, each at the start of a 32-byte
    /// slot padded with NOPs (so input k is at address 32 k), and returns the
    /// first line of every slot.
    static func ndisasm(_ inputs: [[UInt8]]) throws -> [OracleLine]? {
        guard let exe = which("ndisasm") else { return nil }
        var blob = [UInt8]()
        for b in inputs {
            precondition(b.count <= Decoder.maxLength)
            blob += b + [UInt8](repeating: 0x90, count: slot - b.count)
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ringside-ndisasm-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("in.bin")
        try Data(blob).write(to: file)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = ["-b", "32", file.path]
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let out = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        var lines: [Int: OracleLine] = [:]
        var last = -1
        for line in String(decoding: out, as: UTF8.self).split(separator: "\n") {
            if line.hasPrefix(" ") {             // continuation of the hex column
                let h = line.trimmingCharacters(in: .whitespaces).dropFirst()
                if last >= 0, var l = lines[last] { l.length += h.count / 2; lines[last] = l }
                continue
            }
            let f = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
            guard f.count == 3, let addr = Int(f[0], radix: 16) else { continue }
            last = addr
            lines[addr] = OracleLine(length: f[1].count / 2, text: f[2].trimmingCharacters(in: .whitespaces))
        }
        return (0..<inputs.count).map { lines[$0 * slot] ?? OracleLine(length: 0, text: "?") }
    }
}

// MARK: - Known divergences

/// Why Ringside's output may differ from an oracle.  Each class is narrow:
/// it matches only the situation its reason describes, and (where ndisasm is
/// the odd one out) only when objdump agrees with Ringside's length.
enum Divergence: String, CaseIterable {
    case alias82 = "82 /r is an alias of 80 /r outside 64-bit mode (SDM Table A-2); ndisasm prints it as data"
    case salAlias = "D0-D3, C0, C1 /6 is an alias of SHL; Ringside's table names it SAL, ndisasm prints it as data"
    case testAlias = "F6/F7 /1 is an alias of TEST /0 (SDM Table A-6); ndisasm prints it as data"
    case setccReg = "SETcc ignores the ModRM reg field; ndisasm decodes SETcc only with reg = 0"
    case movCRMod = "MOV to/from CRn/DRn ignores mod and always names registers (SDM MOV—Move to/from Control Registers); ndisasm prints data when mod != 3"
    case movzx16 = "MOVZX/MOVSX r16,r/m16 (66 0F B7/BF) are valid; ndisasm has no such template and prints o16"
    case bswap16 = "BSWAP with a 16-bit operand is undefined (SDM BSWAP); Ringside prints `o16 bswap r32`, ndisasm gives up, objdump prints `bswap r16`"
    case hintNop = "0F 1F /1-/7 are NOP Ev like /0 (SDM Table A-3); ndisasm calls them hint_nopN"
    case waitPrefix = "ndisasm treats WAIT (9B) as a prefix of the next instruction; Ringside (and objdump) decode it alone"
    case x87 = "x87 escapes D8-DF are one table row without an FPU; Ringside prints their bytes as `db`"
    case lockUD = "LOCK on an instruction that does not allow it raises #UD (SDM LOCK); the decoder reports it invalid, ndisasm and objdump print `lock <insn>`"
    case notInTable = "an instruction Ringside's table does not have (INT1, SALC, UD0, MMX, SSE, VMX beyond VMCALL...); Ringside prints `db`, the oracles decode it"
    case objdumpBad = "undecodable bytes: objdump's `(bad)` swallows an arbitrary number of bytes, ndisasm and Ringside one"
    case newerCPU = "a prefix the modelled IA-32 CPU ignores selects a newer instruction in the oracles (F3 0F BC/BD TZCNT/LZCNT, F3 0F 09 WBNOINVD, F2/F3 0F 01 C1 VMGEXIT)"
    case objdumpRepBSF = "objdump prints `(bad)` for BSF/BSR with an F2 prefix, which the CPU ignores; ndisasm agrees with Ringside"
    case shortBranch16 = "a short branch with an operand-size prefix truncates EIP to 16 bits (SDM Jcc/JMP/LOOP); ndisasm does not"
}

/// The bytes after the legacy prefixes.
func stripPrefixes(_ b: [UInt8]) -> ArraySlice<UInt8> {
    var i = 0
    while i < b.count && Decoder.isPrefix(b[i]) { i += 1 }
    return b[i...]
}

let prefixWords: Set<String> = ["es", "cs", "ss", "ds", "fs", "gs", "o16", "a16", "lock", "rep", "repne", "repe"]

/// ndisasm printed a lone byte: `db 0xNN` or a prefix name.
func gaveUp(_ l: OracleLine) -> Bool {
    l.length == 1 && (l.text.hasPrefix("db ") || prefixWords.contains(l.text))
}

func classify(_ bytes: [UInt8], _ ours: OracleLine, _ nd: OracleLine, _ od: OracleLine) -> Divergence? {
    let body = stripPrefixes(bytes)
    let decoded = Decoder.decode(bytes)
    guard case .ok(let ins) = decoded else {
        // Ringside found no instruction.
        if gaveUp(nd) && gaveUp(ours) && od.text.contains("(bad)") { return .objdumpBad }
        let prefixes = bytes.count - body.count
        let unlocked = bytes[..<prefixes].filter { $0 != 0xF0 } + body
        if prefixes > 0 && unlocked.count < bytes.count, case .ok = Decoder.decode(Array(unlocked)),
           nd.text.contains("lock ") { return .lockUD }
        // The oracles name an instruction the table does not have at all.
        let tableMnemonics = Set(opcodeRows.map(\.mnemonic))
        let named = [nd, od].compactMap { l in l.text.split(separator: " ").first { !prefixWords.contains(String($0)) } }
        if !gaveUp(nd) || !gaveUp(od), !named.contains(where: { tableMnemonics.contains(String($0)) }) { return .notInTable }
        return nil
    }
    let row = ins.tableRow
    let sameAsObjdump = Int(ins.length) == od.length
    if row.op == .fpu { return .x87 }
    if row.op == .wait && nd.text.contains("wait") { return .waitPrefix }
    if (row.op == .bsf || row.op == .bsr) && ins.rep == 0xF2 && ours == nd && od.text.contains("(bad)") { return .objdumpRepBSF }
    guard sameAsObjdump else { return nil }
    if row.op == .nop && ins.map == 1 && ins.reg != 0 && ours.length == nd.length && nd.text.contains("hint_nop") { return .hintNop }
    if ins.rep != 0 && ours.length == nd.length,
       let m = nd.text.split(separator: " ").first(where: { !prefixWords.contains(String($0)) }),
       ["tzcnt", "lzcnt", "wbnoinvd", "vmgexit"].contains(m) { return .newerCPU }
    if gaveUp(nd) {
        if ins.map == 0 && ins.opcode == 0x82 { return .alias82 }
        if row.op == .sal { return .salAlias }
        if row.op == .test && row.digit == 1 { return .testAlias }
        if row.op == .setcc && ins.reg != 0 { return .setccReg }
        if [.movToCR, .movFromCR, .movToDR, .movFromDR].contains(row.op), let m = body.dropFirst(2).first, m >> 6 != 3 { return .movCRMod }
        if (row.op == .movzx || row.op == .movsx) && row.operands[1] == .Ew && ins.osize == 2 { return .movzx16 }
        if row.op == .bswap && ins.osize == 2 { return .bswap16 }
    }
    if ins.osize == 2, row.operands.first == .Jb, ours.length == nd.length,
       let t1 = ours.text.split(separator: " ").last, let t2 = nd.text.split(separator: " ").last,
       let a = UInt32(t1.dropFirst(2).split(separator: ",")[0], radix: 16),
       let b = UInt32(t2.dropFirst(2).split(separator: ",")[0], radix: 16), a == b & 0xFFFF, a != b {
        return .shortBranch16
    }
    return nil
}

/// Ringside's first line for a byte string, as `disassemble` prints it.
func ours(_ bytes: [UInt8], at address: UInt32 = 0) -> OracleLine {
    let first = Disassembler.disassemble(bytes, at: address)[0]
    return OracleLine(length: first.length, text: first.text)
}

/// Agreement counts over a set of expectations.
struct Tally {
    var total = 0
    var lengthNdisasm = 0, lengthObjdump = 0, textNdisasm = 0, allAgree = 0
    var classes: [Divergence: Int] = [:]
    var unexplained: [String] = []
    var explained: [String] = []
    var textVersusDisassemble: [String] = []
    var examples: [Divergence: [String]] = [:]

    mutating func add(_ e: Expectation) {
        total += 1
        let o = ours(e.bytes, at: e.address)
        var decodedLength = o.length
        if case .ok(let ins) = Decoder.decode(e.bytes) {
            decodedLength = Int(ins.length)
            // text(_:at:) sees the same prefixes as disassemble, except 0x66 on a byte-sized instruction.
            let prefixes = e.bytes.prefix { Decoder.isPrefix($0) }
            if ins.op != .fpu && !(ins.osize == 1 && prefixes.contains(0x66)) {
                let t = Disassembler.text(ins, at: e.address)
                if t != o.text { textVersusDisassemble.append("\(DisasmInputs.hex(e.bytes)): text \(t), disassemble \(o.text)") }
            }
        }
        let lnd = o.length == e.ndisasm.length, lod = decodedLength == e.objdump.length, tnd = o.text == e.ndisasm.text
        if lnd { lengthNdisasm += 1 }
        if lod { lengthObjdump += 1 }
        if tnd { textNdisasm += 1 }
        if lnd && lod && tnd { allAgree += 1; return }
        let line = "\(DisasmInputs.hex(e.bytes)): ours [\(o.length)] \(o.text) | ndisasm [\(e.ndisasm.length)] \(e.ndisasm.text) | objdump [\(e.objdump.length)] \(e.objdump.text)"
        if let c = classify(e.bytes, o, e.ndisasm, e.objdump) {
            classes[c, default: 0] += 1
            if examples[c, default: []].count < 3 { examples[c, default: []].append(line) }
            explained.append("\(c): " + line)
        } else {
            unexplained.append(line)
        }
    }

    func report(_ what: String) {
        var lines = ["\(what): \(total) byte strings; length = ndisasm \(lengthNdisasm), length = objdump \(lengthObjdump), text = ndisasm \(textNdisasm), all three \(allAgree)"]
        for c in Divergence.allCases where classes[c] != nil { lines.append("  \(classes[c]!) × \(c): \(c.rawValue)") }
        print(lines.joined(separator: "\n"))
        if let path = ProcessInfo.processInfo.environment["RINGSIDE_DISASM_REPORT"] {
            let text = (lines + unexplained + explained).joined(separator: "\n") + "\n"
            if let h = FileHandle(forWritingAtPath: path) { h.seekToEndOfFile(); h.write(Data(text.utf8)); h.closeFile() }
            else { try? text.write(toFile: path, atomically: true, encoding: .utf8) }
        }
        #expect(textVersusDisassemble.isEmpty, "\(textVersusDisassemble.prefix(20).joined(separator: "\n"))")
        #expect(unexplained.isEmpty, "\(what): \(unexplained.count) unexplained disagreements, e.g.\n\(unexplained.prefix(20).joined(separator: "\n"))")
    }
}

// MARK: - Tests

@Suite struct DisassemblerTests {
    @Test func conventions() {
        let cases: [(String, String)] = [
            ("8b4304", "mov eax,[ebx+0x4]"), ("64830005", "add dword [fs:eax],byte +0x5"),
            ("83c0ff", "add eax,byte -0x1"), ("c1e003", "shl eax,byte 0x3"), ("d1e0", "shl eax,1"),
            ("ea002000000800", "jmp 0x8:0x2000"), ("ff18", "call far [eax]"), ("0f0100", "sgdt [eax]"),
            ("0fb6c3", "movzx eax,bl"), ("0fbf03", "movsx eax,word [ebx]"),
            ("6c", "insb"), ("6d", "insd"), ("a4", "movsb"), ("66a5", "movsw"), ("a5", "movsd"),
            ("a7", "cmpsd"), ("ab", "stosd"), ("ad", "lodsd"), ("af", "scasd"), ("f3a5", "rep movsd"),
            ("26a5", "es movsd"), ("f00103", "lock add [ebx],eax"), ("d7", "xlatb"),
            ("8cd8", "mov eax,ds"), ("8ed8", "mov ds,eax"), ("0f20c0", "mov eax,cr0"), ("cd80", "int 0x80"),
            ("cc", "int3"), ("0fa4c304", "shld ebx,eax,0x4"), ("69c310000000", "imul eax,ebx,dword 0x10"),
            ("6bc310", "imul eax,ebx,byte +0x10"), ("c8100002", "enter 0x10,0x2"), ("f390", "pause"),
            ("91", "xchg eax,ecx"), ("6aff", "push byte -0x1"), ("6800010000", "push dword 0x100"),
            ("0f1f00", "nop dword [eax]"), ("e480", "in al,0x80"), ("ec", "in al,dx"), ("ef", "out dx,eax"),
            ("d40a", "aam"), ("f6f0", "div al"), ("8d048d00100000", "lea eax,[ecx*4+0x1000]"),
            ("8d442408", "lea eax,[esp+0x8]"), ("678b00", "mov eax,[bx+si]"), ("0f00c8", "str eax"),
            ("0f02c3", "lar eax,bx"), ("0f01e0", "smsw eax"), ("63c3", "arpl bx,ax"), ("6203", "bound eax,[ebx]"),
            ("0fc70e", "cmpxchg8b qword [esi]"), ("a000100000", "mov al,[0x1000]"),
            ("66c7000500", "mov word [eax],0x5"), ("98", "cwde"), ("99", "cdq"), ("6698", "cbw"), ("6699", "cwd"),
            ("9c", "pushf"), ("9d", "popf"), ("60", "pusha"), ("61", "popa"), ("669c", "pushfw"), ("6661", "popaw"),
            ("cf", "iret"), ("66cf", "iretw"), ("ca0400", "retf 0x4"), ("0f01c1", "vmcall"), ("0f0b", "ud2"),
        ]
        for (h, want) in cases {
            #expect(ours(DisasmInputs.bytes(Substring(h))).text == want, "\(h)")
        }
        // Branch targets are absolute.
        let call = Disassembler.disassemble([0xE8, 0x2A, 0, 0, 0], at: 0)
        #expect(call[0].text == "call 0x2f")
        let loop = Disassembler.disassemble([0xE2, 0x99], at: 0x100)
        #expect(loop[0].text == "loop 0x9b")
    }

    @Test func symbols() {
        let bytes: [UInt8] = [0xE8, 0x0B, 0x00, 0x00, 0x00, 0xEB, 0xFE]
        let lines = Disassembler.disassemble(bytes, at: 0x100000) { $0 == 0x100010 ? "kmain" : nil }
        #expect(lines.map(\.text) == ["call 0x100010 <kmain>", "jmp short 0x100005"])
        guard case .ok(let ins) = Decoder.decode(bytes) else { Issue.record("decode"); return }
        #expect(Disassembler.text(ins, at: 0x100000) { _ in "kmain" } == "call 0x100010 <kmain>")
        #expect(Disassembler.text(ins, at: 0x100000) == "call 0x100010")
    }

    @Test func undecodable() {
        let lines = Disassembler.disassemble([0x66, 0x0F, 0x0A], at: 0x10)
        #expect(lines.map(\.text) == ["o16", "db 0x0f", "db 0x0a"])
        #expect(lines.map(\.address) == [0x10, 0x11, 0x12])
        #expect(Disassembler.disassemble([0xD9, 0xE8, 0x90], at: 0).map(\.text) == ["db 0xd9,0xe8", "nop"])
        guard case .ok(let fpu) = Decoder.decode([0x26, 0xDD, 0x84, 0x88, 0x10, 0x00, 0x00, 0x00]) else {
            Issue.record("decode"); return
        }
        #expect(Disassembler.text(fpu, at: 0) == "db 0x26,0xdd,0x84,0x88,0x10,0x00,0x00,0x00")
    }

    @Test func tableRows() throws {
        let expected = try Oracles.loadRows()
        let vectors = DisasmInputs.rowVectors()
        var tally = Tally()
        var rowsChecked = Set<Int>()
        for (row, bytes) in vectors {
            guard let e = expected[DisasmInputs.hex(bytes)] else {
                Issue.record("no recorded expectation for row \(row) \(DisasmInputs.hex(bytes)): run tools/disasm/record.py")
                continue
            }
            rowsChecked.insert(row)
            guard case .ok(let ins) = Decoder.decode(bytes) else {
                Issue.record("row \(row) \(opcodeRows[row].mnemonic): \(DisasmInputs.hex(bytes)) does not decode")
                continue
            }
            #expect(Int(ins.row) == row, "\(DisasmInputs.hex(bytes)) decodes to row \(ins.row), not \(row)")
            #expect(Int(ins.length) == bytes.count, "\(DisasmInputs.hex(bytes)) length \(ins.length)")
            tally.add(e)
            // text(_:at:) agrees with disassemble when the prefixes are all visible in Instr.
            if !(ins.osize == 1 && bytes.first == 0x66) {
                #expect(Disassembler.text(ins, at: e.address) == ours(bytes, at: e.address).text, "\(DisasmInputs.hex(bytes))")
            }
        }
        tally.report("table rows (\(rowsChecked.count) of \(opcodeRows.count) rows, \(vectors.count) byte strings)")
        // And against ndisasm live, when it is installed.
        if let live = try Oracles.ndisasm(vectors.map(\.bytes)) {
            // The recording must match the installed ndisasm when it is the recorded version.
            let sameVersion = try Oracles.recordedNdisasmVersion() == Oracles.ndisasmVersion()
            var liveTally = Tally()
            for (k, ((_, bytes), nd)) in zip(vectors, live).enumerated() {
                let address = UInt32(k * Oracles.slot)
                guard let e = expected[DisasmInputs.hex(bytes)] else { continue }
                if sameVersion && e.address == address {
                    #expect(e.ndisasm == nd, "recorded ndisasm output for \(DisasmInputs.hex(bytes)) is stale: live \(nd)")
                }
                liveTally.add(Expectation(bytes: bytes, address: address, ndisasm: nd, objdump: e.objdump))
            }
            liveTally.report("table rows vs live ndisasm")
        }
    }

    @Test func corpus() throws {
        let entries = try Oracles.loadCorpus()
        #expect(entries.count >= 20000)
        var tally = Tally()
        for e in entries { tally.add(e) }
        tally.report("random corpus")
    }

    /// Writes the inputs for tools/disasm/record.py when asked to.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["RINGSIDE_DISASM_DUMP"] != nil))
    func dumpDisasmInputs() throws {
        let dir = URL(fileURLWithPath: ProcessInfo.processInfo.environment["RINGSIDE_DISASM_DUMP"]!)
        let rows = DisasmInputs.rowVectors().map { DisasmInputs.hex($0.bytes) }.joined(separator: "\n") + "\n"
        try rows.write(to: dir.appendingPathComponent("rows.hex"), atomically: true, encoding: .utf8)
        let corpus = DisasmInputs.corpus().map { DisasmInputs.hex($0) }.joined(separator: "\n") + "\n"
        try corpus.write(to: dir.appendingPathComponent("corpus.hex"), atomically: true, encoding: .utf8)
    }
}
