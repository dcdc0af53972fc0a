import ArgumentParser
import Debugger
import GDBRemote
import Monitors
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

    @Option(help: "Memory virtualization under vtx: ept (the default) or shadow (first-generation VT-x).")
    var paging: VTxPaging?

    @Option(help: "Guest RAM in MiB.")
    var memory: Int = 32

    @Option(help: "Multiboot command line for the guest.")
    var append: String = ""

    func validate() throws {
        guard (1...3072).contains(memory) else { throw ValidationError("--memory must be between 1 and 3072 MiB") }
        try checkPaging(paging, technique)
    }

    func run() throws {
        try Self.serve(guest: guest, port: port, technique: technique, paging: paging, memoryMiB: memory, append: append)
    }

    /// The whole stub: what `ringside gdb` and `ringside GUEST --gdb PORT` run.
    /// The guest lives in a debugger Session (so that `monitor CMD` runs any
    /// Ringside command), under `technique`; the stub's MachineTarget runs
    /// its machine and owns the breakpoints gdb sets.
    static func serve(guest: String, port: UInt16, technique: Technique, paging: VTxPaging? = nil, memoryMiB: Int = 32,
                      append: String = "") throws {
        var options = SessionOptions()
        options.technique = technique.rawValue
        if let paging { options.paging = paging }
        options.memoryMiB = memoryMiB
        options.guest.commandLine = append
        let session: Session
        do {
            session = try Session(guestPath: guest, options: options)
        } catch {
            complain("ringside: \(error)")
            throw ExitCode(error.reason.contains("not available yet") ? 64 : error.exitStatus)
        }
        let machine = session.machine
        let loaded = session.guest
        let toStdout = { (byte: UInt8) in writeAll(1, [byte]) }
        machine.onSerialOutput = toStdout
        let target = MachineTarget(machine: machine)
        if technique != .native {
            let monitor = session.monitor
            target.translate = { lin in monitor.guestPhysical(linear: lin).flatMap { monitor.hostPhysical($0) } }
        }
        if let bt = session.monitor as? BTMonitor {
            // Kernel code runs from the translation cache: gdb sees guest addresses and the guest's CS.
            target.addressMap = MachineTarget.AddressMap(
                guestLinear: { bt.guestLinear(ofReal: $0) }, realBreakpoints: { bt.realBreakpoints($0) },
                isBoundary: { bt.isGuestBoundary(real: $0) },
                guestCS: { [unowned machine] in
                    let cs = machine.cpu.segs[Seg.cs].selector
                    return cs & ~3 == MonitorLayout.tcSelector ? bt.vcpuCodeSelector : cs
                })
        }
        target.monitorHandler = { command in
            Self.monitorCommand(command, session: session, target: target, serial: toStdout)
        }
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

    /// `monitor CMD`: any Ringside command, run by the session.  The stub
    /// keeps its own built-ins for `info stop` and `help`; `technique` and
    /// `quit` would pull the machine from under the stub and are refused.
    /// The session's runs keep gdb's breakpoints and watchpoints in the CPU's
    /// set and list, and afterwards they are gdb's alone again.
    static func monitorCommand(_ command: String, session: Session, target: MachineTarget,
                               serial: @escaping (UInt8) -> Void) -> String? {
        let words = command.split(whereSeparator: { $0 == " " || $0 == "\t" })
        if words.isEmpty || words == ["info", "stop"] { return nil }
        switch try? CommandParser.parse(command) {
        case .technique(let name?)?:
            return "technique '\(name)': restart ringside with --technique \(name) to change it under the gdb stub\n"
        case .quit?:
            return "quit: detach or kill from gdb instead\n"
        default: break
        }
        session.externalBreakpoints = target.ownedBreakpoints
        session.externalWatchpoints = target.ownedWatchpoints
        let r = session.execute(command)
        let cpu = session.machine.cpu
        if cpu.breakpoints != target.ownedBreakpoints { cpu.breakpoints = target.ownedBreakpoints }
        if cpu.watchpoints != target.ownedWatchpoints { cpu.watchpoints = target.ownedWatchpoints }
        session.machine.onSerialOutput = serial
        var text = r.text
        if let e = r.error { text += e.message + "\n" }
        return text
    }
}
