import Testing
@testable import Monitors
import PC

/// The nanobenchmark table (issue 7): each cell is measured by running the
/// guests of demos/nanobench, and the *ordering* Adams & Agesen published
/// (ASPLOS 2006; reference/virtualization.md §3.4) must come out of the
/// counts and the documented costs — nothing here states a cycle figure.
@Suite(.serialized) struct NanobenchTests {
    static let operations = ["syscall", "in", "cr", "callret", "pgfault", "divzero", "ptemod"]

    static func guest(_ name: String) throws -> Nanobench.Guest {
        let path = DemoRun.root + "/demos/build/nano-\(name).elf"
        return Nanobench.Guest(name: name, bytes: try GuestLoader.read(path), path: path)
    }

    /// One table for the whole suite: small counts (the per-operation figure
    /// does not depend on them: what is done once per run cancels).
    static let table: Result<Nanobench.Table, LoadError> = {
        do {
            return .success(try Nanobench.measure(try operations.map(guest), baseline: try guest("none"),
                                                  configurations: Configuration.fullVirtualization, counts: (40, 80)))
        } catch let e as LoadError { return .failure(e) } catch { return .failure(LoadError(.malformed, "", "\(error)")) }
    }()

    static let native = Configuration(.native), trap = Configuration(.trap), bt = Configuration(.bt)
    static let shadow = Configuration(.vtx, paging: .shadow), ept = Configuration(.vtx, paging: .ept)

    /// Cycles per operation; records an issue when the cell was not measured.
    func cycles(_ t: Nanobench.Table, _ op: String, _ c: Configuration) -> Double {
        guard let cell = t.cell(op, c) else { Issue.record("no cell \(op) \(c)"); return .nan }
        guard case .measured(let tally) = cell else { Issue.record("\(op) under \(c): \(cell)"); return .nan }
        return tally.cycles
    }

    func tally(_ t: Nanobench.Table, _ op: String, _ c: Configuration) -> Tally {
        if case .measured(let tally)? = t.cell(op, c) { return tally }
        return Tally(parts: [])
    }

    /// Every technique that is available runs every nanobenchmark as natively.
    @Test func everyAvailableCellIsMeasured() throws {
        let t = try Self.table.get()
        #expect(t.configurations.map(\.name) == Configuration.fullVirtualization.map(\.name))
        for op in Self.operations {
            for c in [Self.native, Self.trap, Self.shadow, Self.ept] {
                #expect(t.cell(op, c)?.cycles != nil, "\(op) under \(c): \(String(describing: t.cell(op, c)))")
            }
            if let cell = t.cell(op, Self.bt), cell != .unavailable {
                #expect(cell.cycles != nil, "\(op) under bt: \(cell)")
            }
        }
    }

    /// EPT removes the page-table costs: a true page fault and a PTE write
    /// cost what they cost natively, while first-generation VT-x pays exits.
    @Test func eptRemovesThePageTableCosts() throws {
        let t = try Self.table.get()
        #expect(cycles(t, "pgfault", Self.shadow) > 5 * cycles(t, "pgfault", Self.ept))
        #expect(cycles(t, "ptemod", Self.shadow) > 100 * cycles(t, "ptemod", Self.ept))
        #expect(cycles(t, "pgfault", Self.ept) <= 1.1 * cycles(t, "pgfault", Self.native))
        #expect(cycles(t, "ptemod", Self.ept) <= 1.1 * cycles(t, "ptemod", Self.native) + 1)
        // Why: the shadow cells hold the exits, the EPT cells none.
        let shadowPTE = tally(t, "ptemod", Self.shadow), eptPTE = tally(t, "ptemod", Self.ept)
        #expect(shadowPTE.count("exit INVLPG") == 1 && shadowPTE.count("exit EXCEPTION_NMI") == 1)
        #expect(shadowPTE.count("pt-write") == 1)
        #expect(!eptPTE.parts.contains { $0.label.hasPrefix("exit") })
        #expect(tally(t, "pgfault", Self.shadow).count("exit EXCEPTION_NMI") == 1)
        #expect(tally(t, "pgfault", Self.ept).count("exception") == 1)
    }

    /// VT-x runs what does not exit at native speed: system calls, calls
    /// and returns, divide errors (#DE is not in the exception bitmap).
    @Test func vtxIsAheadWhereNothingExits() throws {
        let t = try Self.table.get()
        for op in ["syscall", "callret", "divzero"] {
            for c in [Self.shadow, Self.ept] {
                #expect(cycles(t, op, c) <= 1.1 * cycles(t, op, Self.native) + 1, "\(op) under \(c)")
            }
            #expect(cycles(t, op, Self.shadow) <= cycles(t, op, Self.trap), "\(op): vtx behind trap")
        }
        #expect(cycles(t, "divzero", Self.shadow) < cycles(t, "divzero", Self.trap))
    }

