// The nanobenchmark table as text (what `ringside compare --baseline` and
// `make nanobench` print) and as a bar chart (`--chart FILE.svg`).  Cells:
// modeled cycles per operation; "—" for a technique not available yet;
// "✗" for a guest that did not behave as natively under it (a footnote
// says how).  Below the table, each measured cell is taken apart into
// the events one operation costs — the reasons for every win.

extension Nanobench {
    /// The table, the footnotes and the breakdown, lines joined by "\n".
    public static func report(_ t: Table) -> String {
        var lines = ["Nanobenchmarks after Adams & Agesen (ASPLOS 2006): modeled cycles per operation",
                     "(each guest run with \(t.counts.0) and \(t.counts.1) iterations; per operation = the difference"
                         + " / \(t.counts.1 - t.counts.0), minus the empty loop's)",
                     costLine(t.cost), ""]
        let header = ["operation"] + t.configurations.map(\.name)
        var rows: [[String]] = []
        var notes: [String] = []
        for (o, op) in t.operations.enumerated() {
            var row = [op]
            for (c, conf) in t.configurations.enumerated() {
                switch t.cells[o][c] {
                case .measured(let tally): row.append(BarChart.number(tally.cycles))
                case .unavailable: row.append("—")
                case .failed(let why):
                    row.append("✗")
                    notes.append("✗ \(op) under \(conf.name): \(why)")
                }
            }
            rows.append(row)
        }
        lines += align([header] + rows, right: true)
        lines.append("")
        if t.cells.joined().contains(.unavailable) { lines.append("— the technique is not available yet") }
        if !notes.isEmpty { lines.append("✗ the guest does not run as it does natively:") }
        lines += notes.map { "  " + $0 }
        if lines.last != "" { lines.append("") }
        lines.append("What one operation costs (events per operation × cycles per event):")
        for (o, op) in t.operations.enumerated() {
            lines.append(op)
            var rows: [[String]] = []
            for (c, conf) in t.configurations.enumerated() {
                guard case .measured(let tally) = t.cells[o][c] else { continue }
                rows.append(["  " + conf.name, BarChart.number(tally.cycles), "= " + breakdown(tally)])
            }
            lines += align(rows, right: false)
        }
        return lines.joined(separator: "\n")
    }

    /// "cost model: defaults (…)", or the settings that differ from them.
    static func costLine(_ cost: CostModel) -> String {
        let defaults = CostModel()
        let changed = CostModel.names.sorted { $0.key < $1.key }
            .filter { cost[keyPath: $0.value] != defaults[keyPath: $0.value] }
            .map { "\($0.key)=\(cost[keyPath: $0.value])" }
        let figures = "vm-exit \(cost.vmExit), trap \(cost.trap), reflect \(cost.reflect), port-io \(cost.portIO),"
            + " native-exception \(cost.nativeException), pt-write \(cost.ptWrite), shadow-fault \(cost.shadowFault)"
        return (changed.isEmpty ? "cost model: the CostModel defaults, from the P4 672 figures (" : "cost model: defaults with \(changed.joined(separator: ", ")) (")
            + figures + ")"
    }

    /// "2 instructions (2) + 1 exit INVLPG (12000) + …".
    static func breakdown(_ t: Tally) -> String {
        let parts = t.parts.filter { abs($0.count) >= 0.005 || abs($0.cycles) >= 0.05 }
        guard !parts.isEmpty else { return "nothing" }
        return parts.map { p in
            let n = abs(p.count - p.count.rounded()) < 0.005 ? BarChart.number(p.count) : fixed2(p.count)
            if p.label == "instructions" { return "\(n) instruction" + (n == "1" ? "" : "s") }
            return "\(n) \(p.label) (\(BarChart.number(p.cycles)))"
        }.joined(separator: " + ")
    }

    static func fixed2(_ v: Double) -> String {
        let h = Int64((v * 100).rounded()), a = abs(h)
        let frac = a % 100
        return (h < 0 ? "-" : "") + "\(a / 100)." + (frac < 10 ? "0" : "") + "\(frac)"
    }

    /// Columns padded to their widest cell; numbers right-aligned when `right`.
    static func align(_ rows: [[String]], right: Bool) -> [String] {
        let columns = rows.map(\.count).max() ?? 0
        let widths = (0..<columns).map { i in rows.map { i < $0.count ? $0[i].count : 0 }.max() ?? 0 }
        return rows.map { cells in
            cells.enumerated().map { i, c in
                let pad = String(repeating: " ", count: max(0, widths[i] - c.count))
                if i == cells.count - 1 && !right { return c }
                return right && i > 0 ? pad + c : c + pad
            }.joined(separator: "  ")
        }
    }

    /// The table as a grouped bar chart: one group per operation, one bar per configuration.
    public static func chart(_ t: Table) -> BarChart {
        BarChart(title: "Nanobenchmarks after Adams & Agesen (ASPLOS 2006)",
                 subtitle: "modeled cycles per operation; — = not available, or the guest misbehaves",
                 yLabel: "modeled cycles per operation",
                 groups: t.operations, series: t.configurations.map(\.name),
                 values: t.cells.map { $0.map(\.cycles) }, logarithmic: true)
    }
}

extension Comparison {
    /// `compare GUEST --chart`: modeled cycles of the whole run, one bar per configuration.
    public static func chart(_ rows: [Row], guest: String) -> BarChart {
        BarChart(title: "ringside compare \(guest)", subtitle: "modeled cycles of the whole run under each technique",
                 yLabel: "modeled cycles", groups: [guest], series: rows.map(\.configuration.name),
                 values: [rows.map { Double($0.cycles) }])
    }
}
