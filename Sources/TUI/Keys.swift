import CNCurses
import CReadline
import Debugger
import X86
#if canImport(Glibc)
import Glibc
#endif

// The key map (gdb TUI, Turbo Debugger and Blinkenlights habits; `help keys`
// lists it, Model.keysHelp).  Keypad mode is off, so keys arrive as the
// terminal's escape sequences and readline parses them: each function key is
// a readline binding to its escape sequences — the terminal's own (terminfo)
// and those of xterm, rxvt and the Linux console.
//
// What touches the session is a command of the language, queued as if typed
// (F5 queues `continue`, F9 `break *ADDR` or `delete N`), so the scrollback
// shows it.  What only changes the view (F2, F3, the cursor keys in a focused
// panel, Tab) acts at once.  While the guest runs, keys are still read
// (LiveRun.swift): the view keys act, F6 stops, typed lines wait their turn.

/// A readline command: (count, key) -> status.
typealias KeyFunction = @convention(c) (Int32, Int32) -> Int32

extension TUIApp {
    /// Escape sequences per function key: terminfo's first, then the common ones.
    static func sequences(_ key: Int) -> [String] {
        let known: [Int: [String]] = [
            1: ["\u{1b}OP", "\u{1b}[11~", "\u{1b}[[A"], 2: ["\u{1b}OQ", "\u{1b}[12~", "\u{1b}[[B"],
            3: ["\u{1b}OR", "\u{1b}[13~", "\u{1b}[[C"], 4: ["\u{1b}OS", "\u{1b}[14~", "\u{1b}[[D"],
            5: ["\u{1b}[15~", "\u{1b}[[E"], 6: ["\u{1b}[17~"], 7: ["\u{1b}[18~"], 8: ["\u{1b}[19~"],
            9: ["\u{1b}[20~"], 10: ["\u{1b}[21~"],
        ]
        var out: [String] = []
        if let p = tigetstr("kf\(key)"), Int(bitPattern: p) != -1 { out.append(String(cString: p)) }
        for s in known[key] ?? [] where !out.contains(s) { out.append(s) }
        return out
    }

    /// Binds the function and cursor keys (after readline is set up).
    func bindKeys() {
        // C function pointers cannot capture: one literal per key.
        let fkeys: [KeyFunction] = [
            { _, _ in TUIApp.functionKey(1) }, { _, _ in TUIApp.functionKey(2) }, { _, _ in TUIApp.functionKey(3) },
            { _, _ in TUIApp.functionKey(4) }, { _, _ in TUIApp.functionKey(5) }, { _, _ in TUIApp.functionKey(6) },
            { _, _ in TUIApp.functionKey(7) }, { _, _ in TUIApp.functionKey(8) }, { _, _ in TUIApp.functionKey(9) },
            { _, _ in TUIApp.functionKey(10) },
        ]
        for (k, f) in fkeys.enumerated() {
            for s in TUIApp.sequences(k + 1) { _ = rl_bind_keyseq(s, f) }
        }
        let moves: [(seqs: [String], f: KeyFunction)] = [
            (["\u{1b}[A", "\u{1b}OA"], { c, k in TUIApp.move(.up, c, k) }),
            (["\u{1b}[B", "\u{1b}OB"], { c, k in TUIApp.move(.down, c, k) }),
            (["\u{1b}[5~"], { c, k in TUIApp.move(.pageUp, c, k) }),
            (["\u{1b}[6~"], { c, k in TUIApp.move(.pageDown, c, k) }),
            (["\u{1b}[H", "\u{1b}OH", "\u{1b}[1~", "\u{1b}[7~"], { c, k in TUIApp.move(.home, c, k) }),
            (["\u{1b}[F", "\u{1b}OF", "\u{1b}[4~", "\u{1b}[8~"], { c, k in TUIApp.move(.end, c, k) }),
            (["\u{1b}[Z"], { _, _ in MainActor.assumeIsolated { TUIApp.current?.cycleFocus(by: -1) }; return 0 }),
        ]
        for (seqs, f) in moves { for s in seqs { _ = rl_bind_keyseq(s, f) } }
    }

    nonisolated static func functionKey(_ n: Int) -> Int32 {
        MainActor.assumeIsolated { TUIApp.current?.functionKey(n) }
        return 0
    }

    func functionKey(_ n: Int) {
        let running = model.running
        func command(_ c: String) {
            if running { return note("the guest is running: F6 or Ctrl-C stops it first") }
            queued.append(c)
        }
        switch n {
        case 1: queued.append("help keys")
        case 2: TrapLogPanel.nextFilter(model)
        case 3:
            let all = MemorySpace.allCases
            model.memoryView = all[(all.firstIndex(of: MemoryPanel.viewSpace(model))! + 1) % all.count]
            if MemoryPanel.viewSpace(model) != model.memoryView { model.memoryView = model.memoryFollowSpace }
            model.memoryScroll = 0
        case 4:
            guard let a = model.codeCursor else { return note("F4 runs to the code cursor: Tab to Code, move it with Up/Down") }
            command("advance *0x" + hex8(a))
        case 5: command("continue")
        case 6:
            if running { live.stopRequested = true } else { note("the guest is not running") }
        case 7: command("stepi")
        case 8: command("nexti")
        case 9: command(toggleBreakpoint(at: model.codeCursor ?? model.session.linearEIP))
        case 10: command("finish")
        default: break
        }
        draw()
    }

