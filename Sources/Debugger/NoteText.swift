// The Markdown-light of lesson notes: `*emphasis*` and `` `code` ``, nothing
// else.  The transcript keeps the marks and the lines as written (they read
// well as plain text); the TUI's lesson panel turns the marks into styles
// and flows consecutive notes into paragraphs, as Markdown reads lines.
//
// Rules, kept small so that a note about x86 can say `*ADDR` or `x/4xw`
// without surprises: a backquote opens a code span that runs to the next
// backquote (nothing inside is special); a `*` opens emphasis only when a
// non-blank follows it and a later `*` closes it after a non-blank; any
// other `*` is an ordinary character.

public enum NoteSpan: Sendable, Equatable {
    case plain(String)
    case emphasis(String)
    case code(String)

    public var text: String {
        switch self {
        case .plain(let s), .emphasis(let s), .code(let s): return s
        }
    }

    func with(_ text: String) -> NoteSpan {
        switch self {
        case .plain: return .plain(text)
        case .emphasis: return .emphasis(text)
        case .code: return .code(text)
        }
    }
}

public enum NoteText {
    /// How wide a transcript note may be, its "│ " bar included.
    public static let transcriptWidth = 78
    /// The bar in front of every note line in a transcript.
    public static let bar = "│ "

    /// The spans of one note.
    public static func spans(_ text: String) -> [NoteSpan] {
        let c = Array(text)
        var out: [NoteSpan] = []
        var plain = ""
        func flush() { if !plain.isEmpty { out.append(.plain(plain)); plain = "" } }
        var i = 0
        while i < c.count {
            if c[i] == "`", let end = c[(i + 1)...].firstIndex(of: "`") {
                flush()
                out.append(.code(String(c[(i + 1)..<end])))
                i = end + 1
                continue
            }
            if c[i] == "*", i + 1 < c.count, !c[i + 1].isWhitespace, c[i + 1] != "*", let end = closingStar(c, after: i + 1) {
                flush()
                out.append(.emphasis(String(c[(i + 1)..<end])))
                i = end + 1
                continue
            }
            plain.append(c[i])
            i += 1
        }
        flush()
        return out
    }

    /// The `*` that closes emphasis opened before `start`: preceded by a
    /// non-blank, not followed by a letter or digit.
    static func closingStar(_ c: [Character], after start: Int) -> Int? {
        var k = start + 1
        while k < c.count {
            if c[k] == "`" { return nil }
            if c[k] == "*" && !c[k - 1].isWhitespace && (k + 1 == c.count || !(c[k + 1].isLetter || c[k + 1].isNumber)) {
                return k
            }
            k += 1
        }
        return nil
    }

    /// Spans cut into lines of at most `width` characters, breaking at
    /// blanks (a word longer than a line is cut).
    public static func wrap(_ spans: [NoteSpan], width: Int) -> [[NoteSpan]] {
        let width = max(8, width)
        // Words keep their span's style; a blank between words is plain.
        var words: [(NoteSpan, Bool)] = []   // (word, blank before it)
        var blank = false
        for span in spans {
            var word = ""
            for ch in span.text {
                if ch == " " {
                    if !word.isEmpty { words.append((span.with(word), blank)); word = "" }
                    blank = true
                } else {
                    word.append(ch)
                }
            }
            if !word.isEmpty { words.append((span.with(word), blank)); blank = false }
        }
        var lines: [[NoteSpan]] = []
        var line: [NoteSpan] = []
        var used = 0
        for (w, blankBefore) in words {
            var word = w
            let gap = blankBefore && used > 0 ? 1 : 0
            if used + gap + word.text.count > width && used > 0 {
                lines.append(line); line = []; used = 0
            } else if gap == 1 {
                line.append(.plain(" ")); used += 1
            }
            while word.text.count > width {
                line.append(word.with(String(word.text.prefix(width))))
                lines.append(line); line = []; used = 0
                word = word.with(String(word.text.dropFirst(width)))
            }
            line.append(word)
            used += word.text.count
        }
        if !line.isEmpty || lines.isEmpty { lines.append(line) }
        return lines
    }

    /// A note as the transcript shows it: marks kept, each line behind the
    /// bar, as the lesson wrote it — wrapped only when it is wider than the
    /// transcript (lessons keep note lines within 76 characters; the TUI
    /// re-flows consecutive notes into paragraphs for its panel instead).
    public static func transcript(_ text: String) -> String {
        if text.count <= transcriptWidth - bar.count {
            var s = bar + text
            while s.last == " " { s.removeLast() }
            return s + "\n"
        }
        let raw = spans(text).map { (s: NoteSpan) -> NoteSpan in
            switch s {
            case .plain: return s
            case .emphasis(let t): return .plain("*" + t + "*")
            case .code(let t): return .plain("`" + t + "`")
            }
        }
        return wrap(raw, width: transcriptWidth - bar.count).map { line in
            var s = bar + line.map(\.text).joined()
            while s.last == " " { s.removeLast() }
            return s + "\n"
        }.joined()
    }
}
