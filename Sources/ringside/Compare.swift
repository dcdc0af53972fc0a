import ArgumentParser
import Monitors
import PC
import X86
#if canImport(Glibc)
import Glibc
#endif

/// `ringside compare GUEST`: the same guest under every technique that can
/// run it, in one table (Monitors/Comparison.swift, shared with the
/// debugger's `compare`).  With `--baseline EMPTY`, the guests are
/// nanobenchmarks and the table is cycles per operation
/// (Monitors/Nanobench.swift; `make nanobench`).  `--chart FILE.svg`
/// draws either table as a bar chart (Monitors/Chart.swift).
struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a guest under every technique and tabulate.",
        discussion: """
            With --baseline, each GUEST is a nanobenchmark that repeats one operation N times, \
            N given on its command line as iterations=N (demos/nanobench); the table shows \
            modeled cycles per operation.  Cost settings: \(CostModel.names.keys.sorted().joined(separator: ", ")).
            """)

    @Argument(help: "The guest file (nanobenchmark guests with --baseline).")
    var guests: [String]

    @Option(help: "Guest RAM in MiB.")
    var memory: Int = 32

    @Option(help: "Instruction limit per run.")
    var maxInstructions: UInt64 = 200_000_000

    @Option(help: "Multiboot command line for the guest.")
    var append: String = ""

    @Option(help: "Only this memory virtualization under vtx (shadow or ept); both by default.")
    var paging: VTxPaging?

    @Option(help: "The empty-loop nanobenchmark guest: makes the table cycles per operation.")
    var baseline: String?

    @Option(help: "Two iteration counts for the nanobenchmark runs, as A,B.")
    var iterations: String = "1000,2000"

    @Option(name: .customLong("cost"), help: "Change a cost-model setting, as NAME=CYCLES (repeatable).")
    var costs: [String] = []

    @Option(help: "Also write the table as a bar chart to this SVG file.")
    var chart: String?

    func validate() throws {
        if baseline == nil && guests.count != 1 { throw ValidationError("compare takes one guest (several with --baseline)") }
        _ = try counts()
        _ = try costModel()
    }

    func counts() throws -> (Int, Int) {
        let parts = iterations.split(separator: ",").compactMap { Int($0) }
        guard parts.count == 2, parts[0] > 0, parts[1] > parts[0] else {
            throw ValidationError("--iterations wants two increasing counts, as 1000,2000")
        }
        return (parts[0], parts[1])
    }

    func costModel() throws -> CostModel {
        var model = CostModel()
        for setting in costs {
            let kv = setting.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2, let path = CostModel.names[kv[0]], let v = UInt64(kv[1]) else {
                throw ValidationError("--cost wants NAME=CYCLES; names: \(CostModel.names.keys.sorted().joined(separator: ", "))")
            }
            model[keyPath: path] = v
        }
        return model
    }

    var configurations: [Configuration] {
        Configuration.all.filter { paging == nil || $0.paging == nil || $0.paging == paging }
    }

    func run() throws {
        do {
            if let baseline { try nanobench(baseline) } else { try single(guests[0]) }
        } catch let error as LoadError {
            complain("ringside: \(error)")
            throw ExitCode(error.exitStatus)
        }
    }

    func single(_ guest: String) throws {
        var options = GuestOptions()
        options.commandLine = append
        let bytes = try GuestLoader.read(guest)
        let cost = try costModel()
        var rows: [Comparison.Row] = []
        for c in configurations {
            if let row = try Comparison.run(bytes, path: guest, options: options, configuration: c, memoryMiB: memory,
                                            maxInstructions: maxInstructions, cost: cost) { rows.append(row) }
        }
        print(Comparison.table(rows))
        if let chart { try write(Comparison.chart(rows, guest: Nanobench.Guest.operationName(path: guest)).svg(), to: chart) }
    }

    func nanobench(_ baseline: String) throws {
        func guest(_ path: String) throws -> Nanobench.Guest {
            Nanobench.Guest(name: Nanobench.Guest.operationName(path: path), bytes: try GuestLoader.read(path), path: path)
        }
        let table = try Nanobench.measure(try guests.map(guest), baseline: try guest(baseline),
                                          configurations: configurations.filter { $0.technique != .pv },
                                          counts: try counts(), cost: try costModel(), commandLine: append,
                                          memoryMiB: memory, maxInstructions: maxInstructions)
        print(Nanobench.report(table))
        if let chart { try write(Nanobench.chart(table).svg(), to: chart) }
    }

    func write(_ text: String, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else {
            complain("ringside: cannot write \(path)")
            throw ExitCode(73)
        }
        writeAll(fd, Array(text.utf8))
        close(fd)
    }
}
