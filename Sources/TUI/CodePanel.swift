import Debugger
import Monitors
import PC
import X86

// Code: disassembly around EIP with symbol labels and breakpoint marks.
// `=>` marks the next instruction, `●` a breakpoint, `>` the code cursor
// (moved with Up/Down/PgUp/PgDn when the panel has focus; F9 toggles a
// breakpoint there, F4 runs to it).  A stop brings the cursor back to EIP.
//
// Under `bt`, when a TranslationSource has the code (Translation.swift), the
// translation stands beside the original, aligned instruction by instruction:
// a guest instruction takes as many lines as its translation, and a rewritten
// one is marked `*` with the reason on the line under it:
//
//   original                        │ translation cache
//   ●=> 00100040 cli              * │ c0201000 mov byte [0xc0000044],0x0
//         ↳ INLINE: clears the virtual IF
//       00100041 mov eax,[esp+4]    │ c0201007 mov eax,[esp+4]
//
// When the guest has ended the first line says why.

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

    typealias Listed = (address: UInt32, length: Int, bytes: [UInt8], text: String)

    /// Instructions around `anchor`: from the start of its function when that is
    /// near (so the listing has context above), else from `anchor` itself.
    static func listing(_ s: Session, around anchor: UInt32, count: Int) -> [Listed] {
        var start = anchor
        if let f = s.symbols.function(containing: anchor), anchor &- f.entry.address < 768 { start = f.entry.address }
        let span = Int(anchor &- start) + 16 * max(4, count)
        let ins = Disassembler.disassemble(bytes(s, start, span), at: start, symbol: { s.symbols.label($0) })
        if ins.contains(where: { $0.address == anchor }) { return ins }
        // Decoding from the function start went out of step: start at the anchor.
        return Disassembler.disassemble(bytes(s, anchor, 16 * max(4, count)), at: anchor, symbol: { s.symbols.label($0) })
    }

    public static func lines(_ m: Model, height: Int, width: Int = 60) -> [(text: String, style: Style)] {
        let s = m.session
        let eip = s.linearEIP
        let anchor = m.codeCursor ?? eip
        var rows: [(String, Style)] = []
        if let end = s.ended { rows.append(("guest ended: " + Output.ended(end), Style(.error, bold: true))) }
        let translated = m.translationRows(around: anchor)
        let body = translated.map { sideBySide($0, m, width: width) } ?? plain(listing(s, around: anchor, count: height), m)
        if body.rows.isEmpty { return rows + [("cannot access memory at 0x" + hex8(anchor), Style(.error))] }
        // Keep the anchor a third of the way down.
        let first = max(0, min(body.anchorRow - height / 3, body.rows.count - (height - rows.count)))
        return rows + Array(body.rows.dropFirst(first).prefix(height - rows.count))
    }

    /// The marks in front of an instruction: breakpoint, EIP, cursor.
    static func marks(_ a: UInt32, _ m: Model, _ breaks: Set<UInt32>) -> (text: String, style: Style) {
        let isEIP = a == m.session.linearEIP, isCursor = m.codeCursor == a
        let text = (breaks.contains(a) ? "●" : " ") + (isEIP ? "=>" : isCursor ? "> " : "  ")
        let style: Style = isEIP ? Style(.current, bold: true, reverse: true)
            : isCursor ? Style(.focus, bold: true, reverse: true)
            : breaks.contains(a) ? Style(.breakpoint)
            : m.highlight == .address(a) ? Style(.changed, bold: true, reverse: true)   // a lesson's `highlight ADDRESS`
            : .plain
        return (text, style)
    }

    static func breakpoints(_ m: Model) -> Set<UInt32> {
        Set(m.session.breakpointList.filter(\.enabled).compactMap(\.address))
    }

    /// The plain listing: labels, marks, address, instruction.
    static func plain(_ ins: [Listed], _ m: Model) -> (rows: [(String, Style)], anchorRow: Int) {
        let s = m.session, breaks = breakpoints(m)
        let anchor = m.codeCursor ?? s.linearEIP
        var rows: [(String, Style)] = []
        var anchorRow = 0
        for i in ins {
            if let sym = s.symbols.symbolize(i.address), sym.offset == 0 {
                rows.append(("<" + sym.entry.name + ">:", Style(.title)))
            }
            if i.address == anchor { anchorRow = rows.count }
            let mk = marks(i.address, m, breaks)
            rows.append((mk.text + " " + hex8(i.address) + "  " + i.text, mk.style))
        }
        return (rows, anchorRow)
    }

    /// Original and translation side by side (see the file comment).
    static func sideBySide(_ t: [TranslationRow], _ m: Model, width: Int) -> (rows: [(String, Style)], anchorRow: Int) {
        let s = m.session, breaks = breakpoints(m)
        let anchor = m.codeCursor ?? s.linearEIP
        // The original gets a little more room: it carries the symbols.
        let left = max(24, min(46, (width - 3) * 11 / 20))
        var rows: [(String, Style)] = [(pad("original", left) + " │ translation cache", Style(.title))]
        var anchorRow = 0
        for r in t {
            if let sym = s.symbols.symbolize(r.guest), sym.offset == 0 {
                rows.append((pad("<" + sym.entry.name + ">:", left) + " │", Style(.title)))
            }
            if r.guest == anchor { anchorRow = rows.count }
            let mk = marks(r.guest, m, breaks)
            let original = String((mk.text + " " + hex8(r.guest) + " " + r.original).prefix(left - 2))
            let flag = r.isIdentical ? "  " : " *"
            let tc = r.translated.map { hex8($0.address) + " " + $0.text }
            let style: Style = mk.style != .plain ? mk.style : r.isIdentical ? .plain : Style(.changed)
            rows.append((pad(original, left - 2) + flag + " │ " + (tc.first ?? "(not translated)"), style))
            for more in tc.dropFirst() { rows.append((pad("", left) + " │ " + more, r.isIdentical ? .plain : Style(.changed))) }
            if let why = r.reason {
                rows.append(("      ↳ " + r.rewrite + ": " + why, Style(.dim)))   // across both columns
            }
        }
        return (rows, anchorRow)
    }

    public static func render(_ m: Model, into c: inout Canvas, _ rect: Rect, focused: Bool = false) {
        let translated = m.translationRows(around: m.codeCursor ?? m.session.linearEIP) != nil
        c.box(rect, title: title + (translated ? " (original │ translation)" : ""), focused: focused)
        let inner = rect.inner
        for (i, l) in lines(m, height: inner.height, width: inner.width).enumerated() {
            if l.style.reverse { c.fill(Rect(row: inner.row + i, col: inner.col, height: 1, width: inner.width), style: l.style) }
            c.put(l.text, in: inner, line: i, style: l.style)
        }
    }

    // MARK: - The cursor (keys)

    /// Moves the code cursor by `delta` instructions (negative: up).
    public static func moveCursor(_ m: Model, by delta: Int) {
        let s = m.session
        let from = m.codeCursor ?? s.linearEIP
        var ins = listing(s, around: from, count: max(8, abs(delta) + 4)).map(\.address)
        var i = ins.firstIndex(of: from) ?? 0
        var left = delta
        while left < 0 {
            if i > 0 { i -= 1; left += 1; continue }
            // At the top of the listing: find an instruction that ends exactly here.
            guard let p = previous(s, before: ins[i]) else { break }
            ins.insert(p, at: 0)
            left += 1
        }
        i = min(ins.count - 1, i + max(0, left))
        m.codeCursor = ins.isEmpty ? nil : ins[i]
    }

    /// The start of the instruction before `a`: the earliest start within 15
    /// bytes whose decoding falls exactly on `a` (x86 cannot be decoded backwards).
    static func previous(_ s: Session, before a: UInt32) -> UInt32? {
        for back in stride(from: 15, through: 1, by: -1) {
            let start = a &- UInt32(back)
            let ins = Disassembler.disassemble(bytes(s, start, back), at: start)
            var at = start
            for i in ins where at < a { at = i.address &+ UInt32(i.length) }
            if at == a, let last = ins.last(where: { $0.address < a }) { return last.address }
        }
        return nil
    }
}
