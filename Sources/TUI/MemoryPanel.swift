import Debugger
import X86

// Memory: hex and ASCII around an address (guest-virtual, through the
// guest's own page tables), by default the stack (ESP).  The TUI's own
// `memory EXPR` points it elsewhere (Model.local); `memory` alone follows the stack again.

public enum MemoryPanel {
    public static let title = PanelID.memory.rawValue

    public static func address(_ m: Model) -> UInt32 {
        if let a = m.memoryAddress { return a }
        let cpu = m.session.machine.cpu
        return cpu.segs[Seg.ss].base &+ cpu.regs[Reg.esp]
    }

    public static func lines(_ m: Model, height: Int, width: Int) -> [String] {
        let a = address(m)
        let perRow = width >= 8 + 2 + 16 * 3 + 16 ? 16 : 8
        let base = a & ~UInt32(perRow - 1)
        var out: [String] = []
        for r in 0..<max(0, height) {
            let row = base &+ UInt32(r * perRow)
            let b = CodePanel.bytes(m.session, row, perRow)
            var hexs = "", ascii = ""
            for i in 0..<perRow {
                if i < b.count {
                    hexs += hex2(b[i]) + " "
                    ascii.append(b[i] >= 0x20 && b[i] < 0x7F ? Character(Unicode.Scalar(b[i])) : ".")
                } else { hexs += "?? "; ascii += " " }
            }
            out.append(hex8(row) + (row <= a && a < row &+ UInt32(perRow) ? ">" : " ") + " " + hexs + ascii)
        }
        return out
    }

    public static func render(_ m: Model, into c: inout Canvas, _ rect: Rect, focused: Bool = false) {
        let what = m.memoryAddress == nil ? "stack" : "0x" + hex8(address(m))
        c.box(rect, title: title + " (\(what))", focused: focused)
        let inner = rect.inner
        for (i, l) in lines(m, height: inner.height, width: inner.width).enumerated() { c.put(l, in: inner, line: i) }
    }
}
