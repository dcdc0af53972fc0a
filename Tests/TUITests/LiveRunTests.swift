// The live screen while the guest runs: the session runs commands in slices
// under a RunObserver (Debugger/LiveRun.swift) and the TUI looks between
// them (LiveRun.swift).  Slicing must not change what the guest does.

import Foundation
import Testing
@testable import TUI
import Debugger
import Monitors
import PC
import X86

/// Counts slices, collects serial output as the TUI does, stops when told.
final class TestObserver: RunObserver {
    var slices = 0
    var stopAfter: Int?
    var serial: [UInt8] = []
    var instructionsSeen: [UInt64] = []

    func betweenSlices(_ session: Session) -> Bool {
        slices += 1
        instructionsSeen.append(session.machine.cpu.instructions)
        serial += session.takeSerialOutput()
        return stopAfter.map { slices < $0 } ?? true
    }
}

/// What a finished run leaves behind.
struct Outcome: Equatable {
    var instructions: UInt64
    var time: UInt64
    var registers: RegisterSnapshot
    var traps: UInt64
    var serial: [UInt8]
    var stop: String

    init(_ s: Session, _ r: CommandResult, extraSerial: [UInt8] = []) {
        instructions = s.machine.cpu.instructions
        time = s.machine.now
        registers = RegisterSnapshot(s.machine.cpu)
        traps = s.vm.log.total
        var bytes = extraSerial
        for o in r.outputs { if case .serial(let b) = o { bytes += b } }
        serial = bytes
        stop = r.outputs.compactMap { if case .stop(let e) = $0 { return Output.stop(e).rendered } else { return nil } }.joined()
    }
}

func plainSession(_ guest: String, _ technique: String) throws -> Session {
    var o = SessionOptions()
    o.technique = technique
    return try Session(guestPath: Repo.demo(guest), options: o)
}

@Suite("Live run")
struct LiveRunTests {
    @Test("a run in slices ends exactly as a run in one go (timer interrupts, traps, serial)", arguments: ["native", "trap"])
    func sameOutcome(technique: String) throws {
        let whole = try plainSession("timer.elf", technique)
        let r1 = whole.execute("continue")
        let sliced = try plainSession("timer.elf", technique)
        let watcher = TestObserver()
        sliced.runObserver = watcher
        let r2 = sliced.execute("continue")
        #expect(watcher.slices >= 2, "too short a run to be sliced")
        // Slices end at multiples of the slice, whatever the host's speed.
        #expect(watcher.instructionsSeen.allSatisfy { $0 % Session.liveSlice == 0 })
        #expect(Outcome(sliced, r2, extraSerial: watcher.serial) == Outcome(whole, r1))
        #expect(!watcher.serial.isEmpty, "the live view saw no serial output")
    }

    @Test("the observer stops the guest like Ctrl-C; continuing gets to the same end")
    func stop() throws {
        let s = try plainSession("timer.elf", "trap")
        let watcher = TestObserver()
        watcher.stopAfter = 2
        s.runObserver = watcher
        let r = s.execute("continue")
        #expect(r.text.contains("Program received signal SIGINT, Interrupt."))
        #expect(s.machine.cpu.instructions == 2 * Session.liveSlice)
        watcher.stopAfter = nil
        let rest = s.execute("continue")
        let whole = try plainSession("timer.elf", "trap")
        let all = whole.execute("continue")
        #expect(Outcome(s, rest).instructions == Outcome(whole, all).instructions)
        #expect(Outcome(s, rest).registers == Outcome(whole, all).registers)
        #expect(Outcome(s, rest).stop == Outcome(whole, all).stop)
    }

    @Test("single steps and short runs are not sliced")
    func steps() throws {
        let s = try plainSession("timer.elf", "trap")
        let watcher = TestObserver()
        s.runObserver = watcher
        s.execute("stepi 100")
        #expect(watcher.slices == 0)
    }
}

@Suite("Keys and the serial line")
@MainActor
struct AppTests {
    @Test("F9 toggles: break at the cursor, delete what is there")
    func toggle() throws {
        let app = TUIApp(session: try plainSession("sensitive.elf", "trap"))
        let a: UInt32 = 0x0010_019b
        #expect(app.toggleBreakpoint(at: a) == "break *0x0010019b")
        app.model.run("break *0x0010019b")
        app.model.run("tbreak *0x0010019b")
        #expect(app.toggleBreakpoint(at: a) == "delete 1 2")
    }

    @Test("F-keys queue commands when stopped; while running only F6 acts")
    func functionKeys() throws {
        let app = TUIApp(session: try plainSession("sensitive.elf", "trap"))
        for k in [5, 7, 8, 10] { app.functionKey(k) }
        #expect(app.queued == ["continue", "stepi", "nexti", "finish"])
        app.queued = []
        app.model.running = true
        app.functionKey(5)
        app.functionKey(6)
        #expect(app.queued.isEmpty)
        #expect(app.live.stopRequested)
        #expect(app.model.scrollback.last?.contains("F6 or Ctrl-C") == true)
    }

    @Test("escape sequences are followed byte by byte: a function key is not typed to the guest")
    func escapes() {
        var e = EscapeTracker()
        let f7 = Array("\u{1b}[18~a".utf8).map(Int32.init)
        #expect(f7.map { e.feed($0) } == [true, true, true, true, true, false])
        let f1 = Array("\u{1b}OPb".utf8).map(Int32.init)
        #expect(f1.map { e.feed($0) } == [true, true, true, false])
        let linuxF1 = Array("\u{1b}[[Ac".utf8).map(Int32.init)
        #expect(linuxF1.map { e.feed($0) } == [true, true, true, true, false])
    }

    @Test("typed serial bytes go to COM1 as its receiver has room")
    func serialInput() throws {
        let m = try session("sensitive.elf", "trap")
        let uart = try #require(m.session.machine.uart)
        let room = uart.receiveSpace
        m.serialInput = Array("hello, guest".utf8)
        m.feedSerial()
        #expect(m.serialInput.count == max(0, 12 - room))
        #expect(uart.receiveSpace == max(0, room - 12))
    }
}
