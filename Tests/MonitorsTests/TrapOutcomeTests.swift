import Testing
import Monitors
import PC
import X86

/// Each demo under `trap`, asserted line by line against QEMU's output with
/// the differences IA-32 forces on a ring-compressed kernel (docs/techniques.md
/// "trap").  Every expected difference names its cause; any other difference
/// fails.
@Suite struct TrapOutcomeTests {
    /// Replaces expected native lines (by prefix) with what the CPU produces at CPL 1.
    typealias Difference = (native: String, trap: String, why: String)

    func check(_ name: String, _ differences: [Difference], status: Int32 = 33) throws {
        let run = try DemoRun.run(name, .trap)
        var want = try DemoRun.expected(name).lines
        for d in differences {
            let i = try #require(want.firstIndex(of: d.native), "expected native line missing: \(d.native)")
            want[i] = d.trap
        }
        let got = run.output.lines
        for (k, (w, g)) in zip(want, got).enumerated() where w != g {
            Issue.record("\(name) line \(k + 1): expected \"\(w)\", got \"\(g)\"")
        }
        #expect(got.count == want.count, "\(name): \(got.count) lines, expected \(want.count)")
        #expect(run.stop.exitStatus == status)
    }

    @Test func helloIsUnaffected() throws {
        try check("hello", [])
    }

    @Test func sensitiveShowsEveryHole() throws {
        try check("sensitive", [
            ("sgdt: base=0x00101000 limit=0x0047", "sgdt: base=0xffc10000 limit=0xffff",
             "SGDT does not trap at CPL 1: it stores the monitor's GDTR (the red pill)"),
            ("sidt: base=0x00102000 limit=0x07ff", "sidt: base=0xffc20000 limit=0x07ff",
             "SIDT stores the monitor's IDTR base"),
            ("sldt: selector=0x0030", "sldt: selector=0xffe8", "SLDT stores the monitor's LDT selector"),
            ("str: selector=0x0028", "str: selector=0xfff0", "STR stores the monitor's TSS selector"),
            ("popf set IF=1 IOPL=3: eflags=0x00003202 IF=1 IOPL=3", "popf set IF=1 IOPL=3: eflags=0x00000002 IF=0 IOPL=0",
             "POPF at CPL 1 > IOPL 0 changes neither IF nor IOPL, and does not fault"),
            ("iret set IF=1 IOPL=3: eflags=0x00003202 IF=1 IOPL=3", "iret set IF=1 IOPL=3: eflags=0x00000002 IF=0 IOPL=0",
             "IRET at CPL 1 follows the same rule as POPF"),
            ("lar  0x0008: ZF=1 ar=0x00c09b00", "lar  0x0008: ZF=1 ar=0x00c0bb00", "LAR shows the compressed DPL 1"),
            ("lsl  0x0008: ZF=1 limit=0xffffffff", "lsl  0x0008: ZF=1 limit=0xff7fffff", "LSL shows the truncated limit"),
            ("lar  0x0010: ZF=1 ar=0x00c09300", "lar  0x0010: ZF=1 ar=0x00c0b300", "LAR shows the compressed DPL 1"),
            ("lsl  0x0010: ZF=1 limit=0xffffffff", "lsl  0x0010: ZF=1 limit=0xff7fffff", "LSL shows the truncated limit"),
            ("lsl  0x001b: ZF=1 limit=0xffffffff", "lsl  0x001b: ZF=1 limit=0xff7fffff", "user segments are truncated too"),
            ("lsl  0x0023: ZF=1 limit=0xffffffff", "lsl  0x0023: ZF=1 limit=0xff7fffff", "user segments are truncated too"),
            ("lar  0x0028: ZF=1 ar=0x00008b00", "lar  0x0028: ZF=1 ar=0x0000ab00", "the guest's TSS descriptor, DPL compressed"),
            ("lar  0x0030: ZF=1 ar=0x00008200", "lar  0x0030: ZF=1 ar=0x0000a200", "the guest's LDT descriptor, DPL compressed"),
            ("push cs: 0x0008", "push cs: 0x0009", "the CS selector's RPL is the real CPL, 1"),
            ("push ss: 0x0010", "push ss: 0x0011", "SS must have RPL = CPL = 1"),
            ("mov ax,cs: 0x0008 cpl=0", "mov ax,cs: 0x0009 cpl=1", "MOV r/m, Sreg reveals ring 1"),
            ("mov ax,ss: 0x0010", "mov ax,ss: 0x0011", "MOV r/m, Sreg reveals ring 1"),
            ("call far 0x0038 (call gate): arrived cs=0x0008 pushed cs=0x0008",
             "call far 0x0038 (call gate): arrived cs=0x0009 pushed cs=0x0009", "far CALL through a gate keeps CPL 1"),
            ("retf: back at cs=0x0008", "retf: back at cs=0x0009", "far RET back to ring 1"),
            ("jmp far 0x0040 (call gate): arrived cs=0x0008", "jmp far 0x0040 (call gate): arrived cs=0x0009", "far JMP at CPL 1"),
            ("jmp far 0x0008: back at cs=0x0008", "jmp far 0x0008: back at cs=0x0009", "a far JMP loads RPL = CPL"),
            ("int 0x30: arrived cs=0x0008 pushed cs=0x0008", "int 0x30: arrived cs=0x0009 pushed cs=0x0009",
             "INT n pushes the real CS, RPL 1"),
            ("iret: back at cs=0x0008", "iret: back at cs=0x0009", "IRET returns to ring 1"),
        ])
    }

