import Debugger
import Monitors
import X86

// Code: disassembly around EIP with symbol labels and breakpoint marks.
// `=>` marks the next instruction, `●` (or `b` without Unicode) a breakpoint.
// The `bt` side-by-side translation comes with that technique.

public enum CodePanel {
    public static let title = PanelID.code.rawValue

    /// Reads up to `count` bytes at a guest-linear address, as many as are readable.
    static func bytes(_ s: Session, _ a: UInt32, _ count: Int) -> [UInt8] {
        var n = count
        while n > 0 {
            if let b = try? s.readMemory(a, count: n) { return b }
            n /= 2
        }
        return []
    }

    public static func lines(_ m: Model, height: Int) -> [(text: String, style: Style)] {
        let s = m.session
        let eip = s.linearEIP
        var start = eip
        if let f = s.symbols.function(containing: eip), eip &- f.entry.address < 768 { start = f.entry.address }
        let span = Int(eip &- start) + 16 * max(4, height)
        let code = bytes(s, start, span)
        var ins = Disassembler.disassemble(code, at: start, symbol: { s.symbols.label($0) })
        if !ins.contains(where: { $0.address == eip }) {
            // Decoding from the function start went out of step: start at EIP.
            ins = Disassembler.disassemble(bytes(s, eip, 16 * max(4, height)), at: eip, symbol: { s.symbols.label($0) })
        }
        let breaks = Set(s.breakpointList.filter(\.enabled).compactMap(\.address))
        var rows: [(String, Style)] = []
        var eipRow = 0
        for i in ins {
            if let sym = s.symbols.symbolize(i.address), sym.offset == 0 {
                rows.append(("<" + sym.entry.name + ">:", Style(.title)))
            }
            let isEIP = i.address == eip
            if isEIP { eipRow = rows.count }
            let mark = (breaks.contains(i.address) ? "●" : " ") + (isEIP ? "=>" : "  ")
            let style: Style = isEIP ? Style(.current, bold: true, reverse: true) : breaks.contains(i.address) ? Style(.breakpoint) : .plain
            rows.append((mark + " " + hex8(i.address) + "  " + i.text, style))
        }
        if rows.isEmpty { return [("cannot access memory at 0x" + hex8(eip), Style(.error))] }
        let first = max(0, min(eipRow - height / 3, rows.count - height))
        return Array(rows.dropFirst(first).prefix(height))
    }

    public static func render(_ m: Model, into c: inout Canvas, _ rect: Rect, focused: Bool = false) {
        c.box(rect, title: title, focused: focused)
        let inner = rect.inner
        for (i, l) in lines(m, height: inner.height).enumerated() {
            if l.style.reverse { c.fill(Rect(row: inner.row + i, col: inner.col, height: 1, width: inner.width), style: l.style) }
            c.put(l.text, in: inner, line: i, style: l.style)
        }
    }
}
