// Snapshot files: a rendered canvas as text, then its styles, one letter per
// cell (Snapshots/NAME.txt).  They change only on purpose: a missing or
// different snapshot fails the test and the rendering is written next to
// the build (the path is in the failure); re-record all of them with
//
//     RINGSIDE_RECORD_SNAPSHOTS=1 swift test --filter TUITests
//
// and read the diff before committing it.

import Foundation
import Testing
@testable import TUI

enum Snapshot {
    static let directory = Repo.root.appendingPathComponent("Tests/TUITests/Snapshots")
    static var recording: Bool { ProcessInfo.processInfo.environment["RINGSIDE_RECORD_SNAPSHOTS"] == "1" }

    /// One letter per style role; upper case when reversed, blank for plain text.
    static func letter(_ s: Style) -> Character {
        let roles: [Style.Role: Character] = [.normal: "n", .title: "t", .changed: "c", .mismatch: "m", .current: "e",
                                              .breakpoint: "b", .dim: "d", .focus: "f", .error: "x"]
        if s == .plain { return " " }
        let c = roles[s.role] ?? "?"
        return s.reverse ? Character(c.uppercased()) : c
    }

    /// The text of the canvas, then its style layer.
    static func text(_ c: Canvas) -> String {
        var styles: [String] = []
        for r in 0..<c.rows {
            var s = String((0..<c.cols).map { letter(c[r, $0].style) })
            while s.last == " " { s.removeLast() }
            styles.append(s)
        }
        return c.text + "\n--- styles (t title, c changed, m mismatch, e current, b breakpoint, d dim, f focus, x error; upper case reversed)\n"
            + styles.joined(separator: "\n") + "\n"
    }

    /// Compares `canvas` with Snapshots/NAME.txt (records it when asked to).
    static func check(_ canvas: Canvas, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let file = directory.appendingPathComponent(name + ".txt")
        let actual = text(canvas)
        if recording {
            try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try? actual.write(to: file, atomically: true, encoding: .utf8)
            return
        }
        guard let expected = try? String(contentsOf: file, encoding: .utf8) else {
            Issue.record("no snapshot \(file.path); record it with RINGSIDE_RECORD_SNAPSHOTS=1", sourceLocation: sourceLocation)
            return
        }
        guard expected != actual else { return }
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("ringside-snapshot-\(name).txt")
        try? actual.write(to: out, atomically: true, encoding: .utf8)
        let e = expected.split(separator: "\n", omittingEmptySubsequences: false)
        let a = actual.split(separator: "\n", omittingEmptySubsequences: false)
        let k = (0..<min(e.count, a.count)).first { e[$0] != a[$0] } ?? min(e.count, a.count)
        Issue.record("""
            snapshot \(name) differs at line \(k + 1):
              expected: \(k < e.count ? String(e[k]) : "(end)")
              actual:   \(k < a.count ? String(a[k]) : "(end)")
            the rendering is in \(out.path); re-record on purpose with RINGSIDE_RECORD_SNAPSHOTS=1
            """, sourceLocation: sourceLocation)
    }
}
