import Foundation
import Testing
@testable import Monitors
import PC
import X86

/// Golden listings of translated blocks (issue 7): tests/guests/btblocks.bin
/// runs under `bt` — every sensitive instruction, far transfers, LOOP and
/// JECXZ, self-modifying code and an instruction straddling a page — and
/// the translation cache's blocks, beside their guest code, must equal
/// tests/guests/expected/btblocks-bt.txt.  Re-record on purpose only:
/// RINGSIDE_RECORD=1 swift test --filter BTBlocksTests.
@Suite struct BTBlocksTests {
    static let golden = DemoRun.root + "/tests/guests/expected/btblocks-bt.txt"

    @Test func translatedBlocksMatchTheGolden() throws {
        let path = DemoRun.root + "/tests/guests/btblocks.bin"
        let vm = try #require(VirtualMachine(technique: .bt))
        let bt = try #require(vm.monitor as? BTMonitor)
        bt.keepsHistory = true
        var out: [UInt8] = []
        vm.machine.onSerialOutput = { out.append($0) }
        _ = try vm.load(GuestLoader.read(path), path: path, options: GuestOptions())
        let stop = vm.run(maxInstructions: 10_000_000)
        #expect(stop.exitStatus == 33, "\(stop)")
        #expect(String(decoding: out, as: UTF8.self).contains("0000002a smc"))
        // In the order they were made: the self-modified block appears twice, before and after.
        var text = bt.history.map { $0.listing() }.joined(separator: "\n")
        text += "\n\(bt.stats.blocks) blocks translated, \(bt.stats.invalidations) invalidated, \(bt.stats.chains) chains\n"
        if ProcessInfo.processInfo.environment["RINGSIDE_RECORD"] == "1" {
            try text.write(toFile: Self.golden, atomically: true, encoding: .utf8)
            return
        }
        let want = try String(contentsOfFile: Self.golden, encoding: .utf8)
        let a = want.split(separator: "\n", omittingEmptySubsequences: false)
        let b = text.split(separator: "\n", omittingEmptySubsequences: false)
        for (k, (x, y)) in zip(a, b).enumerated() where x != y {
            Issue.record("line \(k + 1): expected \"\(x)\", got \"\(y)\"")
            break
        }
        #expect(a.count == b.count)
    }

    /// The block holding the instruction that straddles 0x102000 came from both pages.
    @Test func aBlockMayCrossAPage() throws {
        let run = try DemoRun.run(path: "tests/guests/btblocks.bin", .bt)
        let bt = try #require(run.vm.monitor as? BTMonitor)
        let b = try #require(bt.block(containing: 0x101FFA))
        #expect(b.guestStart <= 0x101FFA && b.guestEnd > 0x102000)
        #expect(b.frames.count == 2)
    }
}
