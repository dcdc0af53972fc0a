import CNCurses
import CReadline
import Debugger
import PC
#if canImport(Glibc)
import Glibc
#endif

// The event loop: ncurses owns the terminal, GNU readline (callback
// interface) edits the command line, lines go to the Debugger session.
// Readline's callbacks are capture-free C closures that reach the app
// through `TUIApp.current` on the main actor (they only ever run inside
// `rl_callback_read_char`, called from the loop on the main thread).
//
// Keys: F5 continue, F10 nexti, F11 stepi (bound as readline key sequences,
// so readline's escape-sequence parsing does the work), Tab completes a
// command name when the line has text and cycles focus when it is empty,
// Shift-Tab always cycles focus, PgUp/PgDn scroll the focused panel,
// Ctrl-C (SIGINT: the terminal stays in cbreak mode) stops a running guest
// and otherwise clears the line, `q`/`quit`/Ctrl-D leave.
// While a command runs the guest the screen shows "running" and is redrawn
// when it stops (a live refresh needs a sliced run API in the session).

/// Main-thread-only mailboxes the C callbacks use.
enum RL {
    nonisolated(unsafe) static var pending: Int32 = 0
    nonisolated(unsafe) static var hasPending = false
    nonisolated(unsafe) static var candidates: [String] = []
    nonisolated(unsafe) static var candidateIndex = 0
}

@MainActor
public final class TUIApp {
    static var current: TUIApp?
    public let model: Model
    let term = Terminal()
    var queued: [String] = []
    var leaving = false
    var status: Int32 = 0
    let historyPath: String

    public init(session: Session) {
        model = Model(session: session)
        let home = getenv("HOME").map { String(cString: $0) } ?? "."
        historyPath = home + "/.ringside_history"
    }

    /// Runs the TUI until `quit`; returns the exit status.
    public static func run(session: Session, commands: [String] = []) -> Int32 {
        let app = TUIApp(session: session)
        current = app
        defer { current = nil }
        return app.loop(commands)
    }

    func loop(_ commands: [String]) -> Int32 {
        // Ctrl-C interrupts the guest; installed before initscr so ncurses keeps it.
        signal(SIGINT) { _ in Machine.interruptRequested = true }
        for s in [SIGSEGV, SIGBUS, SIGILL, SIGABRT, SIGTERM, SIGHUP] {
            signal(s) { sig in endwin(); signal(sig, SIG_DFL); raise(sig) }
        }
        var unblock = sigset_t()
        sigemptyset(&unblock)
        for s in [SIGWINCH, SIGINT, SIGTERM, SIGCONT] { sigaddset(&unblock, s) }
        pthread_sigmask(SIG_UNBLOCK, &unblock, nil)

        term.start()
        defer { term.stop() }
        setupReadline()
        defer {
            rl_callback_handler_remove()
            _ = write_history(historyPath)
        }
        model.appendScrollback("Ringside: \(model.session.path) under \(model.session.technique). F5 continue, F10 nexti, F11 stepi, Tab focus, q quit; `help` lists commands.")
        for c in commands { execute(c) }
        draw()

        while !leaving {
            var fds = pollfd(fd: 0, events: Int16(POLLIN), revents: 0)
            _ = poll(&fds, 1, 250)
            if Machine.interruptRequested {
                // Ctrl-C while nothing runs: drop the line, don't leave.
                Machine.interruptRequested = false
                model.appendScrollback("^C")
                rl_replace_line("", 0)
                draw()
            }
            while !leaving, let k = term.key() {
                if k == KEY_RESIZE {
                    let (r, c) = term.size
                    rl_set_screen_size(Int32(r), Int32(c))
                    _ = clearok(cn_stdscr(), true)
                    draw()
                    continue
                }
                RL.pending = k
                RL.hasPending = true
                rl_callback_read_char()
                while !queued.isEmpty && !leaving { execute(queued.removeFirst()) }
            }
        }
        return status
    }

