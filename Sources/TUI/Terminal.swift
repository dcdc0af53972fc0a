import CNCurses
#if canImport(Glibc)
import Glibc
#endif

// The ncurses side: set up and restore the terminal, map style roles to
// colour pairs (none under NO_COLOR), and blit a Canvas.  C globals go
// through the CNCurses shim (Swift 6 rejects them directly).

@MainActor
final class Terminal {
    private(set) var colors = false
    private var pairs: [Style.Role: attr_t] = [:]
    private(set) var active = false

    func start() {
        cn_setlocale_from_env()
        _ = initscr()
        active = true
        // However the process ends (exit() from anywhere), the terminal is restored;
        // crash signals are App.swift's.
        atexit { if !isendwin() { _ = endwin() } }
        configure()
    }

    /// A screen of a fixed size writing to /dev/null, for `make bench`: the
    /// same blit and ncurses' own screen update, with no terminal attached.
    func startHeadless(rows: Int, cols: Int) {
        cn_setlocale_from_env()
        guard newterm("xterm-256color", fopen("/dev/null", "w"), fopen("/dev/null", "r")) != nil else { return }
        active = true
        configure()
        _ = resizeterm(Int32(rows), Int32(cols))
    }

    private func configure() {
        cbreak()           // ISIG stays on: Ctrl-C is SIGINT, which interrupts the guest
        noecho()
        nonl()
        intrflush(cn_stdscr(), false)
        keypad(cn_stdscr(), false)   // readline gets the raw escape sequences
        nodelay(cn_stdscr(), true)
        let noColor = getenv("NO_COLOR").map { $0.pointee != 0 } ?? false
        if has_colors() && !noColor {
            start_color()
            use_default_colors()
            colors = true
            let table: [(Style.Role, Int32)] = [(.title, COLOR_CYAN), (.changed, COLOR_YELLOW), (.mismatch, COLOR_RED),
                                                (.breakpoint, COLOR_RED), (.focus, COLOR_GREEN), (.error, COLOR_RED),
                                                (.current, COLOR_CYAN)]
            for (i, (role, fg)) in table.enumerated() {
                init_pair(Int16(i + 1), Int16(fg), -1)
                pairs[role] = cn_color_pair(Int16(i + 1))
            }
        }
    }

    func stop() {
        guard active else { return }
        active = false
        endwin()
    }

    var size: (rows: Int, cols: Int) {
        var y: Int32 = 0, x: Int32 = 0
        cn_getmaxyx(cn_stdscr(), &y, &x)
        return (Int(y), Int(x))
    }

    func attributes(_ s: Style) -> attr_t {
        var a = CN_A_NORMAL
        if s.bold { a |= CN_A_BOLD }
        if s.reverse { a |= CN_A_REVERSE }
        if s.role == .dim { a |= CN_A_DIM }
        if colors, let p = pairs[s.role] { a |= p }
        else if !colors && (s.role == .changed || s.role == .mismatch || s.role == .current) {
            // Without colour, highlights still show.
            a |= s.role == .mismatch ? CN_A_UNDERLINE : CN_A_BOLD
        }
        return a
    }

    /// The canvas last written: rows that did not change are not written again
    /// (ncurses would find them unchanged too, but only after the writing).
    private var last: Canvas?

    func draw(_ c: Canvas, cursor: (row: Int, col: Int)) {
        let w = cn_stdscr()
        let previous = last.flatMap { $0.rows == c.rows && $0.cols == c.cols ? $0 : nil }
        last = c
        for r in 0..<c.rows {
            if let p = previous, p.cells[(r * c.cols)..<((r + 1) * c.cols)] == c.cells[(r * c.cols)..<((r + 1) * c.cols)] { continue }
            for run in c.runs(row: r) {
                _ = cn_wattr_set(w, attributes(run.style))
                _ = mvwaddstr(w, Int32(r), Int32(run.col), run.text)   // bottom-right cell may be ERR: harmless
            }
        }
        _ = cn_wattr_set(w, CN_A_NORMAL)
        _ = wmove(w, Int32(cursor.row), Int32(max(0, min(c.cols - 1, cursor.col))))
        _ = wrefresh(w)
    }

    /// One key, or nil when none is waiting (`blocking` waits for one).
    func key(blocking: Bool = false) -> Int32? {
        let w = cn_stdscr()
        if blocking { nodelay(w, false) }
        defer { if blocking { nodelay(w, true) } }
        let k = wgetch(w)
        return k == ERR ? nil : k
    }
}
