// Serial: the guest's console (COM1 output collected from the session's
// results), the last lines that fit, long lines wrapped.  Focused, what is
// typed goes to COM1's receiver (Model.feedSerial), as from a terminal on
// the other end of the line; bytes the receiver has no room for wait.

public enum SerialPanel {
    public static let title = PanelID.serial.rawValue

    public static func lines(_ serial: String, height: Int, width: Int, scroll: Int = 0) -> [String] {
        guard width > 0 else { return [] }
        var wrapped: [String] = []
        let clean = String(String.UnicodeScalarView(serial.unicodeScalars.filter { $0 != "\r" }))
        for raw in clean.split(separator: "\n", omittingEmptySubsequences: false) {
            var l = Substring(raw)
            repeat {
                wrapped.append(String(l.prefix(width)))
                l = l.dropFirst(width)
            } while !l.isEmpty
        }
        if wrapped.last == "" { wrapped.removeLast() }
        let end = max(0, wrapped.count - min(scroll, max(0, wrapped.count - height)))
        return Array(wrapped[max(0, end - height)..<end])
    }

    public static func render(_ m: Model, into c: inout Canvas, _ rect: Rect, focused: Bool = false) {
        var t = title
        if focused { t += " → COM1" }   // what is typed goes to the guest
        if !m.serialInput.isEmpty { t += " (\(m.serialInput.count) waiting)" }
        c.box(rect, title: t, focused: focused)
        let inner = rect.inner
        for (i, l) in lines(m.serial, height: inner.height, width: inner.width, scroll: m.scrollOffset[.serial] ?? 0).enumerated() {
            c.put(l, in: inner, line: i)
        }
    }
}
