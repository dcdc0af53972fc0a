// watch, rwatch and awatch in the session: gdb's reports as values, its
// rules for what stops (a write of the same value does not), conditions,
// ignore counts, the table, and the same stops under native, trap and vtx
// (the watched addresses are guest-linear whatever translates them).
//
// minikernel's C globals: `nfree` (vm.c, the free-frame count: 1024 after
// vm_init, one less per frame program_load takes) and `current` (proc.c,
// the running process, set by the scheduler).

import Foundation
import Testing
@testable import Debugger
import PC
import X86

func minikernel(_ technique: String = "native") throws -> Session {
    var o = SessionOptions()
    o.technique = technique
    o.maxInstructions = 50_000_000
    return try Session(guestPath: GoldenFiles.repositoryRoot.appendingPathComponent("demos/build/minikernel.elf").path, options: o)
}

/// The stop event of a command's outputs.
func stopEvent(_ r: CommandResult) -> StopEvent? {
    for case .stop(let e) in r.outputs { return e }
    return nil
}

@Suite("Watchpoints in the session")
struct WatchpointSessionTests {
    @Test("watch reports the old and new value after the writing instruction")
    func writeWatch() throws {
        let s = try minikernel()
        let nfree = try #require(s.symbols.lookup("nfree")).address
        #expect(s.execute("watch nfree").text == "Hardware watchpoint 1: nfree\n")
        let e = try #require(stopEvent(s.execute("continue")))
        #expect(e.reason == .watchpoint([WatchTrigger(number: 1, kind: .write, expression: "nfree", old: "0", value: "1024")]))
        #expect(e.function == "vm_init")
        #expect(try s.read(nfree, size: 4) == 1024)
        // EIP is after the store: the instruction before it wrote nfree.
        #expect(e.address == s.linearEIP)
        let r = s.execute("continue")
        #expect(r.text.hasSuffix("\nHardware watchpoint 1: nfree\n\nOld value = 1024\nNew value = 1023\n"
                                 + "\(GDBFormat.frame(s.linearEIP, s.symbols))\n"))
        #expect(s.breakpointList[0].hitCount == 2)
    }

    /// timer.asm reads `ticks` while it tests IF (it stays 0: no interrupt
    /// is taken), then stores 0 into it before its main loop at `_start.wait`;
    /// irq0 increments it.
    @Test("a write of the value already there does not stop watch; awatch stops at reads")
    func sameValue() throws {
        let s = try session("timer.elf")
        let wait = try #require(s.symbols.lookup("_start.wait")).address
        #expect(try s.instruction(at: wait &- 12).text == "mov dword [dword 0x101028],0x0")
        _ = s.execute("watch ticks")
        _ = s.execute("break _start.wait")
        // The store of 0 over 0 passes: the breakpoint after it comes first.
        #expect(stopEvent(s.execute("continue"))?.reason == .breakpoint(2, temporary: false))
        let tick = try #require(stopEvent(s.execute("continue")))
        #expect(tick.reason == .watchpoint([WatchTrigger(number: 1, kind: .write, expression: "ticks", old: "0", value: "1")]))
        #expect(tick.function == "irq0")
        // An access watchpoint stops at the main loop's read, with `Value =`.
        _ = s.execute("delete 2")
        _ = s.execute("awatch ticks")
        let read = try #require(stopEvent(s.execute("continue")))
        #expect(read.reason == .watchpoint([WatchTrigger(number: 3, kind: .access, expression: "ticks", old: nil, value: "1")]))
        #expect(try s.instruction(at: read.address &- 5).text == "mov eax,[0x101028]")
    }

    @Test("rwatch reports reads with Value =; awatch tells a change from a plain access")
    func readAndAccess() throws {
        let s = try minikernel()
        _ = s.execute("awatch current")
        _ = s.execute("rwatch *(char *) &current")
        #expect(s.execute("info watchpoints").text == """
            Num     Type            Disp Enb Address    What
            1       acc watchpoint  keep y              current
            2       read watchpoint keep y              *(char *) &current

            """)
        let first = try #require(stopEvent(s.execute("continue")))
        #expect(first.reason == .watchpoint([WatchTrigger(number: 1, kind: .access, expression: "current",
                                                          old: "0", value: "1118240")]))
        #expect(first.function == "scheduler")
        let second = try #require(stopEvent(s.execute("continue")))
        guard case .watchpoint(let ts) = second.reason else { Issue.record("\(second)"); return }
        #expect(ts.map(\.number) == [1, 2])
        #expect(ts[0].old == nil && ts[0].value == "1118240")
        #expect(ts[1].old == nil && ts[1].value == "32 ' '")
    }

    @Test("conditions and ignore counts, as for breakpoints")
    func conditionAndIgnore() throws {
        let s = try minikernel()
        // A symbol's value is its address (no debug information): the condition reads memory.
        _ = s.execute("watch nfree if *(int *) &nfree < 1022")
        let e = try #require(stopEvent(s.execute("continue")))
        #expect(e.reason == .watchpoint([WatchTrigger(number: 1, kind: .write, expression: "nfree", old: "1022", value: "1021")]))
        #expect(s.execute("ignore 1 2").text == "Will ignore next 2 crossings of breakpoint 1.\n")
        let f = try #require(stopEvent(s.execute("continue")))
        #expect(f.reason == .watchpoint([WatchTrigger(number: 1, kind: .write, expression: "nfree", old: "1019", value: "1018")]))
        #expect(s.execute("info breakpoints").text == """
            Num     Type           Disp Enb Address    What
            1       hw watchpoint  keep y              nfree
            \tstop only if *(int *) &nfree < 1022
            \tbreakpoint already hit 4 times

            """)
    }

    @Test("disabled and deleted watchpoints leave the CPU's list; the guest runs to its end")
    func disableAndDelete() throws {
        let s = try minikernel()
        _ = s.execute("watch nfree")
        _ = s.execute("break kmain")
        _ = s.execute("disable 1")
        #expect(stopEvent(s.execute("continue"))?.reason == .breakpoint(2, temporary: false))
        #expect(s.machine.cpu.watchpoints.isEmpty)
        _ = s.execute("enable 1")
        #expect(stopEvent(s.execute("continue"))?.reason
                == .watchpoint([WatchTrigger(number: 1, kind: .write, expression: "nfree", old: "0", value: "1024")]))
        #expect(s.machine.cpu.watchpoints == [Watchpoint(address: try #require(s.symbols.lookup("nfree")).address,
                                                          length: 4, kind: .write)])
        _ = s.execute("delete")
        #expect(s.execute("info watchpoints").text == "No watchpoints.\n")
        let end = try #require(stopEvent(s.execute("continue")))
        #expect(end.reason == .ended(.debugExit(33)))
        #expect(s.machine.cpu.watchpoints.isEmpty)
    }

    @Test("stepi onto a watched write reports the watchpoint; a breakpoint after the store is not passed over")
    func stepping() throws {
        let s = try minikernel()
        _ = s.execute("watch nfree")
        _ = s.execute("continue")                       // vm_init's store
        let e = try #require(stopEvent(s.execute("continue")))   // program_load's: mov [nfree], eax
        let store = e.address &- 5
        #expect(try s.instruction(at: store).text == "mov [0x10c004],eax")
        // The next frame taken stores there again: break on the store, then step over it.
        _ = s.execute("break *\(store)")
        #expect(stopEvent(s.execute("continue"))?.reason == .breakpoint(2, temporary: false))
        let step = try #require(stopEvent(s.execute("stepi")))
        #expect(step.reason == .watchpoint([WatchTrigger(number: 1, kind: .write, expression: "nfree", old: "1023", value: "1022")]))
        #expect(step.address == e.address)
        // A breakpoint right after the store: the watchpoint reports first, the
        // breakpoint when the guest is resumed (before anything runs).
        _ = s.execute("break *\(e.address)")
        let count = s.machine.cpu.instructions
        let atOnce = try #require(stopEvent(s.execute("continue")))
        #expect(atOnce.reason == .breakpoint(3, temporary: false) && atOnce.address == e.address)
        #expect(s.machine.cpu.instructions == count, "nothing ran")
        #expect(stopEvent(s.execute("continue"))?.reason == .breakpoint(2, temporary: false))
        #expect(stopEvent(s.execute("continue"))?.reason
                == .watchpoint([WatchTrigger(number: 1, kind: .write, expression: "nfree", old: "1022", value: "1021")]))
        let next = try #require(stopEvent(s.execute("continue")))
        #expect(next.reason == .breakpoint(3, temporary: false) && next.address == e.address)
    }

    @Test("expressions that name no memory are refused")
    func refusals() throws {
        let s = try minikernel()
        #expect(s.execute("watch 42").error?.message == "Cannot watch constant value `42'.")
        #expect(s.execute("watch nosuch").error?.message == "No symbol \"nosuch\" in current context.")
        #expect(s.execute("rwatch $eax + 1").error?.message
                == "Cannot watch `$eax + 1': it is not in memory (Ringside's watchpoints are hardware watchpoints).")
        #expect(s.breakpointList.isEmpty)
        // Numbers are shared with breakpoints.
        _ = s.execute("break kmain")
        #expect(s.execute("watch *(short *) 0x10c004").text == "Hardware watchpoint 2: *(short *) 0x10c004\n")
        #expect(s.machine.cpu.watchpoints.isEmpty, "synced when the guest runs")
    }

    @Test("the same stops under native, trap and vtx", arguments: ["native", "trap", "vtx"])
    func techniques(_ technique: String) throws {
        let s = try minikernel(technique)
        _ = s.execute("watch nfree")
        _ = s.execute("awatch current")
        var stops: [String] = []
        for _ in 0..<4 {
            let r = s.execute("continue")
            guard let e = stopEvent(r), case .watchpoint = e.reason else { Issue.record("\(technique): \(r.text)"); break }
            stops.append(r.outputs.compactMap { if case .stop = $0 { return $0.rendered } else { return nil } }.joined())
        }
        let native = try minikernel()
        _ = native.execute("watch nfree")
        _ = native.execute("awatch current")
        var expected: [String] = []
        for _ in 0..<4 {
            let r = native.execute("continue")
            expected.append(r.outputs.compactMap { if case .stop = $0 { return $0.rendered } else { return nil } }.joined())
        }
        #expect(stops == expected)
    }
}

/// stepi onto a faulting instruction: the delivery is the step, and the
/// guest stops at the handler's first instruction (as under QEMU's gdbstub),
/// not after it.  Under trap, an instruction the monitor runs again from its
/// #GP intercept steps past a breakpoint on it.
@Suite("Stepping into handlers")
struct SteppingTests {
    @Test("stepi over a page fault stops at the #PF handler's first instruction", arguments: ["native", "trap"])
    func faultStep(_ technique: String) throws {
        let s = try minikernel(technique)
        _ = s.execute("catch trap #PF")
        // The first user page fault (demand paging of ping's code).  Under trap
        // the monitor's hidden faults (shadow fills) come first: the CPU takes
        // them too, and a step over one of those runs the instruction.
        var found = false
        for _ in 0..<500 where !found {
            let e = try #require(stopEvent(s.execute("continue")))
            guard case .catchpoint(_, let what) = e.reason else { Issue.record("\(e)"); return }
            found = what.hasSuffix("cr2=0x40000000")
        }
        try #require(found)
        _ = s.execute("delete")
        let handler = try #require(s.symbols.lookup("vector_stubs")).address &+ 16 * 14
        let step = try #require(stopEvent(s.execute("stepi")))
        #expect(step.reason == .location && step.address == handler)
        #expect(try s.instruction(at: handler).text == "push byte +0xe")
    }

    @Test("under trap, stepi from a breakpoint on an emulated CLI moves on")
    func emulatedStep() throws {
        var o = SessionOptions()
        o.technique = "trap"
        let s = try Session(guestPath: GoldenFiles.repositoryRoot.appendingPathComponent("demos/build/sensitive.elf").path, options: o)
        let start = try #require(s.symbols.lookup("_start")).address
        #expect(try s.instruction(at: start).text == "cli" && s.linearEIP == start)
        _ = s.execute("break _start")
        let step = try #require(stopEvent(s.execute("stepi")))
        #expect(step.reason == .location && step.address == start &+ 1)
    }
}
