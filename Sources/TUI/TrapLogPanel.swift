import Debugger
import Monitors

// Trap log: the monitor's events from vm.log.entries, newest at the bottom:
// virtual time, kind, EIP, instruction, guest/real CPL, outcome, cycles.
// PgUp/PgDn scroll it when focused.

public enum TrapLogPanel {
    public static let title = PanelID.trapLog.rawValue

    static func format(_ e: TrapEvent) -> String {
        let us = Double(e.time) / 1000
        let t = String(Int(us)) + "." + String(Int((us - Double(Int(us))) * 10)) + "us"
        return pad(t, 10) + pad(e.kind.rawValue, 13) + hex8(e.eip) + " " + pad(e.instruction, 22)
            + " cpl \(e.guestCPL)/\(e.realCPL) " + pad(e.outcome, 12) + " \(e.cycles)c"
    }

    public static func lines(_ m: Model, height: Int) -> [String] {
        let log = m.session.vm.log
        let entries = log.entries
        if entries.isEmpty {
            return [m.session.technique == "native" ? "(native: no monitor, no traps)" : "(no traps yet)"]
        }
        let scroll = min(m.scrollOffset[.trapLog] ?? 0, max(0, entries.count - height))
        let end = entries.count - scroll
        return entries[max(0, end - height)..<end].map(format)
    }

    public static func render(_ m: Model, into c: inout Canvas, _ rect: Rect, focused: Bool = false) {
        let log = m.session.vm.log
        c.box(rect, title: title + (log.total > 0 ? " (\(log.total))" : ""), focused: focused)
        let inner = rect.inner
        let ls = lines(m, height: inner.height)
        // Newest at the bottom: bottom-align.
        let top = max(0, inner.height - ls.count)
        for (i, l) in ls.enumerated() { c.put(l, in: inner, line: top + i) }
    }
}