    /// `break *ADDR`, or `delete N…` when breakpoints are there already.
    func toggleBreakpoint(at a: UInt32) -> String {
        let here = model.session.breakpointList.filter { $0.address == a }.map { String($0.number) }
        return here.isEmpty ? "break *0x" + hex8(a) : "delete " + here.joined(separator: " ")
    }

    func note(_ text: String) {
        model.appendScrollback(text)
        draw()
    }

    // MARK: - Focus and the cursor keys

    enum Move { case up, down, pageUp, pageDown, home, end }

    nonisolated static func move(_ m: Move, _ count: Int32, _ key: Int32) -> Int32 {
        let onCommandLine = MainActor.assumeIsolated { TUIApp.current?.model.focus == .command }
        if onCommandLine {
            // The command line keeps readline's own meaning for the keys it has.
            switch m {
            case .up: return rl_get_previous_history(count, key)
            case .down: return rl_get_next_history(count, key)
            case .home: return rl_beg_of_line(count, key)
            case .end: return rl_end_of_line(count, key)
            default: break
            }
        }
        MainActor.assumeIsolated { TUIApp.current?.move(m) }
        return 0
    }

    /// Tab moves the focus forward, Shift-Tab back.
    func cycleFocus(by step: Int = 1) {
        let order = Screen.focusOrder
        let i = order.firstIndex(of: model.focus) ?? 0
        model.focus = order[(i + step + order.count) % order.count]
        draw()
    }

    /// Lines a page key moves: about a panel's height.
    static let page = 8

    func move(_ m: Move) {
        let step: Int
        switch m {
        case .up: step = -1
        case .down: step = 1
        case .pageUp: step = -TUIApp.page
        case .pageDown: step = TUIApp.page
        case .home, .end: step = 0
        }
        switch model.focus {
        case .code:
            if m == .home || m == .end { model.codeCursor = nil } else { CodePanel.moveCursor(model, by: step) }
        case .trapLog:
            switch m {
            case .home: model.trapSelection = TrapLogPanel.visible(model).first?.sequence
            case .end: model.trapSelection = nil
            default: TrapLogPanel.move(model, by: step)
            }
        case .memory:
            model.memoryScroll = m == .home || m == .end ? 0 : model.memoryScroll + step
        case .registers:
            model.scrollOffset[.registers] = m == .home ? 0 : max(0, (model.scrollOffset[.registers] ?? 0) + step)
        case .command, .serial:
            // Scrolled back from the bottom: up goes back in time.
            let id = model.focus
            model.scrollOffset[id] = m == .end ? 0 : m == .home ? 100_000 : max(0, (model.scrollOffset[id] ?? 0) - step)
        case .rings:
            break
        }
        draw()
    }

    // MARK: - Keys from the loop

    /// One key from the terminal: a resize, a byte for the guest's serial
    /// port (Serial focused), or a byte for readline.
    func handleKey(_ k: Int32) {
        if k == KEY_RESIZE {
            let (r, c) = term.size
            rl_set_screen_size(Int32(r), Int32(c))
            _ = clearok(cn_stdscr(), true)
            draw()
            return
        }
        // Tab and escape sequences (function keys) keep their meaning in the Serial panel.
        let inSequence = escape.feed(k)
        if model.focus == .serial && k != 9 && !inSequence && k >= 0 && k < 256 {
            model.serialInput.append(UInt8(k))
            feedSerial()
            draw()
            return
        }
        RL.pending = k
        RL.hasPending = true
        rl_callback_read_char()
    }

    func feedSerial() { model.feedSerial() }
}

/// Follows the terminal's escape sequences byte by byte (ESC, ESC [ … final,
/// ESC O x, the Linux console's ESC [ [ x), so that in the Serial panel a
/// function key still goes to readline whole instead of half to the guest.
struct EscapeTracker {
    enum State { case none, escape, sequence }
    var state = State.none

    /// True when `k` belongs to an escape sequence.
    mutating func feed(_ k: Int32) -> Bool {
        switch state {
        case .none:
            if k == 27 { state = .escape; return true }
            return false
        case .escape:
            state = k == 0x5B || k == 0x4F ? .sequence : .none   // `[` or `O`, else an Alt-key
            return true
        case .sequence:
            if (0x40...0x7E).contains(k) && k != 0x5B { state = .none }   // the final byte
            return true
        }
    }
}
