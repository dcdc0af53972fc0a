import Foundation
import Testing
@testable import X86

/// The CPU against Unicorn (oracles.md): recorded vectors from
/// tools/difftest/gen.py, checked instruction by instruction — registers,
/// EIP and EFLAGS after every step (under the mask of flags the SDM leaves
/// undefined) and the data window at the end.  `RINGSIDE_VECTORS=DIR` points
/// the test at a fresh set (`make difftest`).
@Suite struct DifferentialTests {
    struct Chunk: Decodable { let address: UInt32; let hex: String }
    struct Case: Decodable {
        let name: String
        let asm: [String]
        let code: String
        let `init`: [String: UInt32]
        let memory: [Chunk]
        let steps: [[String: UInt32]]
        let final_memory: [Chunk]
    }
    struct VectorFile: Decodable { let family: String; let cases: [Case] }

    static let registers = Reg.names32

    static func vectorFiles() -> [URL] {
        let dir: URL
        if let env = ProcessInfo.processInfo.environment["RINGSIDE_VECTORS"] {
            dir = URL(fileURLWithPath: env)
        } else if let bundled = Bundle.module.url(forResource: "Vectors", withExtension: nil) {
            dir = bundled
        } else {
            return []
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { $0.hasSuffix(".json") && !$0.hasPrefix("disasm") }.sorted().map { dir.appendingPathComponent($0) }
    }

    @Test func vectorsArePresent() {
        #expect(Self.vectorFiles().count >= 8, "expected the recorded Unicorn vector families in Tests/X86Tests/Vectors")
    }

    @Test(arguments: vectorFiles())
    func family(_ url: URL) throws {
        let file = try JSONDecoder().decode(VectorFile.self, from: Data(contentsOf: url))
        var failures: [String] = []
        var steps = 0
        for c in file.cases {
            steps += c.steps.count
            if let f = Self.check(c) { failures.append(f) }
        }
        let report = failures.prefix(15).joined(separator: "\n")
        #expect(failures.isEmpty, "\(file.family): \(failures.count) of \(file.cases.count) cases diverge (\(steps) steps)\n\(report)")
    }

    /// Runs one case; returns a description of the first divergence, or nil.
    static func check(_ c: Case) -> String? {
        let m = TestMachine()
        m.load(bytes(fromHex: c.code), at: 0x1000)
        for chunk in c.memory { m.load(bytes(fromHex: chunk.hex), at: chunk.address) }
        let cpu = m.cpu
        for (i, name) in registers.enumerated() { cpu.regs[i] = c.`init`[name] ?? 0 }
        cpu.setEFLAGS(c.`init`["eflags"] ?? 2)
        cpu.eip = 0x1000
        for (n, step) in c.steps.enumerated() {
            let before = cpu.eip
            if let stop = cpu.step() {
                return "\(c.name) step \(n) [\(text(c, before))]: stopped with \(stop)"
            }
            var diffs: [String] = []
            if cpu.eip != step["eip"]! { diffs.append("eip \(hex(cpu.eip)) != \(hex(step["eip"]!))") }
            for (i, name) in registers.enumerated() where cpu.regs[i] != step[name]! {
                diffs.append("\(name) \(hex(cpu.regs[i])) != \(hex(step[name]!))")
            }
            let mask = ~(step["mask"] ?? 0)
            if cpu.eflags & mask != step["eflags"]! & mask {
                diffs.append("eflags \(hex(cpu.eflags & mask)) != \(hex(step["eflags"]! & mask)) (mask \(hex(~mask)))")
            }
            if !diffs.isEmpty {
                return "\(c.name) step \(n) [\(text(c, before))]: " + diffs.joined(separator: ", ")
            }
        }
        for chunk in c.final_memory {
            let want = bytes(fromHex: chunk.hex)
            for (k, b) in want.enumerated() where UInt8(cpu.readPhysical(chunk.address + UInt32(k), 1)) != b {
                return "\(c.name): memory at \(hex(chunk.address + UInt32(k))) is \(hex(cpu.readPhysical(chunk.address + UInt32(k), 1), digits: 2)), Unicorn \(hex(b, digits: 2))"
            }
        }
        return nil
    }

    /// The source line of the instruction at `eip`, found by decoding from the start.
    static func text(_ c: Case, _ eip: UInt32) -> String {
        let code = bytes(fromHex: c.code)
        var offset = 0
        for line in c.asm {
            if UInt32(0x1000 + offset) == eip { return line }
            guard case .ok(let ins) = Decoder.decode(Array(code[offset...])) else { break }
            offset += Int(ins.length)
        }
        return "eip \(hex(eip))"
    }
}
