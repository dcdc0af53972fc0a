import PC
import X86

// One guest under every technique that can run it, in one table: what
// `ringside compare GUEST` prints and the debugger's `compare` shows
// (issue "Monitors I": exit status, instructions, events by kind, modeled
// cycles, and whether the serial output equals native's).

public enum Comparison {
    public struct Row {
        public var configuration: Configuration
        public var technique: Technique { configuration.technique }
        public var stop: MachineStop
        public var instructions: UInt64
        public var log: TrapLog
        public var cycles: UInt64
        public var output: [UInt8]
        /// What the modeled cycles are made of (Tally.swift).
        public var tally: Tally
    }

    /// Runs `bytes` (loaded as the file `path`) under each available
    /// configuration (vtx once with shadow paging, once with EPT).
    public static func run(_ bytes: [UInt8], path: String, options: GuestOptions, memoryMiB: Int,
                           maxInstructions: UInt64, cost: CostModel = CostModel()) throws(LoadError) -> [Row] {
        var rows: [Row] = []
        for c in Configuration.all {
            guard let row = try run(bytes, path: path, options: options, configuration: c, memoryMiB: memoryMiB,
                                    maxInstructions: maxInstructions, cost: cost) else { continue }
            rows.append(row)
        }
        return rows
    }

    /// One run under one configuration; nil when its technique is not available yet.
    public static func run(_ bytes: [UInt8], path: String, options: GuestOptions, configuration: Configuration,
                           memoryMiB: Int, maxInstructions: UInt64, cost: CostModel = CostModel()) throws(LoadError) -> Row? {
        guard let vm = configuration.makeVM(memoryMiB: memoryMiB) else { return nil }
        vm.cost = cost
        var out: [UInt8] = []
        vm.machine.onSerialOutput = { out.append($0) }
        try vm.load(bytes, path: path, options: options)
        let stop = vm.run(maxInstructions: maxInstructions)
        return Row(configuration: configuration, stop: stop, instructions: vm.machine.cpu.instructions, log: vm.log,
                   cycles: vm.modeledCycles, output: out, tally: Tally(vm))
    }

    /// The table, lines joined by "\n" (no final newline).
    public static func table(_ rows: [Row]) -> String {
        let kinds: [(String, EventKind)] = [("exceptions", .exception), ("emulated", .emulated), ("silent", .silent),
                                           ("hidden-pf", .shadowFault), ("pt-writes", .ptWrite),
                                           ("injections", .injection), ("hypercalls", .hypercall)]
        let header = ["technique", "status", "instructions"] + kinds.map(\.0) + ["modeled cycles", "serial output"]
        var lines: [[String]] = []
        let reference = rows.first { $0.technique == .native }?.output
        for r in rows {
            var cells = [r.configuration.name, "\(r.stop.exitStatus) (\(describe(r.stop)))", "\(r.instructions)"]
            cells += kinds.map { "\(r.log.count($0.1))" }
            cells.append("\(r.cycles)")
            if r.technique == .native { cells.append("reference (\(r.output.count) bytes)") }
            else if r.output == reference { cells.append("same as native") }
            else { cells.append("differs" + firstDifference(reference ?? [], r.output)) }
            lines.append(cells)
        }
        let widths = header.indices.map { i in max(header[i].count, lines.map { $0[i].count }.max() ?? 0) }
        func render(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in
                i == cells.count - 1 ? c : c + String(repeating: " ", count: max(0, widths[i] - c.count))
            }.joined(separator: "  ")
        }
        return ([render(header)] + lines.map(render)).joined(separator: "\n")
    }

    public static func describe(_ s: MachineStop) -> String {
        switch s {
        case .debugExit: return "debug-exit"
        case .halted, .idleForever: return "halted"
        case .tripleFault: return "triple fault"
        case .instructionLimit: return "limit"
        case .unsupported: return "unsupported"
        case .exception(let e): return e.name
        case .reset: return "reset"
        case .breakpoint: return "breakpoint"
        case .watchpoint: return "watchpoint"
        case .interrupted: return "interrupted"
        }
    }

    /// " from line N" for the first line where two outputs part.
    public static func firstDifference(_ a: [UInt8], _ b: [UInt8]) -> String {
        var line = 1
        for (x, y) in zip(a, b) {
            if x != y { return " from line \(line)" }
            if x == 10 { line += 1 }
        }
        return " from line \(line)"
    }
}
