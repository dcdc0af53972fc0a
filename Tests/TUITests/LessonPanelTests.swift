// Lesson mode (Sources/TUI/LessonPanel.swift): a lesson played step by step
// through the model, its notes in the Lesson panel rather than the
// scrollback, `pause` waiting, `focus` and `highlight` acting on the
// panels, a failed `expect` shown and stopping — all read off the pure canvas.

import Testing
@testable import TUI
import Debugger
import Monitors

@MainActor
@Suite("Lesson panel")
struct LessonPanelTests {
    static let lesson = """
        # Lesson 0: a test lesson
        # guest: demos/build/sensitive.elf
        # technique: trap
        note The kernel believes it runs in *ring 0*;
        note the CPU runs it in `ring 1`.
        info rings
        expect $_guest_cpl == 0
        pause
        note Step two: the first trap.
        focus traps
        stepi
        highlight trap emulated
        expect $_emulated == 99
        note not reached before the failure is acknowledged
        """

    func model() throws -> Model {
        var o = SessionOptions()
        o.technique = "trap"
        o.maxInstructions = 1_000_000
        let m = Model(session: try Session(guestPath: Repo.demo("sensitive.elf"), options: o))
        m.lesson = LessonPlayer(file: "lesson.rsc", text: Self.lesson)
        return m
    }

    @Test("a step runs to the pause; notes go to the panel, commands to the scrollback")
    func firstStep() throws {
        let m = try model()
        let l = try #require(m.lesson)
        #expect(l.title == "Lesson 0: a test lesson" && l.steps == 2)
        #expect(m.advanceLesson() == nil)
        #expect(l.waiting && l.step == 1)
        // The command after the notes ends their paragraph (an empty note).
        #expect(l.entries == [.note("The kernel believes it runs in *ring 0*;"), .note("the CPU runs it in `ring 1`."), .note("")])
        #expect(m.scrollback.contains("(ringside) info rings"))
        #expect(m.scrollback.contains("(ringside) expect $_guest_cpl == 0"))
        #expect(!m.scrollback.contains { $0.contains("note") || $0.contains("believes it runs") })
        #expect(m.focus == .command)
    }

    @Test("the next step focuses and highlights; a failed expect stops the lesson with FILE:LINE")
    func secondStep() throws {
        let m = try model()
        m.advanceLesson()
        m.advanceLesson()
        let l = try #require(m.lesson)
        #expect(m.focus == .trapLog)
        guard case .trap(let n) = m.highlight else { Issue.record("no trap highlighted"); return }
        #expect(m.session.vm.log.entries.first { $0.sequence == n }?.kind == .emulated)
        #expect(l.entries.last == .failure("lesson.rsc:13: error: expectation failed: $_emulated == 99 (it is 1)"))
        #expect(l.waiting && !l.finished)
        // Going on after the failure runs the rest.
        m.advanceLesson()
        #expect(l.finished && !l.waiting)
        #expect(l.entries.last == .note("not reached before the failure is acknowledged"))
    }

    @Test("wide screens put the panel in a right-hand column; notes flow into paragraphs")
    func wide() throws {
        let m = try model()
        m.advanceLesson()
        let (c, _) = Screen.render(m, rows: 40, cols: 150)
        let text = c.text
        #expect(text.contains("─ Lesson: Lesson 0: a test lesson"))
        for t in ["Registers", "Code", "Rings", "Trap log", "Memory", "Serial"] { #expect(text.contains("─ " + t), "\(t)") }
        let (_, rect) = LessonPanelView.layout(rows: 40, cols: 150)
        let r = try #require(rect)
        #expect(r.col + r.width == 150 && r.height == 38)
        // Both notes in one paragraph, wrapped to the panel, marks turned into styles.
        let inner = r.inner
        let rows = (inner.row..<inner.row + inner.height).map { row in
            String((inner.col..<inner.col + inner.width).map { c[row, $0].char })
        }.joined(separator: "\n")
        #expect(rows.contains("The kernel believes it runs in ring 0; the CPU"))
        #expect(rows.contains("step 1 of 2: Space or Enter continues"))
        // *ring 0* is bold, `ring 1` in the code style.
        let cells = (inner.row..<inner.row + inner.height).flatMap { row in (inner.col..<inner.col + inner.width).map { c[row, $0] } }
        #expect(cells.contains { $0.char == "0" && $0.style.bold })
        #expect(cells.contains { $0.char == "1" && $0.style.role == .changed })
    }

    @Test("an all-emphasis note is a heading line; commands between notes end a paragraph")
    func paragraphs() throws {
        let p = LessonPlayer(file: "x.rsc", text: "note *Title.*\nnote one\nnote two\ninfo rings\nnote three\npause\n")
        let m = try model()
        m.lesson = p
        m.advanceLesson()
        let text = LessonPanelView.lines(p, width: 40).map { $0.map(\.0).joined() }
        #expect(text == ["Title.", "one two", "", "three", "", "end of the lesson"])
        #expect(p.steps == 1 && p.finished && !p.waiting)
    }

    @Test("narrow screens give the panel the Trap log's and Memory's place")
    func narrow() throws {
        let m = try model()
        m.advanceLesson()
        let text = Screen.render(m, rows: 30, cols: 100).0.text
        #expect(text.contains("─ Lesson"))
        #expect(!text.contains("─ Trap log") && !text.contains("─ Memory"))
        #expect(text.contains("─ Serial") && text.contains("─ Code"))
    }

    @Test("without a lesson the layout is the usual one")
    func noLesson() throws {
        let m = try model()
        m.lesson = nil
        let text = Screen.render(m, rows: 40, cols: 150).0.text
        #expect(!text.contains("─ Lesson"))
        #expect(text.contains("─ Trap log"))
    }
}

