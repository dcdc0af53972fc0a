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

    @Test("ringside hello.elf: stepi moves EIP, quit leaves", .enabled(if: Tmux.available, "tmux is not installed: skipping the tmux test"))
    func stepAndQuit() throws {
        let bin = try #require(TmuxTests.binary(), "the ringside binary was not built next to the tests")
        let t = Tmux()
        let home = FileManager.default.temporaryDirectory.appendingPathComponent(t.name).path
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        defer { t.run(["kill-session", "-t", t.name]); try? FileManager.default.removeItem(atPath: home) }
        let cmd = "cd '\(Repo.root.path)' && env TERM=xterm-256color LANG=C.UTF-8 INPUTRC=/dev/null HOME='\(home)' SWIFT_BACKTRACE=interactive=no '\(bin)' demos/build/hello.elf; echo RINGSIDE-EXITED $?; sleep 30"
        t.run(["new-session", "-d", "-s", t.name, "-x", "120", "-y", "40", cmd])

        let first = t.waitFor { $0.contains("(ringside)") && $0.contains("Registers") }
        for title in ["Registers", "Rings", "Code", "Trap log", "Memory", "Serial"] {
            #expect(first.contains(title), "no \(title) panel on screen:\n\(first)")
        }
        #expect(first.contains("=> 00100010"), "EIP not at the entry:\n\(first)")

        t.run(["send-keys", "-t", t.name, "-l", "si"])
        t.run(["send-keys", "-t", t.name, "Enter"])
        let stepped = t.waitFor { $0.contains("1 insns") }
        #expect(stepped.contains("1 insns"), "stepi did not run:\n\(stepped)")
        #expect(!stepped.contains("=> 00100010"), "EIP did not move:\n\(stepped)")

        t.run(["send-keys", "-t", t.name, "-l", "quit"])
        t.run(["send-keys", "-t", t.name, "Enter"])
        let gone = t.waitFor { $0.contains("RINGSIDE-EXITED") }
        #expect(gone.contains("RINGSIDE-EXITED 0"), "ringside did not leave cleanly:\n\(gone)")
        #expect(!gone.contains("Registers"), "the screen was not restored:\n\(gone)")
    }
}
