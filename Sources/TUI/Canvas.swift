// Module TUI: the pure cell canvas every panel renders into.  No terminal
// here: the ncurses front end (Terminal.swift) only blits it, and tests
// read it back as text (DESIGN.md "TUI", principle 4: views are thin).

/// How one cell looks.  Colours are roles, not terminal colours; the front
/// end maps them (and drops them under NO_COLOR).
public struct Style: Hashable, Sendable {
    public enum Role: UInt8, Sendable { case normal, title, changed, mismatch, current, breakpoint, dim, focus, error }
    public var role: Role = .normal
    public var bold = false
    public var reverse = false
    public init(_ role: Role = .normal, bold: Bool = false, reverse: Bool = false) {
        self.role = role; self.bold = bold; self.reverse = reverse
    }
    public static let plain = Style()
}

public struct Cell: Equatable, Sendable {
    public var char: Character = " "
    public var style = Style.plain
}

/// A rectangle on the canvas: row, column, height, width.
public struct Rect: Equatable, Sendable {
    public var row: Int, col: Int, height: Int, width: Int
    public init(row: Int, col: Int, height: Int, width: Int) {
        self.row = row; self.col = col; self.height = max(0, height); self.width = max(0, width)
    }
    /// The inside of a box drawn on this rectangle.
    public var inner: Rect { Rect(row: row + 1, col: col + 1, height: height - 2, width: width - 2) }
}

public struct Canvas: Sendable {
    public let rows: Int, cols: Int
    public private(set) var cells: [Cell]

    public init(rows: Int, cols: Int) {
        self.rows = max(0, rows); self.cols = max(0, cols)
        cells = Array(repeating: Cell(), count: self.rows * self.cols)
    }

    public subscript(r: Int, c: Int) -> Cell {
        get { cells[r * cols + c] }
        set { cells[r * cols + c] = newValue }
    }

    /// Writes text from (r, c), clipped to `limit` columns (and the canvas).
    @discardableResult
    public mutating func put(_ text: String, row r: Int, col c: Int, style: Style = .plain, limit: Int = .max) -> Int {
        guard r >= 0, r < rows else { return c }
        var col = c
        let end = min(cols, limit == .max ? cols : c + limit)
        for ch in text {
            if col >= end { break }
            if col >= 0 { self[r, col] = Cell(char: ch == "\t" || ch == "\n" ? " " : ch, style: style) }
            col += 1
        }
        return col
    }

    /// Writes text inside a rectangle's row, clipped to it.
    @discardableResult
    public mutating func put(_ text: String, in rect: Rect, line: Int, col: Int = 0, style: Style = .plain) -> Int {
        guard line >= 0, line < rect.height, col < rect.width else { return rect.col + col }
        return put(text, row: rect.row + line, col: rect.col + col, style: style, limit: rect.width - col)
    }

    public mutating func fill(_ rect: Rect, _ ch: Character = " ", style: Style = .plain) {
        for r in max(0, rect.row)..<min(rows, rect.row + rect.height) {
            for c in max(0, rect.col)..<min(cols, rect.col + rect.width) { self[r, c] = Cell(char: ch, style: style) }
        }
    }

    /// A box with its title on the top border: `┌─ Title ───┐`.
    public mutating func box(_ rect: Rect, title: String, focused: Bool = false) {
        guard rect.height >= 2, rect.width >= 2 else { return }
        let border = focused ? Style(.focus, bold: true) : Style.plain
        let top = rect.row, bottom = rect.row + rect.height - 1
        let left = rect.col, right = rect.col + rect.width - 1
        for c in left...right {
            put("─", row: top, col: c, style: border)
            put("─", row: bottom, col: c, style: border)
        }
        for r in top...bottom {
            put("│", row: r, col: left, style: border)
            put("│", row: r, col: right, style: border)
        }
        put("┌", row: top, col: left, style: border); put("┐", row: top, col: right, style: border)
        put("└", row: bottom, col: left, style: border); put("┘", row: bottom, col: right, style: border)
        if rect.width > 4 {
            put(" " + title + " ", row: top, col: left + 2, style: Style(.title, bold: true), limit: rect.width - 4)
        }
    }

    /// One row as text, trailing spaces trimmed.
    public func line(_ r: Int) -> String {
        var s = String((0..<cols).map { self[r, $0].char })
        while s.last == " " { s.removeLast() }
        return s
    }

    public var lines: [String] { (0..<rows).map(line) }
    public var text: String { lines.joined(separator: "\n") }

    /// Runs of equally styled cells in one row: what the front end writes.
    public func runs(row r: Int) -> [(col: Int, text: String, style: Style)] {
        var out: [(Int, String, Style)] = []
        var c = 0
        while c < cols {
            let st = self[r, c].style
            var s = ""
            let start = c
            while c < cols, self[r, c].style == st { s.append(self[r, c].char); c += 1 }
            out.append((start, s, st))
        }
        return out
    }
}

/// Hex without the 0x, zero-padded.
func hex8(_ v: UInt32) -> String { let s = String(v, radix: 16); return String(repeating: "0", count: max(0, 8 - s.count)) + s }
func hex4(_ v: UInt16) -> String { let s = String(v, radix: 16); return String(repeating: "0", count: max(0, 4 - s.count)) + s }
func hex2(_ v: UInt8) -> String { let s = String(v, radix: 16); return s.count < 2 ? "0" + s : s }
func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
