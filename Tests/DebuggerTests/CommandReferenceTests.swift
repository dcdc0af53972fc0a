// docs/commands.md is generated from the command table (CommandReference):
// this test fails when the committed page is not what the table produces,
// so the reference cannot drift.  Regenerate on purpose with `make docs`
// (or RINGSIDE_RECORD=1 swift test --filter CommandReference).

import Foundation
import Testing
@testable import Debugger

@Suite("Command reference")
struct CommandReferenceTests {
    static let page = GoldenFiles.repositoryRoot.appendingPathComponent("docs/commands.md")

    @Test("docs/commands.md is what the command table generates")
    func current() throws {
        let generated = CommandReference.markdown()
        if GoldenFiles.recording {
            try generated.write(to: Self.page, atomically: true, encoding: .utf8)
            return
        }
        let committed = try String(contentsOf: Self.page, encoding: .utf8)
        #expect(committed == generated,
                "docs/commands.md is stale (run `make docs`): \(GoldenFiles.firstDifference(committed, generated))")
    }

    @Test("every command, alias and info topic appears, each command once as a heading")
    func complete() {
        let page = CommandReference.markdown()
        for c in CommandParser.commands {
            #expect(page.components(separatedBy: "### `\(c)`\n").count == 2, "\(c)")
        }
        for a in CommandParser.aliases.keys { #expect(page.contains("| `\(a)` |"), "\(a)") }
        for (topic, _) in Session.infoHelp { #expect(page.contains("`info \(topic)`"), "\(topic)") }
        #expect(page.contains("`$_guest_cpl, $_guest_if, $_guest_iopl`"))
    }
}
