import Debugger
import PC
#if canImport(Glibc)
import Glibc
#endif

/// `ringside GUEST --batch [-x FILE]...`: runs the command files, then
/// standard input when it is not a terminal, and writes the transcript to
/// standard output (DESIGN.md "Command files"; Sources/Debugger/Script.swift
/// for how serial output interleaves).
///
/// Exit status: 1 at the first error (`FILE:LINE: error: MESSAGE`, also on
/// standard error); `quit N` exits N; otherwise the guest's status when the
/// guest ended during the script (debug-exit v → (v << 1) | 1, halt 0,
/// triple fault 2…, as `ringside run`), else 0.
///
/// A lesson (`--lesson FILE --batch`) is one command file; standard input is
/// not read, and a lesson that runs to its end exits 0 whatever the guest
/// did: the status says whether every expectation held.
enum Batch {
    static func run(guest: String, files: [String], options: SessionOptions, lesson: Bool = false) -> Int32 {
        let session: Session
        do {
            session = try Session(guestPath: guest, options: options)
        } catch {
            complain("ringside: \(error)")
            return error.exitStatus
        }
        var writer = TranscriptWriter()
        let runner = ScriptRunner(session: session) { event in
            writeAll(1, Array(writer.render(event).utf8))
            if case .error(let line) = event { complain(line) }
        }
        signal(SIGINT) { _ in Machine.interruptRequested = true }
        var outcome = ScriptOutcome.next
        for file in files where outcome == .next {
            guard let text = Session.readTextFile(file) else {
                complain("ringside: \(file): No such file or directory")
                return 66
            }
            outcome = runner.run(text: text, file: file)
        }
        if lesson { return outcome == .next ? 0 : outcome.exitStatus(session) }
        if outcome == .next && isatty(0) == 0 {
            var n = 0
            while outcome == .next, let line = readLine(strippingNewline: true) {
                n += 1
                outcome = runner.run(line: line, file: "<stdin>", line: n)
            }
        }
        return outcome.exitStatus(session)
    }
}
