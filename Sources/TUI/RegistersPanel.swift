import Debugger
import Monitors
import X86

// Registers: general registers, segments (selector and the hidden base,
// limit and DPL), EIP, EFLAGS decoded, CR0/CR2/CR3/CR4.  Under a monitor
// the guest-visible value stands beside the real one where they differ;
// values changed since the last stop are highlighted.

public enum RegistersPanel {
    public static let title = PanelID.registers.rawValue

    static func flagsText(_ f: UInt32) -> String {
        let names: [(UInt32, String)] = [(EFLAGS.cf, "CF"), (EFLAGS.pf, "PF"), (EFLAGS.af, "AF"), (EFLAGS.zf, "ZF"),
                                         (EFLAGS.sf, "SF"), (EFLAGS.tf, "TF"), (EFLAGS.if, "IF"), (EFLAGS.df, "DF"),
                                         (EFLAGS.of, "OF"), (EFLAGS.nt, "NT"), (EFLAGS.rf, "RF"), (EFLAGS.vm, "VM")]
        var parts = names.filter { f & $0.0 != 0 }.map(\.1)
        parts.append("IOPL=\((f >> 12) & 3)")
        return "[" + parts.joined(separator: " ") + "]"
    }

    /// The lines of the panel without the box (also what tests read).
    /// `compact` (a narrow panel) drops the base/limit/DPL labels: `cs 0009 00000000/ff7fffff d1`.
    public static func lines(_ m: Model, compact: Bool = false) -> [[(text: String, style: Style)]] {
        let cpu = m.session.machine.cpu
        let underMonitor = m.session.technique != "native"
        let v = m.session.monitor.vcpu
        let cur = m.current, prev = m.previous
        var out: [[(String, Style)]] = []
        func add(_ x: (String, Style)) { out.append([x]) }
        func mark(_ changed: Bool) -> Style { changed ? Style(.changed, bold: true) : .plain }
        let x = compact ? "" : "0x"   // compact: no 0x, so that 30 columns hold two registers

        // Two general registers a line; each highlighted on its own when it changed.
        for i in stride(from: 0, to: 8, by: 2) {
            out.append([(pad(Reg.names32[i], 4) + x + hex8(cur.gpr[i]) + "  ", mark(cur.gpr[i] != prev.gpr[i])),
                        (pad(Reg.names32[i + 1], 4) + x + hex8(cur.gpr[i + 1]), mark(cur.gpr[i + 1] != prev.gpr[i + 1]))])
        }
        // Under `bt` the CPU runs the translation: the guest's EIP is where that came from.
        let guestEIP = m.session.linearEIP &- cpu.segs[Seg.cs].base
        add(("eip " + "0x" + hex8(guestEIP) + (m.session.symbols.label(m.session.linearEIP).map { " <\($0)>" } ?? ""),
                    mark(cur.eip != prev.eip)))
        if guestEIP != cur.eip {
            add(("    real 0x" + hex8(cur.eip) + " (translation cache)", Style(.mismatch)))
        }
        // EFLAGS: the guest sees its own IF and IOPL under a monitor.
        var guestFlags = cur.eflags
        if underMonitor {
            guestFlags = (guestFlags & ~(EFLAGS.if | EFLAGS.iopl)) | (v.interruptsEnabled ? EFLAGS.if : 0) | (UInt32(v.iopl) << 12)
        }
        add(("efl 0x" + hex8(guestFlags) + " " + flagsText(guestFlags), mark(cur.eflags != prev.eflags)))
        if guestFlags != cur.eflags {
            add(("    real 0x" + hex8(cur.eflags) + " " + flagsText(cur.eflags), Style(.mismatch)))
        }
        for i in 0..<6 {
            let s = cpu.segs[i]
            let text = compact ? pad(Seg.names[i], 3) + hex4(s.selector) + " " + hex8(s.base) + "/" + hex8(s.limit) + " d\(s.dpl)"
                               : pad(Seg.names[i], 4) + hex4(s.selector) + " base " + hex8(s.base) + " lim " + hex8(s.limit) + " dpl \(s.dpl)"
            add((text,
                        mark(cur.segs[i] != prev.segs[i])))
        }
        let guestCR = [v.cr0, v.cr2, v.cr3, v.cr4]
        for (i, name) in ["cr0", "cr2", "cr3", "cr4"].enumerated() {
            let real = cur.cr[i]
            let shown = underMonitor ? guestCR[i] : real
            var t = pad(name, 4) + x + hex8(shown)
            if underMonitor && shown != real { t += (compact ? " real " : "  real 0x") + hex8(real) }
            add((t, underMonitor && shown != real ? Style(.mismatch, bold: real != prev.cr[i])
                                                          : mark(real != prev.cr[i])))
        }
        if underMonitor {
            add(("cpl \(v.cpl)" + (v.cpl != cpu.cpl ? "  real \(cpu.cpl)" : ""), v.cpl != cpu.cpl ? Style(.mismatch) : .plain))
        }
        return out
    }

    public static func render(_ m: Model, into c: inout Canvas, _ rect: Rect, focused: Bool = false) {
        c.box(rect, title: title, focused: focused)
        let inner = rect.inner
        let all = lines(m, compact: inner.width < 41)
        let skip = min(m.scrollOffset[.registers] ?? 0, max(0, all.count - inner.height))
        for (i, l) in all.dropFirst(skip).prefix(inner.height).enumerated() {
            var col = 0
            for span in l { col = c.put(span.text, in: inner, line: i, col: col, style: span.style) - inner.col }
        }
    }
}
