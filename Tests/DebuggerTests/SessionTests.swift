// The session as the TUI and the gdb stub will use it: structured results,
// sourced files, and the promise that debugging does not change the guest.

import Foundation
import Testing
@testable import Debugger
import Monitors
import PC
import X86

func session(_ guest: String, maxInstructions: UInt64? = 50_000_000) throws -> Session {
    var o = SessionOptions()
    o.maxInstructions = maxInstructions
    return try Session(guestPath: GoldenFiles.repositoryRoot.appendingPathComponent("demos/build/" + guest).path, options: o)
}

func temporaryFile(_ name: String, _ text: String) throws -> String {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("ringside-\(ProcessInfo.processInfo.processIdentifier)-\(name)")
    try text.write(to: url, atomically: true, encoding: .utf8)
    return url.path
}

@Suite("Session")
struct SessionTests {
    @Test("results are values and events, not text")
    func structured() throws {
        let s = try session("hello.elf")
        let p = s.execute("p/x 42")
        #expect(p.outputs == [.value(number: 1, value: .int(42), text: "0x2a")])
        #expect(s.history == [.int(42)])
        _ = s.execute("break _start.wait")
        let c = s.execute("continue")
        #expect(c.error == nil)
        #expect(c.outputs.last == .stop(StopEvent(reason: .breakpoint(1, temporary: false), address: 0x100021, function: "_start.wait")))
        let e = s.execute("continue")
        #expect(e.outputs.contains(.serial(Array("H".utf8))))
        let end = s.execute("continue")
        #expect(end.outputs.last == .stop(StopEvent(reason: .breakpoint(1, temporary: false), address: 0x100021, function: "_start.wait")))
        _ = s.execute("delete")
        let exit = s.execute("continue")
        guard case .stop(let ev) = exit.outputs.last, case .ended(let stop) = ev.reason else {
            Issue.record("no end event"); return
        }
        #expect(stop == .debugExit(33))
        #expect(s.ended == .debugExit(33))
        #expect(s.execute("stepi").error == CommandError("The program is not being run."))
    }

    @Test("parse errors come back with their column; execution errors without")
    func errors() throws {
        let s = try session("hello.elf")
        #expect(s.execute("p 1 +").error == CommandError("A syntax error in expression, near `'.", column: 6))
        #expect(s.execute("p nosuch").error == CommandError("No symbol \"nosuch\" in current context."))
        #expect(s.execute("  ").outputs.isEmpty && s.execute("# x").error == nil)
        let q = s.execute("quit 3")
        #expect(q.quit && q.quitStatus == 3)
    }

