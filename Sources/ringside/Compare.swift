import ArgumentParser
import Monitors
import PC
import X86

/// `ringside compare GUEST`: the same guest under every technique that can
/// run it, in one table (issue "Monitors I": exit status, instructions, events
/// by kind, modeled cycles, and whether the serial output equals native's).
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

    struct Row {
        var technique: Technique
        var stop: MachineStop
        var instructions: UInt64
        var log: TrapLog
        var cycles: UInt64
        var output: [UInt8]
    }

    func run() throws {
        let bytes: [UInt8]
        do { bytes = try GuestLoader.read(guest) } catch {
            complain("ringside: \(error)")
            throw ExitCode(error.exitStatus)
        }
        var rows: [Row] = []
        for t in Technique.allCases {
            guard let vm = VirtualMachine(technique: t, memoryMiB: memory) else { continue }
            var options = GuestOptions()
            options.commandLine = append
            var out: [UInt8] = []
            vm.machine.onSerialOutput = { out.append($0) }
            do { try vm.load(bytes, path: guest, options: options) } catch {
                complain("ringside: \(error)")
                throw ExitCode(error.exitStatus)
            }
            let stop = vm.run(maxInstructions: maxInstructions)
            let n = vm.machine.cpu.instructions
            rows.append(Row(technique: t, stop: stop, instructions: n, log: vm.log,
                            cycles: n &* vm.cost.instruction &+ vm.log.totalCycles, output: out))
        }
        print(Self.table(rows))
    }

    static func table(_ rows: [Row]) -> String {
        let kinds: [(String, EventKind)] = [("exceptions", .exception), ("emulated", .emulated), ("silent", .silent),
                                           ("hidden-pf", .shadowFault), ("pt-writes", .ptWrite),
                                           ("injections", .injection), ("hypercalls", .hypercall)]
        var header = ["technique", "status", "instructions"] + kinds.map(\.0) + ["modeled cycles", "serial output"]
        var lines: [[String]] = []
        let reference = rows.first { $0.technique == .native }?.output
        for r in rows {
            var cells = [r.technique.rawValue, "\(r.stop.exitStatus) (\(describe(r.stop)))", "\(r.instructions)"]
            cells += kinds.map { "\(r.log.count($0.1))" }
            cells.append("\(r.cycles)")
            if r.technique == .native { cells.append("reference (\(r.output.count) bytes)") }
            else if r.output == reference { cells.append("same as native") }
            else { cells.append("differs" + firstDifference(reference ?? [], r.output)) }
            lines.append(cells)
        }
        header = header.map { $0 }
        let widths = header.indices.map { i in max(header[i].count, lines.map { $0[i].count }.max() ?? 0) }
        func render(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in i == cells.count - 1 ? c : c.padded(widths[i]) }.joined(separator: "  ")
        }
        return ([render(header)] + lines.map(render)).joined(separator: "\n")
    }

    static func describe(_ s: MachineStop) -> String {
        switch s {
        case .debugExit: return "debug-exit"
        case .halted, .idleForever: return "halted"
        case .tripleFault: return "triple fault"
        case .instructionLimit: return "limit"
        case .unsupported: return "unsupported"
        case .exception(let e): return e.name
        case .reset: return "reset"
        case .breakpoint: return "breakpoint"
        case .interrupted: return "interrupted"
        }
    }

    /// " from line N" for the first line where two outputs part.
    static func firstDifference(_ a: [UInt8], _ b: [UInt8]) -> String {
        var line = 1
        for (x, y) in zip(a, b) {
            if x != y { return " from line \(line)" }
            if x == 10 { line += 1 }
        }
        return " from line \(line)"
    }
}

extension String {
    func padded(_ n: Int) -> String { self + String(repeating: " ", count: max(0, n - count)) }
}
