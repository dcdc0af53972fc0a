import ArgumentParser
import Debugger
import Monitors
import PC
import TUI
import X86
#if canImport(Glibc)
import Glibc
#endif

/// `ringside [GUEST]`: the TUI when standard input and output are a terminal
/// (without a guest: the built-in demo, minikernel, under `bt`).  Without a
/// terminal it runs the guest (or the built-in demo) headless, exactly like
/// `ringside run`, so `make run` in CI and scripts keep working.
/// `ringside GUEST --batch [-x FILE]...` runs command files instead (Batch.swift);
/// On a terminal, `-x FILE` runs the files in the TUI before handing over.
struct Open: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "open", abstract: "Open a guest (the built-in demo when none is given).")

    @Argument(help: "The guest: a multiboot or ELF32 kernel.")
    var guest: String?

    @Option(help: "native, trap, bt, vtx or pv (default native; a lesson's own).")
    var technique: Technique?

    @Option(help: "Memory virtualization under vtx: ept (the default) or shadow (first-generation VT-x).")
    var paging: VTxPaging?

    @Flag(help: "No TUI: run the command files, then standard input, and print the transcript.")
    var batch = false

    @Option(name: .customShort("x"), help: "A command file to run (repeatable).")
    var commandFiles: [String] = []

    @Option(help: "With --batch: at most this many instructions per command that runs the guest.")
    var maxInstructions: UInt64?

    @Option(help: "Serve gdb's remote protocol on 127.0.0.1:PORT instead (as `ringside gdb GUEST --port PORT`).")
    var gdb: UInt16?

    @Option(help: "Play a lesson (lessons/*.rsc) in the TUI; with --batch print it as a transcript (exit 1 if an expectation fails).")
    var lesson: String?

    func validate() throws {
        try checkPaging(paging, technique)
    }

    func run() throws {
        if let lesson { return try openLesson(lesson) }
        let technique = self.technique ?? .native
        let path = guest ?? BuiltinDemo.path()
        guard let path else {
            complain("ringside: the built-in demo guest is missing (expected demos/build/hello.elf); name a guest file")
            throw ExitCode(66)
        }
        if let port = gdb {
            try GDB.serve(guest: path, port: port, technique: technique, paging: paging)
            return
        }
        if !batch && isatty(0) != 0 && isatty(1) != 0 {
            // DESIGN.md opens the built-in demo under `bt` (so that the
            // translation is on screen); `trap` while `bt` is not available.
            let demo = guest == nil ? BuiltinDemo.tuiPath() : nil
            let demoTechnique: Technique = VirtualMachine(technique: .bt, memoryMiB: 1) != nil ? .bt : .trap
            var options = SessionOptions()
            options.technique = (demo != nil && self.technique == nil ? demoTechnique : technique).rawValue
            if let paging { options.paging = paging }
            for file in commandFiles where access(file, R_OK) != 0 {
                complain("ringside: \(file): No such file or directory")
                throw ExitCode(66)
            }
            let session: Session
            do { session = try Session(guestPath: demo ?? path, options: options) } catch {
                complain("ringside: \(error.description)")
                throw ExitCode(66)
            }
            let commands = commandFiles.map { "source " + $0 }   // `-x`: run before handing over
            let status = MainActor.assumeIsolated { TUIApp.run(session: session, commands: commands) }
            throw ExitCode(status)
        }
        if batch || !commandFiles.isEmpty {
            guard VirtualMachine(technique: technique, memoryMiB: 1) != nil else {
                complain("ringside: technique '\(technique.rawValue)' is not available yet")
                throw ExitCode(64)
            }
            var options = SessionOptions()
            options.technique = technique.rawValue
            options.maxInstructions = maxInstructions
            if let paging { options.paging = paging }
            throw ExitCode(Batch.run(guest: path, files: commandFiles, options: options))
        }
        // Parsed, not `Run()`: a Run built by hand has its other options
        // undecoded, and ArgumentParser traps on reading them.
        let r = try Run.parse([path, "--technique", technique.rawValue] + (paging.map { ["--paging", $0.rawValue] } ?? []))
        try r.run()
    }
}

/// Where the built-in demo lives: next to the executable's package checkout.
enum BuiltinDemo {
    static func path() -> String? {
        let candidates = ["demos/build/hello.elf"]
        return candidates.first { access($0, R_OK) == 0 }
    }

    /// The TUI's built-in demo: the minikernel (system calls, a timer), else hello.
    static func tuiPath() -> String? {
        ["demos/build/minikernel.elf", "demos/build/hello.elf"].first { access($0, R_OK) == 0 }
    }
}
