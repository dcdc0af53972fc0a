import Debugger
import Monitors
import PC

// The whole screen as a pure function of the model: the layout of the
// panels, the scrollback, the status line and the command line.  The
// ncurses front end blits the canvas and places the cursor; tests read it.

public struct Layout: Equatable, Sendable {
    public var panels: [(PanelID, Rect)] = []
    public var scrollback = Rect(row: 0, col: 0, height: 0, width: 0)
    public var status = 0
    public var command = 0
    public var tooSmall = false

    public static let minRows = 24, minCols = 80

    public static func == (a: Layout, b: Layout) -> Bool {
        a.panels.map(\.0) == b.panels.map(\.0) && a.panels.map(\.1) == b.panels.map(\.1)
            && a.scrollback == b.scrollback && a.status == b.status && a.command == b.command && a.tooSmall == b.tooSmall
    }

    /// `wideCode`: the Code panel shows a translation beside the original
    /// (`bt`), so the Registers panel goes compact to give it room.
    public static func compute(rows: Int, cols: Int, wideCode: Bool = false) -> Layout {
        var l = Layout()
        l.command = rows - 1
        l.status = rows - 2
        if rows < minRows || cols < minCols { l.tooSmall = true; return l }
        let avail = rows - 2
        let scrollH = max(3, avail / 8)
        let rest = avail - scrollH
        let topH = min(24, max(rest * 3 / 5, min(20, rest - 6)))
        let midH = rest - topH
        // Narrower than 100 columns the Registers panel goes compact (30) and
        // the Rings panel just fits its drawing, to leave the Code panel room.
        let regW = cols < 100 || (wideCode && cols < 160) ? 30 : min(46, cols * 2 / 5), ringsW = cols < 100 ? 22 : 25
        let codeW = cols - regW - ringsW
        l.panels.append((.registers, Rect(row: 0, col: 0, height: topH, width: regW)))
        l.panels.append((.code, Rect(row: 0, col: regW, height: topH, width: codeW)))
        l.panels.append((.rings, Rect(row: 0, col: regW + codeW, height: topH, width: ringsW)))
        let memW = cols >= 120 ? 44 : 36, serialW = max(20, cols / 4)
        let trapW = cols - memW - serialW
        l.panels.append((.trapLog, Rect(row: topH, col: 0, height: midH, width: trapW)))
        l.panels.append((.memory, Rect(row: topH, col: trapW, height: midH, width: memW)))
        l.panels.append((.serial, Rect(row: topH, col: trapW + memW, height: midH, width: serialW)))
        l.scrollback = Rect(row: rest, col: 0, height: scrollH, width: cols)
        return l
    }
}

public enum Screen {
    /// Focus order for Tab.
    public static let focusOrder: [PanelID] = [.command, .registers, .code, .rings, .trapLog, .memory, .serial]

    public static func statusText(_ m: Model) -> String {
        let mach = m.session.machine
        let ns = mach.now
        let t = ns >= 1_000_000 ? String(format1(Double(ns) / 1e6)) + " ms" : String(format1(Double(ns) / 1e3)) + " us"
        // Running: how fast the guest goes (LiveRun.swift measures it between redraws).
        let state = m.running ? "running: F6 or Ctrl-C stops" : m.state
        let speed = m.running ? " │ " + (m.mips.map { format1($0) + " MIPS" } ?? "… MIPS") : ""
        return " \(m.session.technique) │ \(state) │ t=\(t) │ \(mach.cpu.instructions) insns\(speed) │ focus \(m.focus.rawValue) │ F1 keys  F5 cont  F7 step  F8 next  Tab focus"
    }

    static func format1(_ v: Double) -> String {
        let i = Int(v), f = Int((v - Double(i)) * 10)
        return "\(i).\(f)"
    }

    /// Renders everything; returns the canvas and the cursor (row, col).
    public static func render(_ m: Model, rows: Int, cols: Int) -> (Canvas, cursor: (row: Int, col: Int)) {
        var c = Canvas(rows: rows, cols: cols)
        let wideCode = m.translationRows(around: m.codeCursor ?? m.session.linearEIP) != nil
        let (l, lessonRect) = m.lesson == nil ? (Layout.compute(rows: rows, cols: cols, wideCode: wideCode), nil)
            : LessonPanelView.layout(rows: rows, cols: cols)
        guard rows > 0, cols > 0 else { return (c, (0, 0)) }
        if l.tooSmall {
            c.put("terminal too small (\(cols)x\(rows), need \(Layout.minCols)x\(Layout.minRows))", row: 0, col: 0, style: Style(.error, bold: true))
        } else {
            for (id, r) in l.panels {
                let f = m.focus == id
                switch id {
                case .registers: RegistersPanel.render(m, into: &c, r, focused: f)
                case .rings: RingsPanel.render(m, into: &c, r, focused: f)
                case .code: CodePanel.render(m, into: &c, r, focused: f)
                case .trapLog: TrapLogPanel.render(m, into: &c, r, focused: f)
                case .memory: MemoryPanel.render(m, into: &c, r, focused: f)
                case .serial: SerialPanel.render(m, into: &c, r, focused: f)
                case .command: break
                }
            }
            if let r = lessonRect, let p = m.lesson { LessonPanelView.render(p, into: &c, r) }
            let sb = l.scrollback
            let scroll = min(m.scrollOffset[.command] ?? 0, max(0, m.scrollback.count - sb.height))
            let end = m.scrollback.count - scroll
            let shown = m.scrollback[max(0, end - sb.height)..<end]
            for (i, line) in shown.enumerated() { c.put(line, in: sb, line: i) }
        }
        if l.status >= 0 {
            let st = Style(.normal, reverse: true)
            c.fill(Rect(row: l.status, col: 0, height: 1, width: cols), style: st)
            c.put(statusText(m), row: l.status, col: 0, style: st)
        }
        // The command line scrolls horizontally to keep the cursor visible.
        let full = m.prompt + m.input
        let cursorAt = m.prompt.count + m.cursor
        let shift = max(0, cursorAt - (cols - 1))
        c.put(String(full.dropFirst(shift)), row: l.command, col: 0)
        return (c, (l.command, cursorAt - shift))
    }
}
