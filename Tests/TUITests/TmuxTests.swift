// One end-to-end test: the real binary in a detached tmux session of fixed
// size.  Helpers are spawned with posix_spawn (clean signal mask, output to a
// file, waitpid with a deadline): Foundation.Process with pipes can hang on
// the forked tmux server (swift-tui-notes.md §5).  Skipped only when tmux is
// missing; every wait is bounded.

import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

struct Tmux {
    static let path: String? = ["/usr/bin/tmux", "/usr/local/bin/tmux", "/bin/tmux"].first { access($0, X_OK) == 0 }
    static var available: Bool { path != nil }

    let name = "ringside-test-\(getpid())-\(UInt32.random(in: 0...999_999))"

    /// Runs tmux with `args`, at most `timeout` seconds; returns its output.
    @discardableResult
    func run(_ args: [String], timeout: Double = 5) -> String {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UInt32.random(in: 0...999_999)).out").path
        defer { unlink(out) }
        var fa = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fa)
        defer { posix_spawn_file_actions_destroy(&fa) }
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&fa, 1, 2)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var empty = sigset_t(), all = sigset_t()
        sigemptyset(&empty); sigfillset(&all)
        posix_spawnattr_setsigmask(&attr, &empty)
        posix_spawnattr_setsigdefault(&attr, &all)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = ([Tmux.path!] + args).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, Tmux.path!, &fa, &attr, argv, environ) == 0 else { return "" }
        let deadline = Date().addingTimeInterval(timeout)
        var status: Int32 = 0
        while waitpid(pid, &status, WNOHANG) == 0 {
            if Date() > deadline { kill(pid, SIGKILL); waitpid(pid, &status, 0); break }
            usleep(10_000)
        }
        return (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
    }

    func capture() -> String { run(["capture-pane", "-p", "-t", name]) }

    /// Polls the screen until `predicate` holds or `timeout` passes.
    func waitFor(_ timeout: Double = 10, _ predicate: (String) -> Bool) -> String {
        let deadline = Date().addingTimeInterval(timeout)
        var screen = capture()
        while !predicate(screen) && Date() < deadline {
            usleep(100_000)
            screen = capture()
        }
        return screen
    }
}

@Suite("TUI under tmux")
struct TmuxTests {
    static func binary() -> String? {
        var dirs = [URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()]
        if let b = Bundle.main.executableURL { dirs.append(b.deletingLastPathComponent()) }
        dirs.append(Repo.root.appendingPathComponent(".build/debug"))
        for d in dirs {
            var u = d
            for _ in 0..<4 {   // the test bundle may sit a few levels below the build directory
                let p = u.appendingPathComponent("ringside").path
                if access(p, X_OK) == 0, !p.hasSuffix(".xctest/ringside") { return p }
                u = u.deletingLastPathComponent()
            }
        }
        return nil
    }

    static let titles = ["Registers", "Rings", "Code", "Trap log", "Memory", "Serial"]

    /// Starts ringside with `args` in a fresh tmux session of 120x40 and a
    /// temporary HOME; `body` drives it.  The session is killed afterwards.
    func withRingside(_ args: String, _ body: (Tmux, String) throws -> Void) throws {
        let bin = try #require(TmuxTests.binary(), "the ringside binary was not built next to the tests")
        let t = Tmux()
        let home = FileManager.default.temporaryDirectory.appendingPathComponent(t.name).path
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        defer { t.run(["kill-session", "-t", t.name]); try? FileManager.default.removeItem(atPath: home) }
        let cmd = "cd '\(Repo.root.path)' && env TERM=xterm-256color LANG=C.UTF-8 INPUTRC=/dev/null HOME='\(home)' SWIFT_BACKTRACE=interactive=no '\(bin)' \(args); echo RINGSIDE-EXITED $?; "
            + "echo TTY $(stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e -icanon -e echo -e -echo); sleep 30"
        t.run(["new-session", "-d", "-s", t.name, "-x", "120", "-y", "40", cmd])
        try body(t, home)
    }

