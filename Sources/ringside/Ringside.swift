// The `ringside` command line (DESIGN.md "Command line"), parsed with
// swift-argument-parser.  This file only wires options to the modules.

import ArgumentParser
import Monitors
import PC
import X86
#if canImport(Glibc)
import Glibc
#endif

@main
struct Ringside: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ringside",
        abstract: "A terminal debugger and monitor for x86 guests under software full virtualization.",
        subcommands: [Open.self, Run.self, GDB.self, Compare.self, Reference.self],
        defaultSubcommand: Open.self)
}

/// Techniques (DESIGN.md "The five techniques"), from the Monitors module.
typealias Technique = Monitors.Technique
extension Monitors.Technique: ExpressibleByArgument {}
/// `--paging shadow|ept` (run, open, gdb, compare): memory virtualization under vtx.
extension VTxPaging: ExpressibleByArgument {}

/// `--paging` means something only under vtx.
func checkPaging(_ paging: VTxPaging?, _ technique: Technique?) throws {
    if paging != nil, let technique, technique != .vtx {
        throw ValidationError("--paging applies to --technique vtx only")
    }
}

/// Parses 0x-prefixed hex or decimal numbers.
struct Address: ExpressibleByArgument {
    var value: UInt32
    init?(argument: String) {
        let s = argument.lowercased()
        if s.hasPrefix("0x"), let v = UInt32(s.dropFirst(2), radix: 16) { value = v }
        else if let v = UInt32(s) { value = v }
        else { return nil }
    }
}

/// START:LENGTH for --dump-memory.
struct MemoryRange: ExpressibleByArgument {
    var start: UInt32
    var length: UInt32
    init?(argument: String) {
        let parts = argument.split(separator: ":")
        guard parts.count == 2, let a = Address(argument: String(parts[0])), let n = Address(argument: String(parts[1])) else { return nil }
        start = a.value; length = n.value
    }
}

/// Writes a line to standard error (file descriptor 2: no shared C stream state).
func complain(_ s: String) {
    writeAll(2, Array((s + "\n").utf8))
}

/// Writes every byte to a file descriptor, retrying short writes.
func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
    var offset = 0
    while offset < bytes.count {
        let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if n <= 0 { return }
        offset += n
    }
}
