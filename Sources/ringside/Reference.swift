import ArgumentParser
import Debugger

/// `ringside reference`: the command reference in Markdown, generated from
/// the command table (Sources/Debugger/CommandReference.swift).  `make docs`
/// writes it to docs/commands.md; a test fails when that file is stale.
struct Reference: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the command reference (Markdown) generated from the command table.")

    func run() throws {
        print(CommandReference.markdown(), terminator: "")
    }
}
