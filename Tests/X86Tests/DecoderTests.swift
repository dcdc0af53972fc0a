// The opcode table's integrity and the decoder's robustness.

import Testing
@testable import X86

@Suite struct DecoderTableTests {
    /// Two rows may share an opcode only if something in the encoding tells
    /// them apart: the mandatory prefix, the /digit, memory versus register
    /// form, or an exact r/m.  A row naming a register in the opcode's low
    /// bits covers eight opcodes; at 0x90 NOP comes first and XCHG yields.
    @Test func noTwoRowsShareAnEncoding() {
        struct Slot: Hashable { var map: UInt8; var opcode: UInt8; var prefix: UInt8 }
        var slots: [Slot: [Int]] = [:]
        for (i, row) in opcodeRows.enumerated() {
            for k in 0..<(row.registerInOpcode ? 8 : 1) {
                slots[Slot(map: row.map, opcode: row.opcode + UInt8(k), prefix: row.prefix), default: []].append(i)
            }
        }
        func forms(_ r: OpcodeRow) -> (mem: Bool, reg: Bool) {
            if r.rmExact >= 0 { return (false, true) }
            switch r.modForm {
            case .any: return (true, true)
            case .mem: return (true, false)
            case .reg: return (false, true)
            }
        }
        var clashes: [String] = []
        for (slot, list) in slots where list.count > 1 {
            for x in 0..<list.count {
                for y in (x + 1)..<list.count {
                    let a = opcodeRows[list[x]], b = opcodeRows[list[y]]
                    if slot.map == 0 && slot.opcode == 0x90 && slot.prefix == 0,
                       Set([a.op, b.op]) == [.nop, .xchg] { continue }
                    var clash = true
                    if a.usesModRM && b.usesModRM {
                        let digits = a.digit < 0 || b.digit < 0 || a.digit == b.digit
                        let fa = forms(a), fb = forms(b)
                        let mod = (fa.mem && fb.mem) || (fa.reg && fb.reg)
                        let rm = a.rmExact < 0 || b.rmExact < 0 || a.rmExact == b.rmExact
                        // Two rows that meet only in register form with different exact r/m are distinct.
                        let memShared = fa.mem && fb.mem && digits
                        let regShared = fa.reg && fb.reg && digits && rm
                        clash = mod && (memShared || regShared)
                    }
                    if clash {
                        clashes.append("map \(slot.map) opcode \(String(slot.opcode, radix: 16)) prefix \(String(slot.prefix, radix: 16)): "
                                       + "rows \(list[x]) (\(a.mnemonic)) and \(list[y]) (\(b.mnemonic))")
                    }
                }
            }
        }
        #expect(clashes.isEmpty, "\(clashes.joined(separator: "\n"))")

        // NOP owns 0x90; XCHG covers 91-97; PAUSE is F3 90.
        func mnemonic(_ b: [UInt8]) -> String? {
            if case .ok(let i) = Decoder.decode(b) { return i.mnemonic }
            return nil
        }
        #expect(mnemonic([0x90]) == "nop")
        #expect(mnemonic([0x91]) == "xchg")
        #expect(mnemonic([0x97]) == "xchg")
        #expect(mnemonic([0xF3, 0x90]) == "pause")
    }

    /// The sensitive-but-unprivileged instructions are exactly Robin &
    /// Irvine's eighteen (reference/virtualization.md §1.1).
    @Test func sensitiveRowsAreRobinAndIrvinesEighteen() {
        let names = Set(opcodeRows.filter { $0.traits.contains(.sensitive) }
            .map { $0.mnemonic == "retf" ? "ret" : $0.mnemonic })
        let robinIrvine: Set<String> = ["sgdt", "sidt", "sldt", "smsw", "pushf", "popf", "lar", "lsl", "verr", "verw",
                                        "pop", "push", "call", "jmp", "int", "ret", "str", "mov"]
        #expect(robinIrvine.count == 18)
        #expect(names == robinIrvine, "extra: \(names.subtracting(robinIrvine)), missing: \(robinIrvine.subtracting(names))")
    }
}

/// A decode result reduced to comparable fields.
struct DecodeSummary: Equatable {
    var kind: Int, length: Int
    var fields: [UInt32] = []

    init(_ r: DecodeResult) {
        switch r {
        case .ok(let i):
            kind = 0; length = Int(i.length)
            fields = [UInt32(i.op.rawValue), UInt32(i.row), UInt32(i.osize), i.asize16 ? 1 : 0, UInt32(i.seg),
                      i.segOverride ? 1 : 0, UInt32(i.rep), i.lock ? 1 : 0, UInt32(i.dst.rawValue), UInt32(i.src.rawValue),
                      UInt32(i.mod), UInt32(i.reg), UInt32(i.rm), UInt32(i.base), UInt32(i.index), UInt32(i.scale),
                      i.disp, i.imm, i.imm2, UInt32(i.cond), UInt32(i.opcode), UInt32(i.map), UInt32(i.traitBits)]
        case .invalid(let n): kind = 1; length = n
        case .needMore: kind = 2; length = 0
        case .tooLong: kind = 3; length = 0
        }
    }
}

@Suite struct DecoderRobustnessTests {
    /// About 9 s in a debug build on the reference machine.
    static let strings = 2_000_000

