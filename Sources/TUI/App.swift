import CNCurses
import CReadline
import Debugger
import PC
import X86
#if canImport(Glibc)
import Glibc
#endif

// The event loop: ncurses owns the terminal, GNU readline (callback
// interface) edits the command line, lines go to the Debugger session.
// Readline's callbacks are capture-free C closures that reach the app
// through `TUIApp.current` on the main actor (they only ever run inside
// `rl_callback_read_char`, called from the loop on the main thread).
//
// Keys (Keys.swift; `help keys`): function keys and the cursor keys are
// readline bindings to their escape sequences, Tab completes a command,
// symbol or register when the line has text and cycles focus when it is
// empty, Shift-Tab always moves it back, Ctrl-C (SIGINT: the terminal stays
// in cbreak mode) stops a running guest and otherwise clears the line,
// `quit`/Ctrl-D leave.  While a command runs the guest the screen stays
// live (LiveRun.swift).  Leaving restores the terminal, also on a crash
// signal.
//
// Where to hook in: `execute` runs every line (typed, queued by a key, from
// `-x` files); `handleKey` sees every key; `draw` renders the model.

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
    /// Watches running commands (LiveRun.swift); the session holds it weakly.
    let live = LiveView()
    /// Where the keys are in an escape sequence (Keys.swift).
    var escape = EscapeTracker()
    var leaving = false
    var status: Int32 = 0
    let historyPath: String

    public init(session: Session) {
        model = Model(session: session)
        let home = getenv("HOME").map { String(cString: $0) } ?? "."
        historyPath = home + "/.ringside_history"
    }

    /// Runs the TUI until `quit`; returns the exit status.  With a lesson,
    /// its first step runs at once (LessonPanel.swift).
    public static func run(session: Session, commands: [String] = [], lesson: LessonPlayer? = nil) -> Int32 {
        let app = TUIApp(session: session)
        app.model.lesson = lesson
        current = app
        defer { current = nil }
        return app.loop(commands)
    }

    func loop(_ commands: [String]) -> Int32 {
        // Ctrl-C interrupts the guest; installed before initscr so ncurses keeps it.
        signal(SIGINT) { _ in Machine.interruptRequested = true }
        for s in [SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGABRT, SIGQUIT, SIGTERM, SIGHUP] {
            signal(s) { sig in endwin(); signal(sig, SIG_DFL); raise(sig) }
        }
        var unblock = sigset_t()
        sigemptyset(&unblock)
        for s in [SIGWINCH, SIGINT, SIGTERM, SIGCONT] { sigaddset(&unblock, s) }
        pthread_sigmask(SIG_UNBLOCK, &unblock, nil)

        term.start()
        defer { term.stop() }
        model.session.runObserver = live
        defer { model.session.runObserver = nil }
        setupReadline()
        defer {
            rl_callback_handler_remove()
            _ = write_history(historyPath)
        }
        model.appendScrollback("Ringside: \(model.session.path) under \(model.session.technique).  `help`: the commands, F1: the keys.")
        for c in commands { execute(c) }
        stepLesson()
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
                handleKey(k)
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
        bindKeys()   // function and cursor keys (Keys.swift)
        _ = rl_bind_key(32) { count, key in   // Space on an empty line continues a lesson
            let step = crl_end() == 0 && MainActor.assumeIsolated { TUIApp.current?.model.lesson?.waiting == true }
            if step { MainActor.assumeIsolated { TUIApp.current?.queued.append("") }; return 0 }
            return rl_insert(count, key)
        }
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

    func completions(_ word: String, first: Bool, line: String) -> [String] {
        let s = model.session
        var all: [String]
        if first {
            all = CommandParser.commands + Array(CommandParser.aliases.keys) + ["memory", "memory/v", "memory/p", "memory/h"]
        } else if line.hasPrefix("help ") {
            all = CommandParser.commands + ["keys"]
        } else if line.hasPrefix("info ") || line.hasPrefix("i ") {
            all = CommandParser.infoTopics
        } else {
            // `$` breaks words for readline, so `$ea` arrives as `ea`.
            all = s.symbols.entries.map(\.name) + TUIApp.registerNames + (line.hasPrefix("mem") ? ["stack", "last"] : [])
        }
        return Array(Set(all.filter { $0.hasPrefix(word) })).sorted()
    }

    /// What `$NAME` may name (Debugger/Evaluator.swift's RegisterRef).
    static let registerNames = Reg.names32 + Reg.names16 + Reg.names8 + Seg.names
        + ["eip", "pc", "eflags", "ps", "sp", "fp", "cr0", "cr2", "cr3", "cr4", "fs_base", "gs_base"]

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
        if t.isEmpty {
            if model.lesson?.waiting == true { return stepLesson() }   // Enter continues a lesson
            draw(); return
        }
        let saved = model.state
        model.state = "running…"
        draw()
        Machine.interruptRequested = false
        feedSerial()
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