    func setupReadline() {
        crl_configure_for_embedding(fopen("/dev/null", "w"))
        crl_set_bell_style_none()
        stifle_history(1000)
        _ = read_history(historyPath)
        crl_set_getc_function { _ in
            if RL.hasPending { RL.hasPending = false; return RL.pending }
            // readline wants more bytes within one key (an escape sequence): wait for them.
            return MainActor.assumeIsolated { TUIApp.current?.term.key(blocking: true) ?? -1 }
        }
        crl_set_input_available_hook { RL.hasPending ? 1 : 0 }
        crl_set_redisplay_function { MainActor.assumeIsolated { TUIApp.current?.redisplay() } }
        crl_set_attempted_completion_function { text, start, _ in
            crl_set_attempted_completion_over(1)
            let word = text.map { String(cString: $0) } ?? ""
            let line = crl_line_buffer().map { String(cString: $0) } ?? ""
            RL.candidates = MainActor.assumeIsolated { TUIApp.current?.completions(word, first: start == 0, line: line) ?? [] }
            RL.candidateIndex = 0
            return rl_completion_matches(text) { _, state in
                if state == 0 { RL.candidateIndex = 0 }
                guard RL.candidateIndex < RL.candidates.count else { return nil }
                defer { RL.candidateIndex += 1 }
                return strdup(RL.candidates[RL.candidateIndex])
            }
        }
        crl_set_completion_display_matches_hook { matches, n, _ in
            guard let matches else { return }
            let list = (1...max(1, Int(n))).compactMap { matches[$0].map { String(cString: $0) } }
            MainActor.assumeIsolated { TUIApp.current?.model.appendScrollback(list.joined(separator: "  ")) }
            rl_forced_update_display()
        }
        // Function keys as xterm/tmux send them (keypad off: readline parses the sequences).
        _ = rl_bind_keyseq("\u{1b}[15~") { _, _ in TUIApp.key("continue") }
        _ = rl_bind_keyseq("\u{1b}[21~") { _, _ in TUIApp.key("nexti") }
        _ = rl_bind_keyseq("\u{1b}[23~") { _, _ in TUIApp.key("stepi") }
        _ = rl_bind_keyseq("\u{1b}[Z") { _, _ in MainActor.assumeIsolated { TUIApp.current?.cycleFocus() }; return 0 }
        _ = rl_bind_keyseq("\u{1b}[5~") { _, _ in MainActor.assumeIsolated { TUIApp.current?.scroll(by: 5) }; return 0 }
        _ = rl_bind_keyseq("\u{1b}[6~") { _, _ in MainActor.assumeIsolated { TUIApp.current?.scroll(by: -5) }; return 0 }
        _ = rl_bind_keyseq("\t") { count, key in
            if crl_end() == 0 { MainActor.assumeIsolated { TUIApp.current?.cycleFocus() }; return 0 }
            return rl_complete(count, key)
        }
        rl_callback_handler_install(model.prompt) { line in
            guard let line else {
                MainActor.assumeIsolated { TUIApp.current?.leaving = true }
                return
            }
            let text = String(cString: line)
            if !text.trimmingSpaces.isEmpty { add_history(line) }
            free(line)
            MainActor.assumeIsolated { TUIApp.current?.queued.append(text) }
        }
    }

    nonisolated static func key(_ command: String) -> Int32 {
        MainActor.assumeIsolated { TUIApp.current?.queued.append(command) }
        return 0
    }

    func completions(_ word: String, first: Bool, line: String) -> [String] {
        let s = model.session
        var all: [String]
        if first {
            all = CommandParser.commands + Array(CommandParser.aliases.keys) + ["memory"]
        } else if line.hasPrefix("help ") {
            all = CommandParser.commands + ["keys"]
        } else if line.hasPrefix("info ") || line.hasPrefix("i ") {
            all = CommandParser.infoTopics
        } else {
            // `$` breaks words for readline, so `$ea` arrives as `ea`.
            all = s.symbols.entries.map(\.name) + ["eax", "ebx", "ecx", "edx", "esi", "edi", "esp", "ebp", "eip", "eflags"]
        }
        return Array(Set(all.filter { $0.hasPrefix(word) })).sorted()
    }

    func cycleFocus() {
        let order = Screen.focusOrder
        let i = order.firstIndex(of: model.focus) ?? 0
        model.focus = order[(i + 1) % order.count]
        draw()
    }

    func scroll(by n: Int) {
        let id = model.focus
        model.scrollOffset[id] = max(0, (model.scrollOffset[id] ?? 0) + n)
        draw()
    }

    func redisplay() {
        let bytes = Int(crl_point())
        let line = crl_line_buffer().map { String(cString: $0) } ?? ""
        model.input = line
        model.cursor = String(decoding: Array(line.utf8.prefix(bytes)), as: UTF8.self).count
        if let p = crl_display_prompt() { model.prompt = String(cString: p) }
        draw()
    }

    func execute(_ line: String) {
        let t = line.trimmingSpaces
        model.appendScrollback("(ringside) " + line)
        model.prompt = "(ringside) "
        model.input = ""; model.cursor = 0
        model.scrollOffset[.command] = 0
        if t.isEmpty { draw(); return }
        let saved = model.state
        model.state = "running…"
        draw()
        Machine.interruptRequested = false
        let r = model.run(t)
        if model.state == "running…" { model.state = saved }
        if r.quit {
            leaving = true
            status = r.quitStatus ?? 0
            return
        }
        draw()
    }

    func draw() {
        let (rows, cols) = term.size
        let (canvas, cursor) = Screen.render(model, rows: rows, cols: cols)
        term.draw(canvas, cursor: cursor)
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first?.isWhitespace == true { s.removeFirst() }
        while s.last?.isWhitespace == true { s.removeLast() }
        return String(s)
    }
}