    /// Random byte strings of 0-16 bytes (one in five in a 16-bit code segment) decode to one of the four results
    /// without crashing; lengths stay within the 15-byte limit and the
    /// buffer; decoding is deterministic; a buffer of 15 bytes or more never
    /// asks for more; an instruction cut anywhere asks for more, then
    /// decodes the same once complete.
    @Test func randomBytes() {
        var rng = SplitMix64(seed: 0xDEC0DE)
        let pool = 1 << 16
        var buf = [UInt8](repeating: 0, count: pool + 32)
        for i in 0..<buf.count { buf[i] = UInt8(truncatingIfNeeded: rng.next()) }
        // Bias part of the pool towards prefixes and two-byte opcodes, where the edge cases are.
        for i in stride(from: 0, to: pool, by: 7) where rng.next() % 3 == 0 {
            let specials: [UInt8] = [0x66, 0x67, 0xF0, 0xF2, 0xF3, 0x26, 0x64, 0x0F, 0x0F, 0x0F]
            buf[i] = specials[Int(rng.next() % UInt64(specials.count))]
        }
        // And runs of 10-16 prefixes, to reach the 15-byte limit.
        for start in stride(from: 0, to: pool, by: 512) {
            let prefixes: [UInt8] = [0x66, 0x67, 0xF0, 0xF2, 0xF3, 0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65]
            for i in start..<(start + 10 + Int(rng.next() % 7)) { buf[i] = prefixes[Int(rng.next() % UInt64(prefixes.count))] }
        }
        var counts = [0, 0, 0, 0]
        var failures: [String] = []
        func fail(_ s: String) { if failures.count < 20 { failures.append(s) } }
        buf.withUnsafeBufferPointer { b in
            let base = b.baseAddress!
            for n in 0..<Self.strings {
                let off = Int(rng.next() % UInt64(pool))
                let count = Int(rng.next() % 17)
                let p = base + off
                let code16 = n % 5 == 4
                let r = Decoder.decode(p, count: count, code16: code16)
                let s = DecodeSummary(r)
                counts[s.kind] += 1
                var hex: String { (0..<count).map { String(p[$0], radix: 16) }.joined(separator: " ") }
                switch r {
                case .ok(let i):
                    if i.length < 1 || Int(i.length) > Decoder.maxLength || Int(i.length) > count { fail("ok length \(i.length): \(hex)") }
                case .invalid(let len):
                    if len < 1 || len > Decoder.maxLength || len > count { fail("invalid length \(len): \(hex)") }
                case .needMore:
                    if count >= Decoder.maxLength { fail("needMore with \(count) bytes: \(hex)") }
                case .tooLong: break
                }
                if DecodeSummary(Decoder.decode(p, count: count, code16: code16)) != s { fail("not deterministic: \(hex)") }
                // Straddling: every cut of a complete instruction asks for more, on a sample.
                if n % 8 == 0, case .ok(let i) = r {
                    for k in 0..<Int(i.length) {
                        if DecodeSummary(Decoder.decode(p, count: k, code16: code16)).kind != 2 { fail("cut at \(k) of \(hex) does not ask for more") }
                    }
                    if DecodeSummary(Decoder.decode(p, count: Int(i.length), code16: code16)) != s { fail("exact length differs: \(hex)") }
                }
            }
        }
        print("decoder robustness: \(Self.strings) strings: ok \(counts[0]), invalid \(counts[1]), needMore \(counts[2]), tooLong \(counts[3])")
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
        #expect(counts[0] > 0 && counts[1] > 0 && counts[2] > 0)
    }

    @Test func edgeCases() {
        // An empty buffer asks for more.
        #expect(DecodeSummary(Decoder.decode([])).kind == 2)
        // Fifteen prefixes are too long; fourteen and a NOP are not.
        #expect(DecodeSummary(Decoder.decode([UInt8](repeating: 0x66, count: 15) + [0x90])).kind == 3)
        #expect(DecodeSummary(Decoder.decode([UInt8](repeating: 0x3E, count: 14) + [0x90])).length == 15)
        // 16 bytes of instruction: prefixes push the displacement past the limit.
        let long = [UInt8](repeating: 0x26, count: 10) + [0x67, 0x81, 0x40, 0x10, 0x78, 0x56]   // add dword [bx+si+0x10],imm32: 18 bytes
        #expect(DecodeSummary(Decoder.decode(long)).kind == 3)
        let long16 = [UInt8](repeating: 0x26, count: 12) + [0x67, 0x8B, 0x40, 0x10]            // 16 with the disp8
        #expect(DecodeSummary(Decoder.decode(long16)).kind == 3)
        #expect(DecodeSummary(Decoder.decode(Array(long16.prefix(15)))).kind == 3)
        // A straddling instruction: needMore until complete.
        let ins: [UInt8] = [0x66, 0xC7, 0x84, 0x88, 0x10, 0x00, 0x00, 0x00, 0x34, 0x12]
        for k in 0..<ins.count { #expect(DecodeSummary(Decoder.decode(Array(ins.prefix(k)))).kind == 2, "\(k)") }
        #expect(DecodeSummary(Decoder.decode(ins)).length == ins.count)
        // OUT and OUTSB are byte-sized although their first operand is the port.
        for b: [UInt8] in [[0xEE], [0xE6, 0x80], [0x6E], [0x66, 0xEE]] {
            if case .ok(let i) = Decoder.decode(b) { #expect(i.osize == 1, "\(b)") } else { Issue.record("\(b)") }
        }
        if case .ok(let i) = Decoder.decode([0xEF]) { #expect(i.osize == 4) }
        // NOP Ev takes any reg field.
        if case .ok(let i) = Decoder.decode([0x0F, 0x1F, 0x70, 0x00]) { #expect(i.op == .nop && i.length == 4) }
        else { Issue.record("0F 1F /6") }
    }
}
