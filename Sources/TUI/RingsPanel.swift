import Debugger
import Monitors
import X86

// Rings: the ring the guest believes it runs in and the ring the CPU really
// runs it in, drawn as the four concentric rings (0 innermost), with IOPL and
// the virtual and real IF.  A mismatch is highlighted.

public enum RingsPanel {
    public static let title = PanelID.rings.rawValue

    /// The four rings as nested boxes, innermost ring 0.  `G` marks where the
    /// guest believes it is, `R` where the CPU runs it (`*` when both agree).
    static func diagram(guest: UInt8, real: UInt8) -> [String] {
        func tag(_ r: Int) -> String {
            let g = r == Int(guest), c = r == Int(real)
            return g && c ? "*" : g ? "G" : c ? "R" : " "
        }
        // Ring r occupies a frame; labels sit on each frame's left edge.
        return [
            "┌ring 3\(tag(3))──────────┐",
            "│┌ring 2\(tag(2))────────┐│",
            "││┌ring 1\(tag(1))──────┐││",
            "│││┌ring 0\(tag(0))────┐│││",
            "│││└───────────┘│││",
            "││└─────────────┘││",
            "│└───────────────┘│",
            "└─────────────────┘",
        ]
    }

    public static func lines(_ m: Model) -> [(text: String, style: Style)] {
        let cpu = m.session.machine.cpu
        let v = m.session.monitor.vcpu
        let mismatch = v.cpl != cpu.cpl
        let hi = Style(.mismatch, bold: true)
        var out: [(String, Style)] = []
        // The numbers first, so that a short panel (80x24) loses only the
        // bottom edges of the drawing.
        out.append(("CPL  guest \(v.cpl) real \(cpu.cpl)", mismatch ? hi : .plain))
        out.append(("IOPL guest \(v.iopl) real \(cpu.iopl)", v.iopl != cpu.iopl ? hi : .plain))
        out.append(("IF   guest \(v.interruptsEnabled ? 1 : 0) real \(cpu.interruptsEnabled ? 1 : 0)",
                    v.interruptsEnabled != cpu.interruptsEnabled ? hi : .plain))
        if m.session.technique == "vtx" {
            // Stopped in the debugger the guest is between VM exits: it runs in
            // VMX non-root operation; the monitor runs in root operation.
            out.append(("VMX  guest non-root", Style(.changed)))
        } else {
            out.append(("VMX  off (no VT-x)", Style(.dim)))
        }
        for l in diagram(guest: v.cpl, real: cpu.cpl) { out.append((l, .plain)) }
        out.append(("G guest R real *both", Style(.dim)))
        return out
    }

    public static func render(_ m: Model, into c: inout Canvas, _ rect: Rect, focused: Bool = false) {
        c.box(rect, title: title, focused: focused)
        let inner = rect.inner
        for (i, l) in lines(m).prefix(inner.height).enumerated() {
            c.put(l.text, in: inner, line: i, style: l.style)
        }
        let v = m.session.monitor.vcpu, cpu = m.session.machine.cpu
        if v.cpl != cpu.cpl {
            // Colour the ring marks themselves.
            for r in inner.row..<min(c.rows, inner.row + inner.height) {
                for col in inner.col..<min(c.cols, inner.col + inner.width) where c[r, col].char == "G" || c[r, col].char == "R" {
                    if col > 0, c[r, col - 1].char.isNumber { c[r, col].style = Style(.mismatch, bold: true, reverse: true) }
                }
            }
        }
    }
}
