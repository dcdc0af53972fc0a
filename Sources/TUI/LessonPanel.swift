import Debugger
import Monitors
import PC

// Lesson mode (`ringside --lesson FILE`): the lesson's commands run one by
// one through the session, exactly as in batch mode; its notes go to the
// Lesson panel instead of the scrollback, a `pause` stops the lesson until
// Space or Enter on an empty command line, `focus` moves the TUI's focus and
// `highlight` marks an address (Code, Memory) or a trap-log entry.  Between
// steps the command line is free: the teacher can type anything, then go on.
// A failed `expect` is shown in the panel and stops the lesson like a pause.
//
// Layout: on a terminal of 120 columns or more the panel is a column on the
// right, the other panels keep their arrangement in what is left; narrower,
// it takes the place of the Trap log and Memory panels.

/// A lesson being played: its lines, where it is, and what the panel shows.
public final class LessonPlayer {
    public enum Entry: Equatable, Sendable {
        case note(String)
        /// A failed expectation or another error, as `FILE:LINE: error: …`.
        case failure(String)
        /// Where a pause was: the notes before it belong to earlier steps.
        case step
    }

    public let file: String
    public let title: String?
    let lines: [String]
    /// The next line to run (0-based).
    public internal(set) var position = 0
    /// At a pause (or stopped by a failure): waiting for Space or Enter.
    public internal(set) var waiting = false
    public internal(set) var entries: [Entry] = []
    public internal(set) var step = 1
    /// Steps in all: one more than the pauses.
    public let steps: Int

    public init(file: String, text: String) {
        self.file = file
        title = LessonHeader.parse(text).title
        var ls = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if ls.last == "" { ls.removeLast() }
        lines = ls
        // A pause starts a step when a command follows it.
        let commands = ls.map { (try? CommandParser.parse($0)) ?? nil }
        steps = 1 + commands.indices.filter { k in
            commands[k] == .lesson(.pause) && commands[(k + 1)...].contains { $0 != nil }
        }.count
    }

    public var finished: Bool { position >= lines.count }
}

extension Model {
    /// Runs the lesson up to its next pause, a failure or its end; returns
    /// the result of a `quit` when the lesson asked to leave.
    @discardableResult
    public func advanceLesson() -> CommandResult? {
        guard let l = lesson, !l.finished else { return nil }
        if l.position > 0 { l.entries.append(.step); l.step += 1 }
        l.waiting = false
        while !l.finished && !l.waiting {
            let n = l.position
            let text = l.lines[n]
            l.position += 1
            var echoed = true
            do {
                guard let command = try CommandParser.parse(text) else { continue }   // blank or comment
                echoed = command.isEchoed
            } catch {}   // a parse error: run it to report it
            if echoed {
                appendScrollback("(ringside) " + text)
                // Commands between notes end the paragraph the notes were making.
                if case .note(let t)? = l.entries.last, !t.isEmpty { l.entries.append(.note("")) }
            }
            let r = run(text)
            if let e = r.error {
                let place = e.file.map { "\($0):\(e.line ?? 0)" } ?? "\(l.file):\(n + 1)"
                l.entries.append(.failure(place + ": error: " + e.message))
                l.waiting = true
            }
            if r.quit { return r }
        }
        if l.finished { l.waiting = false }   // nothing left to wait for
        return nil
    }

    /// Lesson outputs: true when handled here (not shown in the scrollback).
    func absorbLesson(_ o: Output) -> Bool {
        switch o {
        case .note(let text):
            guard let l = lesson else { return false }
            l.entries.append(.note(text))
            return true
        case .pause:
            lesson?.waiting = true
            return true
        case .focus(let p):
            focus = LessonPanelView.panel(p)
            return true
        case .highlight(let h, _):
            highlight = h
            if case .address(let a) = h { memoryAddress = a }
            return false
        default:
            return false
        }
    }
}

public enum LessonPanelView {
    public static let title = "Lesson"

    static func panel(_ p: LessonPanel) -> PanelID {
        switch p {
        case .registers: return .registers
        case .rings: return .rings
        case .code: return .code
        case .traps: return .trapLog
        case .memory: return .memory
        case .serial: return .serial
        case .command: return .command
        }
    }

