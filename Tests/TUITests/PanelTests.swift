// The panels rendered into the pure canvas and read back as text, for a
// session stopped at a breakpoint in sensitive.elf under trap (the guest
// kernel believes it runs in ring 0; the monitor runs it in ring 1).

import Foundation
import Testing
@testable import TUI
import Debugger
import Monitors
import PC
import X86

enum Repo {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static func demo(_ name: String) -> String { root.appendingPathComponent("demos/build/" + name).path }
}

func stoppedSession(_ technique: String = "trap") throws -> Model {
    var o = SessionOptions()
    o.technique = technique
    o.maxInstructions = 5_000_000
    let s = try Session(guestPath: Repo.demo("sensitive.elf"), options: o)
    let m = Model(session: s)
    m.run("break _start.reload_cs")
    m.run("continue")
    return m
}

@Suite("Canvas")
struct CanvasTests {
    @Test("a box carries its title on the top border")
    func box() {
        var c = Canvas(rows: 3, cols: 12)
        c.box(Rect(row: 0, col: 0, height: 3, width: 12), title: "Log")
        #expect(c.lines == ["┌─ Log ────┐", "│          │", "└──────────┘"])
    }

    @Test("text is clipped to its rectangle and the canvas")
    func clip() {
        var c = Canvas(rows: 2, cols: 6)
        c.put("abcdefgh", in: Rect(row: 1, col: 1, height: 1, width: 3), line: 0)
        c.put("xyz", row: 0, col: 4)
        #expect(c.lines == ["    xy", " abc"])
    }

    @Test("styles come back as runs")
    func runs() {
        var c = Canvas(rows: 1, cols: 5)
        c.put("ab", row: 0, col: 1, style: Style(.changed, bold: true))
        let r = c.runs(row: 0)
        #expect(r.map(\.text) == [" ", "ab", "  "])
        #expect(r[1].style == Style(.changed, bold: true))
    }
}

@Suite("Panels")
struct PanelTests {
    @Test("every panel title is on its border at 120x40")
    func titles() throws {
        let m = try stoppedSession()
        let (c, cursor) = Screen.render(m, rows: 40, cols: 120)
        let text = c.text
        for t in ["Registers", "Rings", "Code", "Trap log", "Memory", "Serial"] {
            #expect(text.contains("─ " + t), "missing panel \(t)")
        }
        #expect(c.line(39) == "(ringside)")
        #expect(cursor.row == 39 && cursor.col == 11)
        #expect(c.line(38).contains("trap"))
        #expect(c.line(38).contains("stopped: breakpoint 1 at 0x0010019b <_start.reload_cs>"))
    }

    @Test("the Code panel marks EIP and the breakpoint")
    func code() throws {
        let m = try stoppedSession()
        let lines = CodePanel.lines(m, height: 12).map(\.text)
        #expect(lines.contains("<_start.reload_cs>:"))
        let eip = try #require(lines.first { $0.contains("=>") })
        #expect(eip.hasPrefix("●=> 0010019b  "))
        #expect(CodePanel.lines(m, height: 12).first { $0.text.contains("=>") }?.style.reverse == true)
    }

    @Test("the Rings panel draws guest ring 0 against real ring 1")
    func rings() throws {
        let m = try stoppedSession()
        var c = Canvas(rows: 16, cols: 25)
        RingsPanel.render(m, into: &c, Rect(row: 0, col: 0, height: 16, width: 25))
        let text = c.text
        #expect(c.line(0).hasPrefix("┌─ Rings "))
        #expect(text.contains("CPL  guest 0 real 1"))
        #expect(text.contains("┌ring 0G"))
        #expect(text.contains("┌ring 1R"))
        #expect(text.contains("┌ring 3 "))
        // The mismatch is highlighted.
        #expect(RingsPanel.lines(m).first?.style.role == .mismatch)
    }

    @Test("under native the rings agree")
    func ringsNative() throws {
        let m = try stoppedSession("native")
        let text = RingsPanel.lines(m).map(\.text).joined(separator: "\n")
        #expect(text.contains("CPL  guest 0 real 0"))
        #expect(text.contains("┌ring 0*"))
    }