    @Test("hello.elf at 120x40: panels, stepi, break and continue, resize to 80x24 and back, quit restores the terminal",
          .enabled(if: Tmux.available, "tmux is not installed: skipping the tmux test"))
    func session() throws {
        try withRingside("demos/build/hello.elf") { t, _ in
            let first = t.waitFor { $0.contains("(ringside)") && $0.contains("Registers") }
            for title in TmuxTests.titles {
                #expect(first.contains("─ " + title), "no \(title) panel on screen:\n\(first)")
            }
            #expect(first.contains("=> 00100010"), "EIP not at the entry:\n\(first)")

            t.type("si")
            let stepped = t.waitFor { $0.contains("1 insns") }
            #expect(stepped.contains("1 insns"), "stepi did not run:\n\(stepped)")
            #expect(!stepped.contains("=> 00100010") && stepped.contains("=> 00100011"), "EIP did not move:\n\(stepped)")

            t.type("break _start.done")
            t.type("continue")
            let hit = t.waitFor { $0.contains("stopped: breakpoint 1") }
            #expect(hit.contains("Breakpoint 1, 0x0010002f in _start.done ()"), "no breakpoint stop:\n\(hit)")
            #expect(hit.contains("stopped: breakpoint 1 at 0x0010002f <_start.done>"), "status line:\n\(hit)")
            #expect(hit.contains("●=> 0010002f"), "Code panel does not mark EIP at the breakpoint:\n\(hit)")
            #expect(hit.contains("Hello"), "the guest's serial output is not in the Serial panel:\n\(hit)")

            t.run(["resize-window", "-t", t.name, "-x", "80", "-y", "24"])
            func allTitles(_ s: String) -> Bool { TmuxTests.titles.allSatisfy { s.contains("─ " + $0) } }
            // Wait for the whole redraw (a capture may catch one half-way).
            let small = t.waitFor { $0.split(separator: "\n").first?.count ?? 0 <= 80 && allTitles($0) && $0.contains("(ringside)") }
            for title in TmuxTests.titles { #expect(small.contains("─ " + title), "80x24 lost \(title):\n\(small)") }
            #expect(!small.contains("too small"))
            t.run(["resize-window", "-t", t.name, "-x", "70", "-y", "20"])
            let tiny = t.waitFor { $0.contains("terminal too small") }
            #expect(tiny.contains("terminal too small (70x20, need 80x24)"), "\(tiny)")
            t.run(["resize-window", "-t", t.name, "-x", "120", "-y", "40"])
            let back = t.waitFor { allTitles($0) && !$0.contains("too small") && $0.contains("(ringside)") }
            for title in TmuxTests.titles { #expect(back.contains("─ " + title), "120x40 again lost \(title):\n\(back)") }

            t.type("quit")
            let gone = t.waitFor { $0.contains("RINGSIDE-EXITED") && $0.contains("TTY") }
            #expect(gone.contains("RINGSIDE-EXITED 0"), "ringside did not leave cleanly:\n\(gone)")
            #expect(!gone.contains("Registers"), "the screen was not restored:\n\(gone)")
            #expect(gone.contains("TTY icanon echo"), "the terminal modes were not restored:\n\(gone)")
        }
    }

    @Test("continue keeps the screen live: MIPS, the count grows, F6 and Ctrl-C stop without leaving",
          .enabled(if: Tmux.available, "tmux is not installed: skipping the tmux test"))
    func liveContinue() throws {
        try withRingside("demos/build/bench.elf") { t, _ in
            _ = t.waitFor { $0.contains("(ringside)") && $0.contains("Registers") }
            t.keys("F5")
            let running = t.waitFor { $0.contains("running: F6 or Ctrl-C stops") && $0.contains(" MIPS") }
            #expect(running.contains(" MIPS"), "no MIPS while running:\n\(running)")
            func count(_ screen: String) -> Int {
                guard let r = screen.range(of: #"(\d+) insns"#, options: .regularExpression) else { return -1 }
                return Int(screen[r].split(separator: " ")[0]) ?? -1
            }
            let before = count(running)
            let later = t.waitFor { count($0) > before }
            #expect(count(later) > before, "the screen did not refresh while the guest ran")
            // Keys are read while the guest runs: the command line takes text.
            t.run(["send-keys", "-t", t.name, "-l", "info reg"])
            let typed = t.waitFor { $0.contains("(ringside) info reg") }
            #expect(typed.contains("(ringside) info reg"), "typing while running:\n\(typed)")
            t.keys("F6")
            let stopped = t.waitFor { $0.contains("stopped: interrupted") }
            #expect(stopped.contains("Program received signal SIGINT, Interrupt."), "F6 did not stop:\n\(stopped)")
            // The typed line is still there; Enter runs it now.
            t.keys("Enter")
            _ = t.waitFor { $0.contains("eflags") }

            t.type("continue")
            _ = t.waitFor { $0.contains("running: F6 or Ctrl-C stops") }
            t.keys("C-c")
            let again = t.waitFor { $0.contains("stopped: interrupted") && !$0.contains("running:") }
            #expect(again.contains("stopped: interrupted"), "Ctrl-C did not stop:\n\(again)")
            #expect(!again.contains("RINGSIDE-EXITED"), "Ctrl-C left Ringside:\n\(again)")
            t.type("quit")
            #expect(t.waitFor { $0.contains("RINGSIDE-EXITED") && $0.contains("TTY") }.contains("RINGSIDE-EXITED 0"))
        }
    }

    @Test("-x runs a command file first; history persists in ~/.ringside_history; Ctrl-R and Tab",
          .enabled(if: Tmux.available, "tmux is not installed: skipping the tmux test"))
    func commandFileAndReadline() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ringside-x-\(getpid()).cmd").path
        try "break _start.done\ncontinue\n".write(toFile: file, atomically: true, encoding: .utf8)
        defer { unlink(file) }
        try withRingside("demos/build/hello.elf -x '\(file)'") { t, home in
            let first = t.waitFor { $0.contains("stopped: breakpoint 1") }
            #expect(first.contains("Breakpoint 1, 0x0010002f in _start.done ()"), "-x did not run:\n\(first)")
            // Tab completes commands and symbols.
            t.run(["send-keys", "-t", t.name, "-l", "disass"])
            t.keys("Tab")
            _ = t.waitFor { $0.contains("(ringside) disassemble") }
            t.run(["send-keys", "-t", t.name, "-l", "_start.ha"])
            t.keys("Tab")
            let completed = t.waitFor { $0.contains("(ringside) disassemble _start.hang") }
            #expect(completed.contains("(ringside) disassemble _start.hang"), "\(completed)")
            t.keys("Enter")
            _ = t.waitFor { $0.contains("End of assembler dump") }
            t.keys("C-r")
            t.run(["send-keys", "-t", t.name, "-l", "disas"])
            let search = t.waitFor { $0.contains("(reverse-i-search)`disas'") }
            #expect(search.contains("(reverse-i-search)`disas': disassemble _start.hang"), "\(search)")
            t.keys("C-g")
            t.type("quit")
            _ = t.waitFor { $0.contains("RINGSIDE-EXITED") && $0.contains("TTY") }
            let history = (try? String(contentsOfFile: home + "/.ringside_history", encoding: .utf8)) ?? ""
            #expect(history.contains("disassemble _start.hang") && history.contains("quit"), "history: \(history)")
        }
    }
}

extension TmuxTests {
    @Test("a crash signal restores the terminal", .enabled(if: Tmux.available, "tmux is not installed: skipping the tmux test"))
    func crash() throws {
        try withRingside("demos/build/hello.elf") { t, _ in
            _ = t.waitFor { $0.contains("(ringside)") && $0.contains("Registers") }
            // The pane runs `sh -c "cd …; env … ringside …; echo …"`: ringside is the shell's child.
            let pane = t.run(["display-message", "-p", "-t", t.name, "#{pane_pid}"]).filter(\.isNumber)
            let children = (try? String(contentsOfFile: "/proc/\(pane)/task/\(pane)/children", encoding: .utf8)) ?? ""
            let pid = try #require(children.split(separator: " ").compactMap { Int32($0) }.first, "no ringside process under pane \(pane)")
            kill(pid, SIGSEGV)
            let gone = t.waitFor { $0.contains("RINGSIDE-EXITED") && $0.contains("TTY") }
            #expect(gone.contains("RINGSIDE-EXITED 139"), "not a SIGSEGV death:\n\(gone)")
            #expect(!gone.contains("Registers"), "the screen was not restored:\n\(gone)")
            #expect(gone.contains("TTY icanon echo"), "the terminal modes were not restored:\n\(gone)")
        }
    }
}

extension Tmux {
    /// Types a line and presses Enter.
    func type(_ line: String) {
        run(["send-keys", "-t", name, "-l", line])
        run(["send-keys", "-t", name, "Enter"])
    }

    /// Presses keys by tmux's names (F5, C-c, Enter…).
    func keys(_ names: String...) { run(["send-keys", "-t", name] + names) }
}
