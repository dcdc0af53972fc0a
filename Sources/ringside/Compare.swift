import ArgumentParser
import Monitors
import PC
import X86

/// `ringside compare GUEST`: the same guest under every technique that can
/// run it, in one table (Monitors/Comparison.swift, shared with the
/// debugger's `compare`).
struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run a guest under every technique and tabulate.")

    @Argument(help: "The guest file.")
    var guest: String

    @Option(help: "Guest RAM in MiB.")
    var memory: Int = 32

    @Option(help: "Instruction limit per technique.")
    var maxInstructions: UInt64 = 200_000_000

    @Option(help: "Multiboot command line for the guest.")
    var append: String = ""

    func run() throws {
        var options = GuestOptions()
        options.commandLine = append
        do {
            let bytes = try GuestLoader.read(guest)
            let rows = try Comparison.run(bytes, path: guest, options: options, memoryMiB: memory,
                                          maxInstructions: maxInstructions)
            print(Comparison.table(rows))
        } catch {
            complain("ringside: \(error)")
            throw ExitCode(error.exitStatus)
        }
    }
}