    @Test("source runs a file without echo; its errors name the file and line; quit inside ends")
    func source() throws {
        let s = try session("hello.elf")
        let inner = try temporaryFile("inner.rsc", "# comment\np 1\np 2\n")
        let r = s.execute("source \(inner)")
        #expect(r.error == nil)
        #expect(r.text == "$1 = 1\n$2 = 2\n")
        let bad = try temporaryFile("bad.rsc", "p 3\n\np nosuch\np 4\n")
        let b = s.execute("source \(bad)")
        #expect(b.text == "$3 = 3\n")
        #expect(b.error?.file == bad && b.error?.line == 3)
        var out = ""
        var w = TranscriptWriter()
        let runner = ScriptRunner(session: s) { out += w.render($0) }
        #expect(runner.run(text: "p 5\nsource \(bad)\np 6\n", file: "outer.rsc") == .failed)
        #expect(out.hasSuffix("\(bad):3: error: No symbol \"nosuch\" in current context.\n"))
        let parseBad = try temporaryFile("parse.rsc", "p (1\n")
        #expect(s.execute("source \(parseBad)").error == {
            var e = CommandError("A syntax error in expression, near `'.", column: 5)
            e.file = parseBad; e.line = 1
            return e
        }())
        let quitting = try temporaryFile("quit.rsc", "p 7\nquit 9\np 8\n")
        let q = s.execute("source \(quitting)")
        #expect(q.quit && q.quitStatus == 9)
        #expect(s.execute("source /nonexistent/x.rsc").error?.message == "/nonexistent/x.rsc: No such file or directory.")
        let loop = try temporaryFile("loop.rsc", "")
        try "source \(loop)\n".write(toFile: loop, atomically: true, encoding: .utf8)
        #expect(s.execute("source \(loop)").error?.message == "\(loop): recursive source.")
    }

    @Test("catchpoints, breakpoints and finish leave the guest's run unchanged")
    func noPerturbation() throws {
        let plain = try session("rings.elf")
        _ = plain.execute("continue")
        let debugged = try session("rings.elf")
        for c in ["catch trap 0x80", "catch trap #BP", "catch trap #PF", "catch ring", "break t_syscall"] { _ = debugged.execute(c) }
        var serial: [UInt8] = []
        var stops = 0
        while debugged.ended == nil && stops < 500 {
            let r = debugged.execute(stops % 7 == 3 ? "finish" : stops % 5 == 1 ? "nexti" : "continue")
            #expect(r.error == nil)
            for o in r.outputs { if case .serial(let b) = o { serial += b } }
            stops += 1
        }
        #expect(debugged.ended == .debugExit(33))
        #expect(stops > 20)
        #expect(debugged.machine.cpu.instructions == plain.machine.cpu.instructions)
        let expected = try String(contentsOfFile: GoldenFiles.repositoryRoot.appendingPathComponent("demos/expected/rings.out").path, encoding: .utf8)
        #expect(String(decoding: serial, as: UTF8.self) == expected)
    }

    @Test("a caught fault is delivered once on continue, and caught again next time")
    func catchOnce() throws {
        let s = try session("rings.elf")
        _ = s.execute("catch trap #GP")
        var addresses: [UInt32] = []
        for _ in 0..<3 {
            let r = s.execute("continue")
            if case .stop(let e) = r.outputs.last { addresses.append(e.address) }
        }
        #expect(addresses == [0x1020d2, 0x1020e3, 0x1020f0])
        #expect(s.breakpointList[0].hitCount == 3)
    }

    @Test("nexti steps over a call whose callee hits nothing; a breakpoint inside stops it")
    func nextiOverCall() throws {
        let s = try session("minikernel.elf")
        _ = s.execute("break *0x10011b")          // call console_init
        _ = s.execute("continue")
        let r = s.execute("nexti")
        #expect(r.outputs.last == .stop(StopEvent(reason: .location, address: 0x100120, function: "kmain")))
        let t = try session("minikernel.elf")
        _ = t.execute("break *0x10011b")
        _ = t.execute("continue")
        _ = t.execute("break arch_outb")
        let u = t.execute("nexti")
        guard case .stop(let e) = u.outputs.last else { Issue.record("no stop"); return }
        #expect(e.reason == .breakpoint(2, temporary: false))
        #expect(e.function == "arch_outb")
    }

    @Test("the instruction limit stops a run and the guest can go on")
    func limit() throws {
        let s = try session("rings.elf", maxInstructions: 1000)
        let r = s.execute("continue")
        guard case .stop(let e) = r.outputs.last else { Issue.record("no stop"); return }
        #expect(e.reason == .limit)
        #expect(s.machine.cpu.instructions == 1000)
        #expect(s.ended == nil)
        _ = s.execute("continue")
        #expect(s.machine.cpu.instructions == 2000)
    }

    @Test("technique: native restarts, bt restarts under binary translation; unknown names are refused")
    func technique() throws {
        let s = try session("hello.elf")
        _ = s.execute("break _start.wait")
        _ = s.execute("continue")
        #expect(s.machine.cpu.instructions > 0)
        #expect(s.execute("technique native").error == nil)
        #expect(s.machine.cpu.instructions == 0)
        #expect(s.breakpointList.count == 1 && s.breakpointList[0].hitCount == 0)
        #expect(s.execute("technique bt").error == nil)
        #expect(s.technique == "bt" && s.machine.cpu.cpl == 1 && s.monitor.vcpu.cpl == 0)
        #expect(s.execute("technique nope").error?.message == "unknown technique 'nope' (native, trap, bt, vtx or pv)")
        var o = SessionOptions()
        o.technique = "nope"
        #expect(throws: LoadError.self) {
            _ = try Session(guestPath: GoldenFiles.repositoryRoot.appendingPathComponent("demos/build/hello.elf").path, options: o)
        }
    }

    @Test("verbs that need a monitor say so, as errors a script sees")
    func monitorVerbs() throws {
        let s = try session("hello.elf")
        for c in ["info vcpu", "info shadow 0x1000", "info ept 0", "info tc", "info vmcs", "translate 0x100000",
                  "traps", "traps --last 3", "catch silent", "catch hypercall", "catch exit"] {
            #expect(s.execute(c).error?.message == "not available under native", "\(c)")
        }
        // Watchpoints work under every technique; a register is not memory.
        #expect(s.execute("watch $eax").error?.message
                == "Cannot watch `$eax': it is not in memory (Ringside's watchpoints are hardware watchpoints).")
        #expect(s.execute("awatch *(int *) 0").text == "Hardware access (read/write) watchpoint 1: *(int *) 0\n")
    }
}

