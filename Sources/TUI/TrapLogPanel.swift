import Debugger
import Monitors
import X86

// Trap log: the monitor's events (vm.log), newest at the bottom, each with
// virtual time, kind, EIP, instruction, guest/real CPL, outcome and modeled
// cycles.  Wide, one line an entry; narrower than `wide`, two lines (the
// numbers, then instruction → outcome), so nothing is cut off at 120 columns.
//
// Filtered by kind with `traps --kind K` or F2 (Model.trapFilter).  Focused,
// Up/Down/PgUp/PgDn/Home/End move a selection (Model.trapSelection, by
// sequence number so it stays put while the log grows); the selected entry's
// details fill the bottom of the panel.  End drops the selection: the panel
// follows the newest entry again.

public enum TrapLogPanel {
    public static let title = PanelID.trapLog.rawValue
    /// Inner width from which an entry takes one line.
    public static let wide = 96

    static func time(_ ns: UInt64) -> String {
        let us = Double(ns) / 1000
        return String(Int(us)) + "." + String(Int((us - Double(Int(us))) * 10)) + "us"
    }

    static func right(_ s: String, _ n: Int) -> String { s.count >= n ? s : String(repeating: " ", count: n - s.count) + s }

    /// The numbers of an entry: time, kind, EIP, CPL guest/real, cycles (42 columns).
    static func head(_ e: TrapEvent) -> String {
        right(time(e.time), 9) + " " + pad(e.kind.rawValue, 12) + " " + hex8(e.eip) + " \(e.guestCPL)/\(e.realCPL) " + right("\(e.cycles)c", 7)
    }

    /// An entry on one line (also what a lesson's highlight matches).
    public static func format(_ e: TrapEvent) -> String {
        head(e) + "  " + pad(e.instruction, 22) + " " + e.outcome
    }

    /// The retained entries of the filtered kind, oldest first (cached while the log does not grow).
    public static func visible(_ m: Model) -> [TrapEvent] {
        let log = m.session.vm.log
        let key = TrapCacheKey(log: ObjectIdentifier(log), total: log.total, filter: m.trapFilter)
        if m.trapCache.key == key { return m.trapCache.entries }
        var entries = log.entries
        if let k = m.trapFilter { entries = entries.filter { $0.kind == k } }
        m.trapCache = (key, entries)
        return entries
    }

