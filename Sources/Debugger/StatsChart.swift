import Monitors

// `stats` under a monitor ends with the trap log's events by kind as
// horizontal bars (issue 9, "charts a class can read"): one row per kind
// that occurred, the bar's length proportional to the count, then the count
// and the modeled cycles the kind cost, with its share of all event cycles.
// Text bars of █ with eighth blocks for the remainder, so the same chart
// reads in the TUI, in a batch transcript and on a projector.

extension Session {
    static let barWidth = 32

    /// `█████▍` for `value` out of `maximum` in `width` cells.
    static func bar(_ value: UInt64, of maximum: UInt64, width: Int = barWidth) -> String {
        guard maximum > 0, value > 0 else { return "" }
        let eighths = max(1, Int((value * UInt64(width) * 8 + maximum / 2) / maximum))
        let partial = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"]
        return String(repeating: "█", count: eighths / 8) + partial[eighths % 8]
    }

    /// The chart of events by kind (empty when the log has none).
    func eventChart() -> String {
        let log = vm.log
        let kinds = EventKind.allCases.filter { log.count($0) > 0 }
        guard let top = kinds.map({ log.count($0) }).max() else { return "" }
        let total = max(1, log.totalCycles)
        var rows: [[String]] = [["events by kind", "", "count", "cycles", "share"]]
        for k in kinds {
            let cycles = log.cyclesByKind[k] ?? 0
            let bar = Session.bar(log.count(k), of: top)
            rows.append([k.rawValue, bar + String(repeating: " ", count: Session.barWidth - bar.count),
                         String(log.count(k)), String(cycles), String(cycles * 100 / total) + "%"])
        }
        return Session.table(rows)
    }
}