    @Test("Registers: guest-visible beside real, changes highlighted after a step")
    func registers() throws {
        let m = try stoppedSession()
        func flat() -> [String] { RegistersPanel.lines(m).map { $0.map(\.text).joined() } }
        let before = flat()
        #expect(before.contains { $0.hasPrefix("eip 0x0010019b <_start.reload_cs>") })
        #expect(before.contains { $0.hasPrefix("cs  ") && $0.contains("dpl 1") })
        // CR0: the guest has not turned paging on; the shadow tables have.
        #expect(before.contains { $0.hasPrefix("cr0 0x") && $0.contains("real 0x8") })
        m.run("stepi")
        let eipLine = try #require(RegistersPanel.lines(m).first { $0.first?.text.hasPrefix("eip") == true })
        #expect(eipLine[0].style.role == .changed)
    }

    @Test("the trap log has the newest entry at the bottom; empty under native")
    func trapLog() throws {
        let m = try stoppedSession()
        let lines = TrapLogPanel.lines(m, height: 4).map(\.text)
        #expect(lines.count == 4)
        #expect(lines.last?.contains("silent") == true)
        // Narrow: two lines an entry, the numbers then instruction → outcome.
        let narrow = TrapLogPanel.lines(m, height: 4, width: 44).map(\.text)
        #expect(narrow.count == 4)
        #expect(narrow[2].contains("silent") && narrow[2].contains("0010019") && narrow[2].contains("0/1"))
        #expect(narrow[3].hasPrefix("  jmp 0x8:0x10019b → "))
        let n = try stoppedSession("native")
        #expect(TrapLogPanel.lines(n, height: 4).map(\.text) == ["(native: no monitor, no traps)"])
    }

    @Test("trap log: filtered by `traps --kind`, F2 cycles the kinds, a selection has details")
    func trapFilterAndSelection() throws {
        let m = try stoppedSession()
        m.run("traps --kind emulated")
        #expect(m.trapFilter == .emulated)
        #expect(TrapLogPanel.visible(m).allSatisfy { $0.kind == .emulated })
        m.run("traps")
        #expect(m.trapFilter == nil)
        TrapLogPanel.nextFilter(m)
        #expect(m.trapFilter == EventKind.allCases.first { m.session.vm.log.count($0) > 0 })
        m.trapFilter = nil
        // Up from the newest selects it; End (nil) follows the log again.
        let all = TrapLogPanel.visible(m)
        TrapLogPanel.move(m, by: -1)
        #expect(m.trapSelection == all.last?.sequence)
        TrapLogPanel.move(m, by: -1_000)
        #expect(m.trapSelection == all.first?.sequence)
        let d = TrapLogPanel.details(all.last!, m)
        #expect(d[0].hasPrefix("#\(all.last!.sequence) at ") && d[0].contains("under trap: silent"))
        #expect(d[1].hasPrefix("eip 0x00100194 <_start+107>  jmp 0x8:0x10019b"))
        #expect(d[2].hasPrefix("CPL guest 0 real 1"))
        #expect(d[3].hasPrefix("outcome: "))
        TrapLogPanel.move(m, by: 1_000)
        #expect(m.trapSelection == nil)
    }

    @Test("memory follows the stack; serial keeps the last lines")
    func memoryAndSerial() throws {
        let m = try stoppedSession()
        let esp = m.session.machine.cpu.regs[Reg.esp]
        let mem = MemoryPanel.lines(m, height: 2, width: 42)
        #expect(mem[0].hasPrefix(hex8(esp & ~7) + ">"))
        #expect(SerialPanel.lines("a\r\nb\nccccc\n", height: 2, width: 3) == ["ccc", "cc"])
    }