    /// Index of the entry with sequence number `seq` (entries are in sequence order).
    static func index(of seq: UInt64, in entries: [TrapEvent]) -> Int? {
        var lo = 0, hi = entries.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if entries[mid].sequence < seq { lo = mid + 1 } else { hi = mid }
        }
        return lo < entries.count && entries[lo].sequence == seq ? lo : nil
    }

    /// The list without the box: text, style and the entry each line belongs to.
    public static func lines(_ m: Model, height: Int, width: Int = wide) -> [(text: String, style: Style)] {
        let entries = visible(m)
        if entries.isEmpty { return [(emptyText(m), Style(.dim))] }
        let per = width >= wide ? 1 : 2
        let selected = m.trapSelection.flatMap { index(of: $0, in: entries) }
        let fit = max(1, height / per)
        var start = max(0, entries.count - fit)
        if let s = selected { start = max(0, min(s - fit / 2, entries.count - fit)) }
        var out: [(String, Style)] = []
        for k in start..<min(entries.count, start + fit) {
            let e = entries[k]
            var style: Style = m.highlight == .trap(e.sequence) ? Style(.current, reverse: true) : .plain
            if k == selected { style = Style(.focus, bold: true, reverse: true) }
            if per == 1 {
                out.append((format(e), style))
            } else {
                out.append((head(e), style))
                out.append(("  " + e.instruction + " → " + e.outcome, k == selected ? style : Style(.dim)))
            }
        }
        return out
    }

    static func emptyText(_ m: Model) -> String {
        if let k = m.trapFilter { return "(no \(k.rawValue) events; F2 or `traps` shows every kind)" }
        return m.session.technique == "native" ? "(native: no monitor, no traps)" : "(no traps yet)"
    }

    /// Everything about one entry, for the details area.
    public static func details(_ e: TrapEvent, _ m: Model) -> [String] {
        var what = e.kind.rawValue
        switch e.kind {
        case .exception, .injection:
            if let v = e.code { what += " " + CPUException(UInt8(truncatingIfNeeded: v)).name }
            if let d = e.detail { what += " error 0x" + String(d, radix: 16) }
        case .vmexit:
            if let c = e.code {
                what += " reason \(c)" + (ExitReason(rawValue: UInt16(truncatingIfNeeded: c)).map { " " + $0.name } ?? "")
            }
            if let d = e.detail { what += " qualification 0x" + String(d, radix: 16) }
        default:
            if let c = e.code { what += " \(c)" }
            if let d = e.detail { what += " detail 0x" + String(d, radix: 16) }
        }
        let sym = m.session.symbols.label(e.eip).map { " <\($0)>" } ?? ""
        let vmx = e.nonRoot.map { $0 ? "  VMX non-root" : "  VMX root" } ?? ""
        return ["#\(e.sequence) at \(time(e.time)) under \(e.technique.rawValue): \(what)",
                "eip 0x\(hex8(e.eip))\(sym)  \(e.instruction)",
                "CPL guest \(e.guestCPL) real \(e.realCPL)\(vmx)  \(e.cycles) modeled cycles",
                "outcome: \(e.outcome)"]
    }

    public static func render(_ m: Model, into c: inout Canvas, _ rect: Rect, focused: Bool = false) {
        let log = m.session.vm.log
        var t = title + (log.total > 0 ? " (\(log.total))" : "")
        if let k = m.trapFilter { t += " kind \(k.rawValue)" }
        c.box(rect, title: t, focused: focused)
        let inner = rect.inner
        guard inner.height > 0 else { return }
        var listHeight = inner.height
        let entries = visible(m)
        let selected = m.trapSelection.flatMap { index(of: $0, in: entries) }.map { entries[$0] }
        if let e = selected {
            // The details of the selection at the bottom, under a rule.
            let d = details(e, m).flatMap { wrap($0, inner.width) }
            let dh = min(d.count, max(1, inner.height * 3 / 5))
            listHeight = inner.height - dh - 1
            c.put(String(repeating: "─", count: inner.width), in: inner, line: listHeight, style: Style(.dim))
            for (i, l) in d.prefix(dh).enumerated() { c.put(l, in: inner, line: listHeight + 1 + i, style: Style(.title)) }
        }
        let ls = lines(m, height: listHeight, width: inner.width)
        let top = max(0, listHeight - ls.count)   // newest at the bottom
        for (i, l) in ls.enumerated() {
            if l.style.reverse { c.fill(Rect(row: inner.row + top + i, col: inner.col, height: 1, width: inner.width), style: l.style) }
            c.put(l.text, in: inner, line: top + i, style: l.style)
        }
    }

    /// Cuts a line into pieces of `width` (the details are read whole, not clipped).
    static func wrap(_ s: String, _ width: Int) -> [String] {
        guard width > 0 else { return [] }
        var out: [String] = [], rest = Substring(s)
        repeat { out.append(String(rest.prefix(width))); rest = rest.dropFirst(width) } while !rest.isEmpty
        return out
    }

    // MARK: - Selection and filter (keys)

    /// Moves the selection by `delta` entries (negative: older); past the newest it follows the log again.
    public static func move(_ m: Model, by delta: Int) {
        let entries = visible(m)
        guard !entries.isEmpty else { m.trapSelection = nil; return }
        let at = m.trapSelection.flatMap { index(of: $0, in: entries) } ?? entries.count
        let next = at + delta
        m.trapSelection = next >= entries.count ? nil : entries[max(0, next)].sequence
    }

    /// F2: every kind, then each kind the log has counted, in the trap log's order.
    public static func nextFilter(_ m: Model) {
        let log = m.session.vm.log
        let kinds: [EventKind?] = [nil] + EventKind.allCases.filter { log.count($0) > 0 }
        let i = kinds.firstIndex(of: m.trapFilter) ?? 0
        m.trapFilter = kinds[(i + 1) % kinds.count]
        m.trapSelection = nil
    }
}

/// What the cached filtered list was made from.
struct TrapCacheKey: Equatable {
    var log: ObjectIdentifier
    var total: UInt64
    var filter: EventKind?
}
