import ArgumentParser
import Debugger
import Monitors
import PC
import X86
#if canImport(Glibc)
import Glibc
#endif

/// `ringside [GUEST]`: the TUI.  Until the TUI lands it runs the guest (or
/// the built-in demo) headless, exactly like `ringside run`.
/// `ringside GUEST --batch [-x FILE]...` runs command files instead (Batch.swift);
/// `-x` alone implies `--batch` until the TUI can run them.
struct Open: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "open", abstract: "Open a guest (the built-in demo when none is given).")

    @Argument(help: "The guest: a multiboot or ELF32 kernel.")
    var guest: String?

    @Option(help: "native, trap, bt, vtx or pv.")
    var technique: Technique = .native

    @Flag(help: "No TUI: run the command files, then standard input, and print the transcript.")
    var batch = false

    @Option(name: .customShort("x"), help: "A command file to run (repeatable).")
    var commandFiles: [String] = []

    @Option(help: "With --batch: at most this many instructions per command that runs the guest.")
    var maxInstructions: UInt64?

    @Option(help: "Serve gdb's remote protocol on 127.0.0.1:PORT instead (as `ringside gdb GUEST --port PORT`).")
    var gdb: UInt16?

    func run() throws {
        let path = guest ?? BuiltinDemo.path()
        guard let path else {
            complain("ringside: the built-in demo guest is missing (expected demos/build/hello.elf); name a guest file")
            throw ExitCode(66)
        }
        if let port = gdb {
            try GDB.serve(guest: path, port: port, technique: technique)
            return
        }
        if batch || !commandFiles.isEmpty {
            guard VirtualMachine(technique: technique, memoryMiB: 1) != nil else {
                complain("ringside: technique '\(technique.rawValue)' is not available yet")
                throw ExitCode(64)
            }
            var options = SessionOptions()
            options.technique = technique.rawValue
            options.maxInstructions = maxInstructions
            throw ExitCode(Batch.run(guest: path, files: commandFiles, options: options))
        }
        var r = Run()
        r.guest = path
        r.technique = technique
        try r.run()
    }
}

/// Where the built-in demo lives: next to the executable's package checkout.
enum BuiltinDemo {
    static func path() -> String? {
        let candidates = ["demos/build/hello.elf"]
        return candidates.first { access($0, R_OK) == 0 }
    }
}
