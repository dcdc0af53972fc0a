import ArgumentParser
import PC
import X86
#if canImport(Glibc)
import Glibc
#endif

/// `ringside [GUEST]`: the TUI.  Until the TUI lands it runs the guest (or
/// the built-in demo) headless, exactly like `ringside run`.
struct Open: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "open", abstract: "Open a guest (the built-in demo when none is given).")

    @Argument(help: "The guest: a multiboot or ELF32 kernel.")
    var guest: String?

    @Option(help: "native, trap, bt, vtx or pv.")
    var technique: Technique = .native

    func run() throws {
        let path = guest ?? BuiltinDemo.path()
        guard let path else {
            complain("ringside: the built-in demo guest is missing (expected demos/build/hello.elf); name a guest file")
            throw ExitCode(66)
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
