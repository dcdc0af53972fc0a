import Testing
@testable import Monitors
import PC
import X86

/// `bt` (issue 7, the binary-translation part): guest kernel code runs only
/// from the translation cache, yet every demo prints exactly QEMU's output
/// and exits with its status — the holes of `trap` are closed by rewriting.
@Suite struct BTTests {
    static let demos = ["hello", "sensitive", "rings", "timer", "minikernel", "minikernel-panic", "systest", "smc"]

    @Test(arguments: demos)
    func demoMatchesQEMU(_ name: String) throws {
        let run = try DemoRun.run(name, .bt)
        try DemoRun.expectQEMU(name, run)
        let bt = try #require(run.vm.monitor as? BTMonitor)
        #expect(bt.stats.blocks > 0)
        #expect(run.vm.log.count(.silent) == 0)
    }

    /// The CPU never executes guest kernel code as written: whenever it runs
    /// at CPL 1 its CS is the translation cache's segment and EIP lies in the cache.
    @Test func kernelCodeRunsOnlyFromTheCache() throws {
        let path = DemoRun.root + "/demos/build/minikernel.elf"
        let vm = try #require(VirtualMachine(technique: .bt))
        _ = try vm.load(GuestLoader.read(path), path: path, options: GuestOptions())
        var kernelSteps = 0
        for _ in 0..<200_000 {
            let cpu = vm.machine.cpu
            if cpu.cpl == 1 {
                kernelSteps += 1
                #expect(cpu.segs[Seg.cs].selector & ~3 == MonitorLayout.tcSelector, "CS \(hex(cpu.segs[Seg.cs].selector))")
                #expect(cpu.eip >= MonitorLayout.linear(ofHost: MonitorLayout.tcStart), "EIP \(hex(cpu.eip))")
                if cpu.segs[Seg.cs].selector & ~3 != MonitorLayout.tcSelector { break }
            }
            if case .debugExit = vm.run(maxInstructions: 1) { break }
        }
        #expect(kernelSteps > 1000)
    }

    /// The sensitive demo: every sensitive instruction of its kernel is a
    /// callout or an inline rewrite, never IDENT.
    @Test func sensitiveInstructionsAreRewritten() throws {
        let run = try DemoRun.run("sensitive", .bt)
        let bt = try #require(run.vm.monitor as? BTMonitor)
        let rows = bt.translatedBlocks.flatMap(\.rows)
        let sensitive = ["sgdt", "sidt", "sldt", "str", "smsw", "pushf", "popf", "lar", "lsl", "verr", "verw", "iret", "cli", "sti"]
        for name in sensitive {
            let found = rows.filter { $0.original.hasPrefix(name + " ") || $0.original == name }
            #expect(!found.isEmpty, "\(name) was never translated")
            for r in found { #expect(r.rewrite != .ident, "\(r.original) at \(hex(r.guest)) copied as it is") }
        }
        #expect(rows.contains { $0.original.hasPrefix("mov eax,cr0") && $0.rewrite == .inline })
        #expect(rows.contains { $0.rewrite == .branch })
        #expect(bt.stats.chains > 0)
        #expect(run.vm.log.count(.callout) > 0)
    }

    /// Self-modifying code: each patch faults on the write-protected page,
    /// drops that page's blocks, and the new bytes are translated.
    @Test func selfModifyingCodeInvalidates() throws {
        let run = try DemoRun.run("smc", .bt)
        let bt = try #require(run.vm.monitor as? BTMonitor)
        #expect(bt.stats.invalidations >= 3)
        #expect(run.vm.log.count(.invalidation) >= 3)
        #expect(run.output.contains("all three ran the new bytes"))
    }

    /// Returns go through the return table: bench-short returns from its
    /// helper 100,000 times; only the first return to each call site misses.
    @Test func returnsMostlyAvoidTheMonitor() throws {
        let run = try DemoRun.run("bench-short", .bt)
        try DemoRun.expectQEMU("bench-short", run)
        let misses = run.vm.log.countsByInstruction["ret"] ?? 0
        #expect(misses > 0)
        #expect(misses < 20, "returns missed the table \(misses) times")
    }

    /// Adaptive translation: the PTE-writing store of nano-ptemod faults on
    /// the traced table three times, then is retranslated and writes with no fault.
    @Test func pteWritesAdapt() throws {
        let run = try DemoRun.run("nano-ptemod", .bt)
        try DemoRun.expectQEMU("nano-ptemod", run)
        let writes = run.vm.log.entries.filter { $0.kind == .ptWrite }
        let faulting = writes.filter { $0.cycles == run.vm.cost.ptWrite }
        let adapted = writes.filter { $0.cycles == run.vm.cost.adaptivePTWrite }
        #expect(faulting.count == BTMonitor.adaptThreshold, "\(faulting.count) traced writes took a fault")
        #expect(adapted.count > 1000)
        #expect(run.vm.log.entries.contains { $0.kind == .invalidation && $0.outcome.hasPrefix("adaptive") })
    }

    /// A small cache fills again and again: every flush drops translations,
    /// chains, landing pads and call-gate targets, and the guests still run as on QEMU.
    @Test(arguments: ["minikernel", "systest", "rings"])
    func aFullCacheIsFlushed(_ name: String) throws {
        let path = DemoRun.root + "/demos/build/\(name).elf"
        let vm = try #require(VirtualMachine(technique: .bt))
        let bt = try #require(vm.monitor as? BTMonitor)
        bt.cacheCapacity = 4096
        var bytes: [UInt8] = []
        vm.machine.onSerialOutput = { bytes.append($0) }
        _ = try vm.load(GuestLoader.read(path), path: path, options: GuestOptions())
        let stop = vm.run(maxInstructions: 100_000_000)
        try DemoRun.expectQEMU(name, DemoRun(output: String(decoding: bytes, as: UTF8.self), stop: stop, vm: vm))
        #expect(bt.stats.flushes > 0)
    }

    /// A trap frame pushed for the guest holds the guest's CS:EIP, never the cache's.
    @Test func framesHoldGuestAddresses() throws {
        let run = try DemoRun.run("rings", .bt)
        for e in run.vm.log.entries where e.kind == .exception {
            #expect(e.eip < MonitorLayout.window, "\(e.jsonLine)")
        }
    }
}