    /// The software monitor is ahead of 2006's VT-x where VT-x exits: port
    /// I/O, true page faults and PTE writes; and on `in` it even beats the
    /// bare machine, whose port read goes out on the bus.
    @Test func softwareIsAheadWhereVTxExits() throws {
        let t = try Self.table.get()
        for op in ["in", "pgfault", "ptemod"] {
            #expect(cycles(t, op, Self.trap) < cycles(t, op, Self.shadow), "\(op): trap behind vtx-shadow")
        }
        #expect(cycles(t, "in", Self.trap) < cycles(t, "in", Self.native))
        #expect(cycles(t, "in", Self.native) < cycles(t, "in", Self.shadow))
        #expect(tally(t, "in", Self.native).count("device I/O") == 1)
        #expect(cycles(t, "pgfault", Self.native) < cycles(t, "pgfault", Self.trap))
    }

    /// Binary translation, once the factory builds it: ahead of VT-x on
    /// `in`, `pgfault` and `ptemod`, behind it on `syscall`, `callret` and
    /// `divzero` (the published shape).  Nothing to check until `bt` runs.
    @Test func binaryTranslationHasThePublishedShape() throws {
        let t = try Self.table.get()
        guard let cell = t.cell("in", Self.bt), cell != .unavailable else { return }
        for op in ["in", "pgfault", "ptemod"] {
            #expect(cycles(t, op, Self.bt) < cycles(t, op, Self.shadow), "\(op): bt behind vtx-shadow")
        }
        for op in ["syscall", "callret", "divzero"] {
            #expect(cycles(t, op, Self.shadow) < cycles(t, op, Self.bt), "\(op): vtx behind bt")
        }
        #expect(cycles(t, "in", Self.bt) < cycles(t, "in", Self.native))
    }

    /// The counts the cells are made of are whole events per operation.
    @Test func eventsPerOperationAreWhole() throws {
        let t = try Self.table.get()
        for row in t.cells { for cell in row { if case .measured(let tally) = cell {
            for p in tally.parts { #expect(abs(p.count - p.count.rounded()) < 1e-9, "\(p.label) \(p.count)") }
        } } }
    }

    // ---- The report and the chart ----

    @Test func reportMarksMissingAndFailedCells() {
        let tally = Tally(parts: [Tally.Part(label: "instructions", count: 2, cycles: 2),
                                  Tally.Part(label: "exit INVLPG", count: 1, cycles: 12000)])
        let t = Nanobench.Table(operations: ["ptemod"], configurations: [Self.native, Self.bt, Self.shadow],
                                cells: [[.measured(tally), .unavailable, .failed("serial output differs from line 1")]],
                                counts: (10, 20), cost: CostModel())
        let text = Nanobench.report(t)
        let row = text.split(separator: "\n").first { $0.hasPrefix("ptemod") }.map(String.init) ?? ""
        #expect(row.split(separator: " ") == ["ptemod", "12002", "—", "✗"])
        #expect(text.contains("✗ ptemod under vtx-shadow: serial output differs from line 1"))
        #expect(text.contains("— the technique is not available yet"))
        #expect(text.contains("native  12002  = 2 instructions + 1 exit INVLPG (12000)"))
        let changed = CostModel.names["vm-exit"].map { k -> CostModel in var c = CostModel(); c[keyPath: k] = 900; return c }
        #expect(Nanobench.costLine(changed ?? CostModel()).contains("defaults with vm-exit=900"))
    }

    @Test func chartIsWellFormedSVG() {
        let chart = BarChart(title: "t <&>", yLabel: "cycles", groups: ["in", "ptemod"], series: ["native", "bt", "vtx"],
                             values: [[3210, nil, 12001], [3, nil, 26003]])
        #expect(chart.logarithmic)
        let svg = chart.svg()
        #expect(svg.hasPrefix("<?xml") && svg.hasSuffix("</svg>\n"))
        #expect(svg.contains("t &lt;&amp;&gt;"))
        // One bar per present value (plus the background and three legend swatches).
        #expect(Self.occurrences("<rect", in: svg) == 4 + 1 + 3)
        #expect(Self.occurrences(">—</text>", in: svg) == 2)
        #expect(svg.contains(">100000</text>"))      // the log axis reaches the decade above 26003
        var depth = 0
        for tag in svg.split(separator: "<").dropFirst() where !tag.hasPrefix("?") {
            if tag.hasPrefix("/") { depth -= 1 } else if !tag.contains("/>") { depth += 1 }
        }
        #expect(depth == 0)
        #expect(BarChart.number(12001) == "12001" && BarChart.number(2.25) == "2.3" && BarChart.number(-1.5) == "-1.5")
    }

    static func occurrences(_ needle: String, in s: String) -> Int {
        s.ranges(of: needle).count
    }

    @Test func configurations() {
        #expect(Configuration.all.map(\.name) == ["native", "trap", "bt", "vtx-shadow", "vtx-ept", "pv"])
        #expect(Configuration(name: "vtx-ept") == Self.ept && Configuration(name: "vtx") == Self.ept)
        #expect(Configuration(name: "pv-ept") == nil)
        #expect(Nanobench.Guest.operationName(path: "demos/build/nano-ptemod.elf") == "ptemod")
    }
}
