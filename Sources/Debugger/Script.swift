// Command files and the batch transcript.  A ScriptRunner feeds lines to a
// session and hands every event to a sink: the echoed command, its outputs
// in order, the first error.  TranscriptWriter turns the events into the
// transcript text.  Neither prints: the front end writes what they give it.
//
// Transcript rules:
//  - every command is echoed after the prompt `(ringside) `; blank lines
//    and comments are not;
//  - guest serial output appears where it happened: inside the command that
//    ran the guest, before that command's stop report (the session collects
//    it during the run and emits it first); CR LF from the guest becomes LF;
//    when the guest's text does not end a line, the next debugger text
//    starts on a new one;
//  - lesson notes and pauses are not echoed: each note prints as `│ TEXT`,
//    a block of notes stands between blank lines, a pause ends a block
//    (Lesson.swift, NoteText.swift);
//  - the first error ends the script: `FILE:LINE: error: MESSAGE`
//    (`FILE:LINE:COLUMN:` for a parse error), in the transcript too;
//    errors inside `source`d files name that file and line.

public enum TranscriptEvent: Sendable, Equatable {
    case command(String)
    case output(Output)
    /// The whole error line, `FILE:LINE: error: MESSAGE`.
    case error(String)
}

public enum ScriptOutcome: Sendable, Equatable {
    case next
    case failed
    case quit(Int32?)
}

public final class ScriptRunner {
    public let session: Session
    let sink: (TranscriptEvent) -> Void

    public init(session: Session, sink: @escaping (TranscriptEvent) -> Void) {
        self.session = session
        self.sink = sink
    }

    /// Runs one line of `file` (1-based `line`).
    public func run(line text: String, file: String, line: Int) -> ScriptOutcome {
        var echo = text
        while let l = echo.last, l == "\n" || l == "\r" { echo.removeLast() }
        let command: Command?
        do {
            command = try CommandParser.parse(text)
        } catch {
            sink(.command(echo))
            sink(.error("\(file):\(line):\(error.column): error: \(error.message)"))
            return .failed
        }
        guard let command else { return .next }
        if command.isEchoed { sink(.command(echo)) }
        let r = session.execute(command)
        for o in r.outputs { sink(.output(o)) }
        if let e = r.error {
            let place = e.file.map { "\($0):\(e.line ?? 0)" } ?? "\(file):\(line)"
            sink(.error(place + (e.column.map { ":\($0)" } ?? "") + ": error: " + e.message))
            return .failed
        }
        return r.quit ? .quit(r.quitStatus) : .next
    }

    /// Runs every line of `text`; stops at the first error or `quit`.
    public func run(text: String, file: String) -> ScriptOutcome {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last == "" { lines.removeLast() }
        for (k, l) in lines.enumerated() {
            let o = run(line: String(l), file: file, line: k + 1)
            if o != .next { return o }
        }
        return .next
    }
}

extension ScriptOutcome {
    /// The batch exit status: 1 after an error; `quit N` gives N; otherwise
    /// the guest's status if it ended during the script (MachineStop.exitStatus:
    /// debug-exit v gives (v << 1) | 1, halt 0, triple fault 2), else 0.
    public func exitStatus(_ session: Session) -> Int32 {
        switch self {
        case .failed: return 1
        case .quit(let status?): return status
        default: return session.ended?.exitStatus ?? 0
        }
    }
}

/// Renders transcript events as text.
public struct TranscriptWriter {
    public static let prompt = "(ringside) "
    /// True while the guest's serial text has left a line open.
    var serialOpen = false
    var heldCR = false
    /// Whether anything was written yet, and whether the last thing was a note.
    var started = false
    var inNotes = false
    var noteBreak = false

    public init() {}

    public mutating func render(_ e: TranscriptEvent) -> String {
        let first = !started
        switch e {
        case .output(.focus): return ""
        case .output(.pause):
            // A pause ends a block of notes: the next note starts another.
            if inNotes { noteBreak = true }
            return ""
        case .output(.note(let text)):
            // A block of notes stands apart: a blank line before it (unless
            // the transcript starts with it) and after it.
            let before = first || (inNotes && !noteBreak) ? "" : "\n"
            inNotes = true
            noteBreak = false
            started = true
            return closeSerialLine() + before + NoteText.transcript(text)
        default:
            break
        }
        started = true
        let after = inNotes ? "\n" : ""
        inNotes = false
        noteBreak = false
        switch e {
        case .command(let text): return after + closeSerialLine() + TranscriptWriter.prompt + text + "\n"
        case .error(let text): return after + closeSerialLine() + text + "\n"
        case .output(.serial(let bytes)): return after + serial(bytes)
        case .output(let o): return after + closeSerialLine() + o.rendered
        }
    }

    mutating func closeSerialLine() -> String {
        defer { heldCR = false; serialOpen = false }
        return heldCR || serialOpen ? "\n" : ""
    }

    /// Guest bytes with CR LF as LF (a CR at the end waits for the next chunk).
    mutating func serial(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        if heldCR && bytes.first != 10 { out.append(13) }
        heldCR = false
        for (k, b) in bytes.enumerated() {
            if b == 13 {
                if k + 1 < bytes.count { if bytes[k + 1] == 10 { continue } } else { heldCR = true; continue }
            }
            out.append(b)
        }
        if let last = out.last { serialOpen = last != 10 } else if heldCR { serialOpen = true }
        return String(decoding: out, as: UTF8.self)
    }
}
