import PC

// The nanobenchmark table of Adams & Agesen (ASPLOS 2006, §6.1 and its
// figure; reference/virtualization.md §3.4): the cost of one guest
// operation — a system call, a port read, a CR write, a call/return, a
// page fault, a divide error, a PTE write — under each technique.
//
// How a cell is measured, from execution alone:
//   - each operation's guest (demos/nanobench) runs twice per
//     configuration, with n₁ and n₂ iterations (`iterations=N` on its
//     multiboot command line); the empty-loop guest does the same;
//   - per operation = [C(op, n₂) − C(op, n₁) − C(none, n₂) + C(none, n₁)] / (n₂ − n₁),
//     where C is a run's Tally (its modeled cycles, part by part).  Work
//     done once per run (boot, page-table set-up, the report, first-touch
//     shadow faults) cancels between the two counts; the loop's own DEC and
//     JNZ cancel against the empty loop;
//   - the cycles of each part come from the run's CostModel, so the table
//     shows the published *shape* only as far as the modeled counts and
//     the documented costs produce it: nothing is looked up per operation.
// A run that does not end as natively (status or serial output) gives no
// number: the cell says why.  A technique the factory cannot build yet is
// "—" and fills in by itself once VirtualMachine builds it.

public enum Nanobench {
    /// One operation's guest file.
    public struct Guest: Sendable {
        public var name: String
        public var bytes: [UInt8]
        public var path: String
        public init(name: String, bytes: [UInt8], path: String) { self.name = name; self.bytes = bytes; self.path = path }

        /// "demos/build/nano-ptemod.elf" → "ptemod".
        public static func operationName(path: String) -> String {
            var base = String(path.split(separator: "/").last ?? Substring(path))
            if let dot = base.lastIndex(of: ".") { base = String(base[..<dot]) }
            return base.hasPrefix("nano-") ? String(base.dropFirst(5)) : base
        }
    }

    public enum Cell: Sendable, Equatable {
        /// Modeled cycles per operation and what they are made of.
        case measured(Tally)
        /// The technique is not available yet.
        case unavailable
        /// The guest did not behave as natively: why.
        case failed(String)

        public var cycles: Double? { if case .measured(let t) = self { return t.cycles } else { return nil } }
    }

    public struct Table: Sendable {
        public var operations: [String]
        public var configurations: [Configuration]
        /// cells[operation][configuration]
        public var cells: [[Cell]]
        public var counts: (Int, Int)
        public var cost: CostModel

        public func cell(_ operation: String, _ configuration: Configuration) -> Cell? {
            guard let o = operations.firstIndex(of: operation), let c = configurations.firstIndex(of: configuration) else { return nil }
            return cells[o][c]
        }
        /// Modeled cycles per operation, nil unless measured.
        public func cycles(_ operation: String, _ configuration: Configuration) -> Double? {
            cell(operation, configuration)?.cycles
        }
    }

    /// What one run left: its tally and how it ended.
    struct Sample {
        var tally: Tally
        var status: Int32
        var output: [UInt8]
    }

    /// Measures every operation under every configuration.
    public static func measure(_ operations: [Guest], baseline: Guest,
                               configurations: [Configuration] = Configuration.fullVirtualization,
                               counts: (Int, Int) = (1000, 2000), cost: CostModel = CostModel(),
                               commandLine: String = "", memoryMiB: Int = 32,
                               maxInstructions: UInt64 = 500_000_000) throws(LoadError) -> Table {
        precondition(counts.1 > counts.0 && counts.0 > 0, "two increasing iteration counts")
        func run(_ g: Guest, _ c: Configuration, _ n: Int) throws(LoadError) -> Sample? {
            var options = GuestOptions()
            options.commandLine = (commandLine.isEmpty ? "" : commandLine + " ") + "iterations=\(n)"
            guard let row = try Comparison.run(g.bytes, path: g.path, options: options, configuration: c,
                                               memoryMiB: memoryMiB, maxInstructions: maxInstructions, cost: cost) else { return nil }
            return Sample(tally: row.tally, status: row.stop.exitStatus, output: row.output)
        }
        // The reference of every run: the same guest and count on the bare machine.
        var reference: [String: Sample] = [:]
        for g in operations + [baseline] {
            for n in [counts.0, counts.1] { reference["\(g.name) \(n)"] = try run(g, Configuration(.native), n) }
        }
        func check(_ s: Sample, _ g: Guest, _ n: Int) -> String? {
            guard let ref = reference["\(g.name) \(n)"] else { return "no native reference" }
            if s.status != ref.status { return "exit status \(s.status), natively \(ref.status)" }
            if s.output != ref.output { return "serial output differs" + Comparison.firstDifference(ref.output, s.output) }
            return nil
        }
        let span = Double(counts.1 - counts.0)
        var cells = [[Cell]](repeating: [], count: operations.count)
        for c in configurations {
            // The empty loop first: without it nothing in this column can be measured.
            var base: Tally?, baseProblem: String? = nil, available = true
            let b = (try run(baseline, c, counts.0), try run(baseline, c, counts.1))
            if let b0 = b.0, let b1 = b.1 {
                baseProblem = check(b0, baseline, counts.0) ?? check(b1, baseline, counts.1)
                base = b1.tally.difference(b0.tally, per: span)
            } else {
                available = false
            }
            for (k, g) in operations.enumerated() {
                guard available, let base else { cells[k].append(.unavailable); continue }
                if let baseProblem { cells[k].append(.failed("the empty loop: " + baseProblem)); continue }
                guard let s0 = try run(g, c, counts.0), let s1 = try run(g, c, counts.1) else { cells[k].append(.unavailable); continue }
                if let problem = check(s0, g, counts.0) ?? check(s1, g, counts.1) { cells[k].append(.failed(problem)); continue }
                let perOp = s1.tally.difference(s0.tally, per: span).difference(base, per: 1)
                cells[k].append(.measured(perOp))
            }
        }
        return Table(operations: operations.map(\.name), configurations: configurations, cells: cells, counts: counts, cost: cost)
    }
}
