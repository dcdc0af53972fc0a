import ArgumentParser
import Monitors
import PC
import X86
#if canImport(Glibc)
import Glibc
#endif

/// `ringside run GUEST`: headless, serial output to stdout, the exit status
/// of DESIGN.md "How a run ends".
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run a guest without the TUI.")

    @Argument(help: "The guest file.")
    var guest: String

    @Option(help: "native, trap, bt, vtx or pv.")
    var technique: Technique = .native

    @Option(help: "Memory virtualization under vtx: ept (the default) or shadow (first-generation VT-x).")
    var paging: VTxPaging?

    @Option(help: "Guest RAM in MiB.")
    var memory: Int = 32

    @Option(help: "Stop after this many instructions (exit status 4).")
    var maxInstructions: UInt64?

    @Option(help: "Multiboot command line for the guest.")
    var append: String = ""

    @Flag(help: "Print instructions, virtual and wall time, MIPS and exceptions to stderr.")
    var stats = false

    @Option(help: "Feed this file to the guest's serial port.")
    var serialInput: String?

    @Flag(help: "The guest is a flat binary.")
    var flat = false

    @Option(help: "Load address of a flat binary.")
    var loadAddress: Address?

    @Option(help: "Entry point of a flat binary (default: the load address).")
    var entry: Address?

    @Option(help: "Write every monitor event to FILE as JSON Lines.")
    var trapLog: String?

    @Option(help: "Print the final state: json.")
    var dumpState: String?

    @Option(help: "With --dump-state: also dump START:LENGTH of memory (repeatable).")
    var dumpMemory: [MemoryRange] = []

    func validate() throws {
        guard (1...3072).contains(memory) else { throw ValidationError("--memory must be between 1 and 3072 MiB") }
        if let d = dumpState, d != "json" { throw ValidationError("--dump-state supports only json") }
        if (loadAddress != nil || entry != nil) && !flat { throw ValidationError("--load-address and --entry need --flat") }
        try checkPaging(paging, technique)
    }

    func run() throws {
        guard let vm = VirtualMachine(technique: technique, memoryMiB: memory, paging: paging ?? .ept) else {
            complain("ringside: technique '\(technique.rawValue)' is not available yet")
            throw ExitCode(64)
        }
        let machine = vm.machine
        var options = GuestOptions()
        options.flat = flat
        if let a = loadAddress { options.loadAddress = a.value }
        options.entry = entry?.value
        options.commandLine = append
        var input: [UInt8] = []
        do {
            let bytes = try GuestLoader.read(guest)
            _ = try vm.load(bytes, path: guest, options: options)
            if let path = serialInput { input = try GuestLoader.read(path) }
        } catch {
            complain("ringside: \(error)")
            throw ExitCode(error.exitStatus)
        }
        if flat {
            // The differential hook reports the first exception instead of delivering it.
            machine.cpu.exceptionIntercept = nil
            machine.cpu.stopOnException = true
        }
        var logFile: UnsafeMutablePointer<FILE>?
        if let path = trapLog {
            guard let file = fopen(path, "w") else {
                complain("ringside: \(path): cannot write the trap log")
                throw ExitCode(73)
            }
            logFile = file
            vm.log.observer = { event in fputs(event.jsonLine + "\n", file) }
        }
        defer { if let logFile { fclose(logFile) } }
        machine.onSerialOutput = { (byte: UInt8) in writeAll(1, [byte]) }
        signal(SIGINT) { _ in Machine.interruptRequested = true }
        let start = monotonicSeconds()
        let stop = Self.run(machine, feeding: input, maxInstructions: maxInstructions ?? .max)
        let wall = monotonicSeconds() - start
        if dumpState != nil {
            print(StateDump.json(machine, stop: stop, memory: dumpMemory.map { ($0.start, $0.length) }))
        } else {
            report(stop, machine, vm.monitor)
        }
        if stats { printStats(machine, wall: wall); printEvents(vm) }
        throw ExitCode(flat && dumpState != nil && stop == .halted ? 0 : stop.exitStatus)
    }

    /// Runs the machine, handing `input` to COM1 only as its receiver has room
    /// (as QEMU's character backends do), checked every 1000 instructions.
    static func run(_ m: Machine, feeding input: [UInt8], maxInstructions: UInt64) -> MachineStop {
        let end = maxInstructions == .max ? UInt64.max : m.cpu.instructions &+ maxInstructions
        var rest = input[...]
        while !rest.isEmpty {
            let n = min(m.uart?.receiveSpace ?? rest.count, rest.count)
            if n > 0 { m.serialInput(Array(rest.prefix(n))); rest = rest.dropFirst(n) }
            guard m.cpu.instructions < end else { return .instructionLimit }
            let stop = m.run(maxInstructions: min(end - m.cpu.instructions, 1000))
            // Waiting (HLT, IF = 1) for input still to come is no reason to stop.
            if stop == .instructionLimit || (stop == .idleForever && n > 0) { continue }
            return stop
        }
        return m.run(maxInstructions: end == .max ? .max : end - m.cpu.instructions)
    }

    private func report(_ stop: MachineStop, _ m: Machine, _ monitor: Monitor) {
        switch stop {
        case .tripleFault:
            let chain = m.cpu.exceptionCounts.enumerated().filter { $0.element > 0 }
                .map { "\(CPUException(UInt8($0.offset)).name) x\($0.element)" }.joined(separator: ", ")
            // The guest's EIP (under bt the CPU may be in the translation cache).
            let cs = m.cpu.segs[Seg.cs].base
            let eip = monitor.guestLinear(ofReal: cs &+ m.cpu.eip) &- cs
            complain("ringside: triple fault (the CPU shut down) at eip \(hex(eip))" + (chain.isEmpty ? "" : "; exceptions: \(chain)"))
        case .instructionLimit: complain("ringside: instruction limit reached")
        case .unsupported(let why): complain("ringside: stopped: \(why)")
        case .exception(let e): complain("ringside: unhandled exception \(e.name)")
        case .idleForever: complain("ringside: the guest halted with interrupts enabled and no device left to wake it")
        case .reset: complain("ringside: the guest reset the machine")
        case .interrupted: complain("ringside: interrupted")
        default: break
        }
    }

    private func printStats(_ m: Machine, wall: Double) {
        let n = m.cpu.instructions
        complain("instructions retired: \(n)")
        complain("virtual time:         \(Double(m.now) / 1e9) s")
        complain("wall time:            \(wall) s")
        complain("MIPS:                 \(wall > 0 ? Double(n) / wall / 1e6 : 0)")
        for (v, count) in m.cpu.exceptionCounts.enumerated() where count > 0 {
            complain("exceptions \(CPUException(UInt8(v)).name): \(count)")
        }
    }
}

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// The trap log's totals for `--stats`: events and modeled cycles by kind, and the busiest instructions.
func printEvents(_ vm: VirtualMachine) {
    let log = vm.log
    complain("technique:            \(vm.technique.rawValue)")
    for kind in EventKind.allCases where log.count(kind) > 0 {
        complain("events \(kind.rawValue): \(log.count(kind)) (\(log.cyclesByKind[kind] ?? 0) modeled cycles)")
    }
    for (mnemonic, n) in log.countsByInstruction.sorted(by: { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }).prefix(10) {
        complain("events at \(mnemonic): \(n)")
    }
}
