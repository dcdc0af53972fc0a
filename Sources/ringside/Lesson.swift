import ArgumentParser
import Debugger
import Monitors
import TUI
#if canImport(Glibc)
import Glibc
#endif

/// `ringside --lesson FILE [--batch] [--technique T] [GUEST]`: a lesson's
/// header (Sources/Debugger/LessonFile.swift) names its guest and the
/// techniques it runs under; a GUEST argument or `--technique` (one the
/// lesson lists) overrides them.  On a terminal the TUI plays it with the
/// Lesson panel; with `--batch`, or without a terminal, it is printed as a
/// transcript and the exit status says whether every expectation held
/// (0, or 1 at the first failure; Batch.swift).
extension Open {
    func openLesson(_ file: String) throws {
        guard let text = Session.readTextFile(file) else {
            complain("ringside: \(file): No such file or directory")
            throw ExitCode(66)
        }
        let header = LessonHeader.parse(text)
        let name: String
        do {
            name = try header.technique(requested: technique?.rawValue)
        } catch {
            complain("ringside: \(file): \(error.message)")
            throw ExitCode(64)
        }
        guard let t = Technique(rawValue: name), VirtualMachine(technique: t, memoryMiB: 1) != nil else {
            complain("ringside: \(file): technique '\(name)' is not available yet")
            throw ExitCode(64)
        }
        guard let path = guest ?? header.guestPath(lessonPath: file, exists: { access($0, R_OK) == 0 }) else {
            complain("ringside: \(file): " + (header.guest.map { "its guest \($0) is missing" }
                                              ?? "the lesson names no guest (a `# guest: FILE` header line)"))
            throw ExitCode(66)
        }
        var options = SessionOptions()
        options.technique = name
        options.maxInstructions = maxInstructions ?? header.maxInstructions
        if batch || !commandFiles.isEmpty || isatty(0) == 0 || isatty(1) == 0 {
            throw ExitCode(Batch.run(guest: path, files: commandFiles + [file], options: options, lesson: true))
        }
        let session: Session
        do { session = try Session(guestPath: path, options: options) } catch {
            complain("ringside: \(error.description)")
            throw ExitCode(error.exitStatus)
        }
        let player = LessonPlayer(file: file, text: text)
        let status = MainActor.assumeIsolated { TUIApp.run(session: session, lesson: player) }
        throw ExitCode(status)
    }
}