@Suite("Session under trap")
struct TrapSessionTests {
    func session(_ guest: String) throws -> Session {
        var o = SessionOptions()
        o.technique = "trap"
        o.maxInstructions = 50_000_000
        return try Session(guestPath: GoldenFiles.repositoryRoot.appendingPathComponent("demos/build/" + guest).path, options: o)
    }

    @Test("technique switches between native, trap and bt; each verb answers for its technique")
    func switching() throws {
        let s = try session("hello.elf")
        #expect(s.technique == "trap")
        #expect(s.machine.cpu.cpl == 1 && s.monitor.vcpu.cpl == 0)
        #expect(s.execute("technique native").error == nil)
        #expect(s.technique == "native" && s.machine.cpu.cpl == 0)
        #expect(s.execute("technique trap").error == nil)
        #expect(s.machine.cpu.cpl == 1)
        #expect(s.execute("info ept 0").error?.message == "not available under trap")
        #expect(s.execute("catch exit").error?.message == "not available under trap")
        #expect(s.execute("translate").error?.message == "not available under trap")
        #expect(s.execute("technique bt").error == nil)
        #expect(s.execute("info ept 0").error?.message == "not available under bt")
        // Under bt the CPU runs the translation cache; the debugger shows the guest's address.
        #expect(s.machine.cpu.eip >= MonitorLayout.linear(ofHost: MonitorLayout.tcStart))
        #expect(s.linearEIP < MonitorLayout.window)
        #expect(s.execute("translate").text.hasPrefix("guest block "))
        #expect(s.execute("info tc").text.hasPrefix("translation cache: "))
    }

    @Test("under a monitor $crN are the monitor's and refuse writes; under bt set $eip goes to the new address's translation")
    func registersUnderMonitors() throws {
        let s = try session("sensitive.elf")
        #expect(s.execute("set $cr3 = 0x1000").error?.message
                == "Cannot set $cr3 under trap: the CPU's control registers are the monitor's; the guest's are in its vCPU (info vcpu).")
        #expect(s.execute("technique bt").error == nil)
        _ = s.execute("break _start.reload_cs")
        _ = s.execute("continue")
        let here = s.linearEIP
        _ = s.execute("stepi")
        #expect(s.linearEIP != here)
        #expect(s.execute("set $eip = _start.reload_cs").error == nil)
        #expect(s.linearEIP == here)
        #expect(s.machine.cpu.eip >= MonitorLayout.linear(ofHost: MonitorLayout.tcStart))
    }

    @Test("catch silent stops right after a sensitive instruction, chained with the monitor")
    func catchSilent() throws {
        let s = try session("sensitive.elf")
        _ = s.execute("catch silent")
        let r = s.execute("continue")
        guard case .stop(let e)? = r.outputs.first(where: { if case .stop = $0 { return true } else { return false } }) else {
            Issue.record("no stop"); return
        }
        #expect(e.reason == .catchpoint(1, "silent jmp 0x8:0x10019b"))
        #expect(e.address == 0x10019b)
        #expect(s.vm.log.count(.silent) == 1)
        // The monitor still emulates behind the debugger's hooks: the guest runs to its end.
        _ = s.execute("delete")
        let end = s.execute("continue")
        #expect(end.text.contains("exited with code"))
    }

    @Test("memory is read and written through the guest's view")
    func memory() throws {
        let s = try session("sensitive.elf")
        #expect(try s.readMemory(0x100990, count: 9) == Array("sensitive".utf8))
        #expect(s.execute("set var *(char *) 0x100990 = 0x53").error == nil)
        #expect(try s.readMemory(0x100990, count: 1) == [0x53])
        #expect(s.machine.cpu.readPhysical(0x0080_0000 + 0x100990, 1) == 0x53)
    }
}
