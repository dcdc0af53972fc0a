import ArgumentParser
import GDBRemote
import PC
import X86
#if canImport(Glibc)
import Glibc
#endif

/// `ringside gdb GUEST --port PORT`: load the guest, stop at its entry point
/// and serve gdb's remote protocol on 127.0.0.1:PORT (`target remote
/// 127.0.0.1:PORT` in gdb).  The guest's serial output goes to stdout.  The
/// process ends when gdb sends `kill` (status 0), or when the guest has
/// ended (debug-exit, halt: the run's status) and gdb has disconnected.
/// `ringside GUEST --gdb PORT` is the same thing.
struct GDB: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gdb", abstract: "Serve gdb's remote protocol on 127.0.0.1:PORT, stopped at the guest's entry point.")

    @Argument(help: "The guest: a multiboot or ELF32 kernel.")
    var guest: String

    @Option(help: "TCP port on 127.0.0.1 (0: any free port, printed on stderr).")
    var port: UInt16

    @Option(help: "native, trap, bt, vtx or pv.")
    var technique: Technique = .native

    @Option(help: "Guest RAM in MiB.")
    var memory: Int = 32

    @Option(help: "Multiboot command line for the guest.")
    var append: String = ""

    func validate() throws {
        guard (1...3072).contains(memory) else { throw ValidationError("--memory must be between 1 and 3072 MiB") }
    }

    func run() throws {
        try Self.serve(guest: guest, port: port, technique: technique, memoryMiB: memory, append: append)
    }

    /// The whole stub: what `ringside gdb` and `ringside GUEST --gdb PORT` run.
    static func serve(guest: String, port: UInt16, technique: Technique, memoryMiB: Int = 32, append: String = "") throws {
        guard technique == .native else {
            complain("ringside: technique '\(technique.rawValue)' is not available yet; only native runs today")
            throw ExitCode(64)
        }
        let machine = Machine.standardPC(memoryMiB: memoryMiB)
        var options = GuestOptions()
        options.commandLine = append
        let loaded: LoadedGuest
        do {
            let bytes = try GuestLoader.read(guest)
            loaded = try GuestLoader.load(bytes, path: guest, into: machine, options: options)
        } catch {
            complain("ringside: \(error)")
            throw ExitCode(error.exitStatus)
        }
        machine.onSerialOutput = { (byte: UInt8) in writeAll(1, [byte]) }
        let target = MachineTarget(machine: machine)
        let server = GDBServer(target: target, port: port)
        server.log = { complain("ringside: \($0)") }
        do {
            try server.listen()
        } catch {
            complain("ringside: \(error)")
            throw ExitCode(1)
        }
        // The port line is what scripts wait for (with --port 0 it is the only way to learn the port).
        complain("ringside: gdb stub listening on 127.0.0.1:\(server.port), stopped at entry \(hex(loaded.entry))")
        let end: GDBServeEnd
        do { end = try server.serve() } catch {
            complain("ringside: \(error)")
            throw ExitCode(1)
        }
        switch end {
        case .killed:
            complain("ringside: killed by gdb")
            throw ExitCode(0)
        case .targetEnded:
            throw ExitCode(target.lastMachineStop?.exitStatus ?? 0)
        case .stopped:
            throw ExitCode(0)
        }
    }
}
