import Monitors
import PC

// A lesson file (lessons/NN-name.rsc) is a command file whose first comment
// lines form a header that says how to open it:
//
//   # Lesson 3: the holes in trap-and-emulate     <- the title (first line)
//   # guest: demos/build/sensitive.elf            <- the guest it opens
//   # technique: trap                             <- one or more, blank- or
//                                                    comma-separated
//   # max-instructions: 50000000                  <- per running command
//
// The header ends at the first line that is neither blank nor a comment,
// and the first line of each key counts.  The first
// technique is the default; `ringside --lesson FILE --technique T` may pick
// any other one the header lists (and only those: the lesson's expectations
// hold under them), and `make test` runs the lesson under each
// (tools/check-lessons.sh).  A lesson changes technique or guest on its way
// with the ordinary `technique NAME` and `file PATH` commands.
//
// A relative guest path is looked up from the current directory, then from
// the lesson's directory and its parent, so `ringside --lesson
// lessons/03-holes.rsc` works from the checkout and from `lessons/`.

public struct LessonHeader: Sendable, Equatable {
    public var title: String?
    public var guest: String?
    public var techniques: [String] = []
    public var maxInstructions: UInt64?

    public init() {}

    /// Reads the header of a lesson's text.
    public static func parse(_ text: String) -> LessonHeader {
        var h = LessonHeader()
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.drop { $0 == " " || $0 == "\t" }
            if line.isEmpty { continue }
            guard line.hasPrefix("#") else { break }
            let body = String(line.dropFirst().drop { $0 == " " })
            if let (key, value) = keyValue(body) {
                // The first line of each key counts.
                switch key {
                case "guest": h.guest = h.guest ?? value
                case "technique", "techniques":
                    if h.techniques.isEmpty { h.techniques = value.split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init) }
                case "max-instructions": h.maxInstructions = h.maxInstructions ?? UInt64(value)
                default: break
                }
            } else if h.title == nil && !body.isEmpty {
                h.title = body
            }
        }
        return h
    }

    static func keyValue(_ s: String) -> (String, String)? {
        guard let colon = s.firstIndex(of: ":") else { return nil }
        let key = String(s[..<colon]).lowercased()
        guard ["guest", "technique", "techniques", "max-instructions"].contains(key) else { return nil }
        var value = s[s.index(after: colon)...]
        while value.first == " " { value.removeFirst() }
        while value.last == " " || value.last == "\r" { value.removeLast() }
        return (key, String(value))
    }

    /// The technique to open the lesson under: `requested` when the lesson
    /// allows it, else the lesson's first, else native.
    public func technique(requested: String?) throws(CommandError) -> String {
        guard let requested else { return techniques.first ?? "native" }
        if techniques.isEmpty || techniques.contains(requested) { return requested }
        throw CommandError("this lesson runs under \(techniques.joined(separator: ", ")), not \(requested)")
    }

    /// Where the guest file is, for a lesson at `lessonPath` (nil: none named or not found).
    public func guestPath(lessonPath: String, exists: (String) -> Bool) -> String? {
        guard let guest else { return nil }
        if guest.hasPrefix("/") { return guest }
        let dir = LessonHeader.directory(of: lessonPath)
        let candidates = [guest, dir + "/" + guest, LessonHeader.directory(of: dir) + "/" + guest]
        return candidates.first(where: exists)
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}

extension Session {
    /// `file PATH`: debug another guest, restarted under the current
    /// technique.  Breakpoints and displays stay as they are (delete them
    /// first when their addresses mean nothing in the new guest).
    func fileCommand(_ newPath: String) throws(CommandError) {
        let newBytes: [UInt8]
        do {
            newBytes = try GuestLoader.read(newPath)
        } catch {
            throw CommandError(error.description)
        }
        let (oldPath, oldBytes) = (path, bytes)
        path = newPath
        bytes = newBytes
        do {
            try restart(vm.technique)
        } catch {
            (path, bytes) = (oldPath, oldBytes)
            throw error
        }
        symbols = SymbolTable(elf: newBytes, fallback: guest.symbols)
        examineNext = nil
        line("Reading symbols from \(newPath)... \(symbols.entries.isEmpty ? "(no symbols)" : "done").")
        line("Loaded \(newPath) under \(technique): " + Session.techniqueNote(vm.technique))
    }
}
