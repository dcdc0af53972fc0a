import Debugger
import Monitors
import X86

// Memory: hex and ASCII around the address the panel follows (the stack by
// default; `memory last`, `memory EXPR`: TUICommands.swift), shown in one
// of the three address spaces of a guest under a monitor:
//
//   guest-virtual   what the guest's code uses, through the guest's own page tables
//   guest-physical  what the guest believes is its RAM
//   host-physical   where the monitor really put that RAM (Machine.guestBase up)
//
// The first line translates the followed address through the three, so the
// same bytes can be found under each name (under `native` guest-physical
// and host-physical are the same).  F3 switches the space; a space can only
// be reached downwards (a physical address has no single virtual name).

public enum MemoryPanel {
    public static let title = PanelID.memory.rawValue

    /// The followed address, in the space it is given in.
    public static func address(_ m: Model) -> UInt32 {
        let cpu = m.session.machine.cpu
        let stack = cpu.segs[Seg.ss].base &+ cpu.regs[Reg.esp]
        switch m.memoryFollow {
        case .stack: return stack
        case .last: return m.lastAccess ?? stack
        case .expression(let e, _, _): return (try? m.session.evaluate(e).u32) ?? 0
        }
    }

    /// The followed address under each space from its own downwards (nil: not mapped).
    public static func chain(_ m: Model) -> [(MemorySpace, UInt32?)] {
        let s = m.session
        var a: UInt32? = address(m)
        var out: [(MemorySpace, UInt32?)] = []
        for space in MemorySpace.allCases where order(space) >= order(m.memoryFollowSpace) {
            if order(space) > order(m.memoryFollowSpace) {
                a = a.flatMap { space == .guestPhysical ? s.physical($0) : s.monitor.hostPhysical($0) }
            }
            out.append((space, a))
        }
        return out
    }

    static func order(_ s: MemorySpace) -> Int { MemorySpace.allCases.firstIndex(of: s)! }

    /// The space shown: the chosen one, or the followed address's own when that lies below it.
    public static func viewSpace(_ m: Model) -> MemorySpace {
        order(m.memoryView) >= order(m.memoryFollowSpace) ? m.memoryView : m.memoryFollowSpace
    }

    /// Reads `count` bytes at `a` in `space`; nil for a byte that is not there.
    static func read(_ m: Model, _ a: UInt32, _ space: MemorySpace, count: Int) -> [UInt8?] {
        let s = m.session, ram = s.machine.ram, size = s.machine.ramSize
        func host(_ h: UInt32?) -> UInt8? { h.flatMap { $0 < size ? ram[Int($0)] : nil } }
        switch space {
        case .guestVirtual:
            let b = CodePanel.bytes(s, a, count)
            return (0..<count).map { $0 < b.count ? b[$0] : nil }
        case .guestPhysical:
            return (0..<count).map { host(s.monitor.hostPhysical(a &+ UInt32($0))) }
        case .hostPhysical:
            return (0..<count).map { host(a &+ UInt32($0)) }
        }
    }

    /// Bytes per row for an inner width: eight when `addr> 8×"xx " 8×ascii` fits.
    static func perRow(_ width: Int) -> Int { width >= 10 + 4 * 8 ? 8 : 4 }

    /// The hex rows (without the translation line): `0010ffe0> 00 11 … ascii`.
    public static func lines(_ m: Model, height: Int, width: Int) -> [String] {
        let space = viewSpace(m)
        guard let a = chain(m).first(where: { $0.0 == space })?.1 else {
            return ["(not mapped in \(space.short))"]
        }
        let n = perRow(width)
        let base = (a & ~UInt32(n - 1)) &+ UInt32(bitPattern: Int32(truncatingIfNeeded: m.memoryScroll * n))
        var out: [String] = []
        for r in 0..<max(0, height) {
            let row = base &+ UInt32(r * n)
            var hexs = "", ascii = ""
            for b in read(m, row, space, count: n) {
                guard let b else { hexs += "?? "; ascii += " "; continue }
                hexs += hex2(b) + " "
                ascii.append(b >= 0x20 && b < 0x7F ? Character(Unicode.Scalar(b)) : ".")
            }
            let here = row <= a && a &- row < UInt32(n)
            out.append(hex8(row) + (here ? ">" : " ") + " " + hexs + ascii)
        }
        return out
    }

    static func followText(_ m: Model) -> String {
        switch m.memoryFollow {
        case .stack: return "stack"
        case .last: return m.lastAccess == nil ? "last: none yet, stack" : "last access"
        case .expression(_, let text, _): return text
        }
    }

    public static func render(_ m: Model, into c: inout Canvas, _ rect: Rect, focused: Bool = false) {
        let space = viewSpace(m)
        c.box(rect, title: title + " (\(followText(m)), \(space.short))", focused: focused)
        let inner = rect.inner
        guard inner.height > 0 else { return }
        // The translation line: v:… p:… h:…, the shown space highlighted.
        var col = 0
        for (sp, a) in chain(m) {
            let text = sp.rawValue + ":" + (a.map(hex8) ?? "--------") + " "
            col = c.put(text, in: inner, line: 0, col: col, style: sp == space ? Style(.current, bold: true) : Style(.dim)) - inner.col
        }
        let rows = lines(m, height: inner.height - 1, width: inner.width)
        for (i, l) in rows.enumerated() {
            c.put(l, in: inner, line: i + 1, style: l.dropFirst(8).first == ">" ? Style(.normal, bold: true) : .plain)
        }
    }
}