    /// The screen with the lesson panel: the other panels' layout and the panel's place.
    public static func layout(rows: Int, cols: Int) -> (Layout, Rect?) {
        let normal = Layout.compute(rows: rows, cols: cols)
        if normal.tooSmall { return (normal, nil) }
        let width = min(64, max(40, cols / 3))
        if cols - width >= 80 {
            let l = Layout.compute(rows: rows, cols: cols - width)
            return (l, Rect(row: 0, col: cols - width, height: rows - 2, width: width))
        }
        // Narrow: the lesson takes the Trap log's and the Memory panel's place.
        var l = normal
        let taken = l.panels.filter { $0.0 == .trapLog || $0.0 == .memory }.map(\.1)
        guard let first = taken.first, let last = taken.last else { return (normal, nil) }
        l.panels.removeAll { $0.0 == .trapLog || $0.0 == .memory }
        return (l, Rect(row: first.row, col: first.col, height: first.height, width: last.col + last.width - first.col))
    }

    /// The panel's text lines with their styles: every note wrapped, older
    /// steps dimmed, the current step last, then where the lesson is.
    public static func lines(_ p: LessonPlayer, width: Int) -> [[(String, Style)]] {
        var out: [[(String, Style)]] = []
        let lastStep = p.entries.lastIndex(of: .step) ?? -1
        // Consecutive notes form one paragraph, wrapped to the panel (as
        // Markdown reads lines); an empty note ends a paragraph.
        var paragraph: [String] = []
        var paragraphIsOld = false
        func flush() {
            guard !paragraph.isEmpty else { return }
            for line in NoteText.wrap(NoteText.spans(paragraph.joined(separator: " ")), width: width) {
                out.append(line.map { ($0.text, paragraphIsOld ? Style(.dim) : style($0)) })
            }
            paragraph = []
        }
        for (k, e) in p.entries.enumerated() {
            let old = k < lastStep
            // A note that is all emphasis is a heading: a line of its own.
            if case .note(let text) = e, isHeading(text) {
                flush()
                paragraphIsOld = old
                paragraph = [text]
                flush()
                continue
            }
            if case .note(let text) = e, !text.isEmpty {
                if paragraph.isEmpty { paragraphIsOld = old }
                paragraph.append(text)
                continue
            }
            flush()
            switch e {
            case .step:
                if k == lastStep { out.append([(String(repeating: "─", count: max(0, width)), Style(.dim))]) }
            case .failure(let text):
                for line in NoteText.wrap([.plain("✗ " + text)], width: width) {
                    out.append(line.map { ($0.text, Style(.error, bold: true)) })
                }
            case .note:
                out.append([])   // an empty note: a blank line between paragraphs
            }
        }
        flush()
        if !out.isEmpty { out.append([]) }
        let state = p.finished && !p.waiting ? "end of the lesson"
            : p.waiting ? "step \(p.step) of \(p.steps): Space or Enter continues" : "step \(p.step) of \(p.steps)"
        out.append([(state, Style(.title, bold: true))])
        return out
    }

    static func isHeading(_ text: String) -> Bool {
        let spans = NoteText.spans(text)
        if spans.count == 1, case .emphasis = spans[0] { return true }
        return false
    }

    static func style(_ s: NoteSpan) -> Style {
        switch s {
        case .plain: return .plain
        case .emphasis: return Style(.normal, bold: true)
        case .code: return Style(.changed)
        }
    }

    public static func render(_ p: LessonPlayer, into c: inout Canvas, _ rect: Rect) {
        c.fill(rect)
        c.box(rect, title: title + (p.title.map { ": " + $0 } ?? ""), focused: true)
        let inner = rect.inner
        let all = lines(p, width: inner.width)
        // The newest at the bottom, as in a conversation; older notes scroll off the top.
        let shown = all.suffix(inner.height)
        for (i, line) in shown.enumerated() {
            var col = 0
            for (text, style) in line { col = c.put(text, in: inner, line: i, col: col, style: style) - inner.col }
        }
    }
}

extension TUIApp {
    /// Space or Enter on an empty line at a pause, and once at the start.
    func stepLesson() {
        guard let l = model.lesson, !l.finished else { return }
        let saved = model.state
        model.state = "running the lesson…"
        draw()
        Machine.interruptRequested = false
        if let r = model.advanceLesson(), r.quit {
            leaving = true
            status = r.quitStatus ?? 0
            return
        }
        if model.state == "running the lesson…" { model.state = saved }
        draw()
    }
}
