import Testing
@testable import Monitors
import PC
import X86

/// `bt` (issue 7, the binary-translation part): guest kernel code runs only
/// from the translation cache, yet every demo prints exactly QEMU's output
/// and exits with its status — the holes of `trap` are closed by rewriting.
@Suite struct BTTests {
    static let demos = ["hello", "sensitive", "rings", "timer", "minikernel", "minikernel-panic", "systest"]

    func expectNative(_ name: String, _ run: DemoRun) throws {
        let want = try DemoRun.expected(name).lines
        let got = run.output.lines
        for (k, (w, g)) in zip(want, got).enumerated() where w != g {
            Issue.record("\(name) line \(k + 1): expected \"\(w)\", got \"\(g)\"")
        }
        #expect(got.count == want.count, "\(name): \(got.count) lines, expected \(want.count)")
        let status = Int32(try DemoRun.text(path: "demos/expected/\(name).status").filter(\.isNumber)) ?? -1
        #expect(run.stop.exitStatus == status, "\(name): \(run.stop)")
    }

    @Test(arguments: demos)
    func demoMatchesQEMU(_ name: String) throws {
        let run = try DemoRun.run(name, .bt)
        try expectNative(name, run)
        let bt = try #require(run.vm.monitor as? BTMonitor)
        #expect(bt.stats.blocks > 0)
        #expect(run.vm.log.count(.silent) == 0)
    }
}