    @Test func ringsUserModeRunsWithInterruptsOff() throws {
        try check("rings", [
            ("user: popf tried to clear IF; eflags now 0x00000202 (IF still 1, no fault)",
             "user: popf tried to clear IF; eflags now 0x00000002 (IF still 1, no fault)",
             "the kernel's IRET to ring 3 ran at CPL 1, so it could not set IF: user code runs with IF = 0"),
        ])
    }

    @Test func timerLosesCLIThroughPOPF() throws {
        try check("timer", [
            ("popf IF=0: IF=0", "popf IF=0: IF=1", "POPF at CPL 1 cannot clear IF"),
            ("popf IF=0: IF=0, ticks during a spin: 0", "popf IF=0: IF=1, ticks during a spin: 0",
             "POPF at CPL 1 cannot clear IF (no tick came only because the spin is shorter than a period)"),
        ])
    }

    /// The kernel returns to its processes with IRET at CPL 1, which cannot set
    /// IF: the timer is never taken again, the process that sleeps never wakes,
    /// and the one that never yields runs forever.
    @Test func minikernelLosesItsTimer() throws {
        let run = try DemoRun.run("minikernel", .trap, maxInstructions: 20_000_000)
        let want = try DemoRun.expected("minikernel").lines
        let got = run.output.lines.filter { !$0.isEmpty }
        let cut = try #require(want.firstIndex(of: "pong: round 1: got 3, answering 9 after a nap"))
        #expect(got == Array(want[...cut]))
        #expect(run.stop == .instructionLimit)
    }

    @Test func trapLogRecordsEmulationsAndSilentInstructions() throws {
        let run = try DemoRun.run("sensitive", .trap)
        let log = run.vm.log
        #expect(log.count(.emulated) > 0)
        #expect(log.count(.silent) > 0)
        #expect(log.count(.shadowFault) > 0)
        let popf = log.entries.first { $0.kind == .silent && $0.instruction.hasPrefix("popf") }
        #expect(popf?.guestCPL == 0 && popf?.realCPL == 1)
        let sgdt = log.entries.first { $0.kind == .silent && $0.instruction.hasPrefix("sgdt") }
        #expect(sgdt?.outcome.contains("0xffc10000") == true)
    }
}