    @Test("memory in three spaces: the same bytes under guest-virtual, guest-physical and host-physical")
    func memorySpaces() throws {
        let m = try stoppedSession()
        m.run("memory 0x100990")
        let chain = MemoryPanel.chain(m)
        #expect(chain.map(\.0) == [.guestVirtual, .guestPhysical, .hostPhysical])
        // Paging is off in the guest: gv = gp; the monitor put guest RAM higher up.
        #expect(chain[1].1 == 0x100990)
        let host = try #require(chain[2].1)
        #expect(host == m.session.machine.guestBase + 0x100990 && host != 0x100990)
        let gv = MemoryPanel.lines(m, height: 1, width: 42)[0]
        m.memoryView = .hostPhysical
        let hp = MemoryPanel.lines(m, height: 1, width: 42)[0]
        #expect(hp.hasPrefix(hex8(host) + ">"))
        #expect(gv.dropFirst(8) == hp.dropFirst(8), "different bytes:\n\(gv)\n\(hp)")
        // A guest-physical address has no single virtual name: the view stays physical.
        m.run("memory/p 0x100990")
        m.memoryView = .guestVirtual
        #expect(MemoryPanel.viewSpace(m) == .guestPhysical)
        #expect(MemoryPanel.chain(m).map(\.0) == [.guestPhysical, .hostPhysical])
        #expect(m.run("memory/x 1").error != nil)
    }

    @Test("memory follows an expression anew at each stop, or the last memory operand")
    func memoryFollows() throws {
        let m = try stoppedSession()
        m.run("memory $esp + 8")
        let esp = m.session.machine.cpu.regs[Reg.esp]
        #expect(m.memoryAddress == esp &+ 8)
        m.run("set $esp = $esp - 16")
        #expect(m.memoryAddress == esp &- 8)
        // `mov [edi],bx` style operands: step to one and past it.
        let s = try stoppedSession()
        s.run("memory last")
        for _ in 0..<40 where s.lastAccess == nil { s.run("stepi") }
        let a = try #require(s.lastAccess, "no memory operand in 40 steps")
        #expect(MemoryPanel.address(s) == a)
    }

    @Test("the code cursor moves by instructions, backwards too; a stop brings it back")
    func codeCursor() throws {
        let m = try stoppedSession()
        let eip = m.session.linearEIP
        CodePanel.moveCursor(m, by: 2)
        let two = try #require(m.codeCursor)
        #expect(two > eip)
        CodePanel.moveCursor(m, by: -2)
        #expect(m.codeCursor == eip)
        CodePanel.moveCursor(m, by: -3)
        let back = try #require(m.codeCursor)
        #expect(back < eip && eip - back < 45)
        #expect(CodePanel.lines(m, height: 12).contains { $0.text.contains(">  " + hex8(back)) && $0.style.role == .focus })
        m.run("stepi")
        #expect(m.codeCursor == nil)
    }

    @Test("a small terminal says so; 80x24 lays out every panel")
    func sizes() throws {
        let m = try stoppedSession()
        #expect(Screen.render(m, rows: 10, cols: 40).0.line(0).hasPrefix("terminal too small"))
        let text = Screen.render(m, rows: 24, cols: 80).0.text
        for t in ["Registers", "Rings", "Code", "Trap log", "Memory", "Serial"] { #expect(text.contains(t)) }
    }
}

@Suite("TUI commands")
struct TUICommandTests {
    @Test("memory EXPR moves the Memory panel; memory alone follows the stack; help keys")
    func memory() throws {
        let m = try stoppedSession()
        m.run("memory 0x100990")
        #expect(m.memoryAddress == 0x100990)
        #expect(MemoryPanel.lines(m, height: 1, width: 42)[0] == "00100990> 73 65 6e 73 69 74 69 76 sensitiv")
        m.run("memory")
        #expect(m.memoryAddress == nil)
        #expect(m.run("memory 1 +").error != nil)
        m.run("help memory")
        #expect(m.scrollback.contains { $0.hasPrefix("Usage: memory[/v|/p|/h]") })
        m.run("help keys")
        for key in ["F1", "F2", "F3", "F4", "F5 continue", "F6 stop", "F7 step into", "F8 step over", "F9 breakpoint", "F10 step out"] {
            #expect(m.scrollback.contains { $0.contains(key) }, "help keys lacks \(key)")
        }
    }
}

@Suite("Narrow")
struct NarrowTests {
    @Test("a narrow Registers panel keeps base, limit and DPL on one line")
    func compactSegments() throws {
        let m = try stoppedSession()
        let lines = RegistersPanel.lines(m, compact: true).map { $0.map(\.text).joined() }
        #expect(lines.contains("cs 0009 00000000/ff7fffff d1"))
        let (c, _) = Screen.render(m, rows: 24, cols: 80)
        #expect(c.text.contains("cs 0009 00000000/ff7fffff d1"))
    }
}
