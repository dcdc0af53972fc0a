#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// A grouped bar chart as hand-written SVG 1.1: one group of bars per row
// (a nanobenchmark, or a guest), one bar per series (a technique), the
// value printed above each bar, a legend, and a linear or logarithmic y
// axis.  `ringside compare --chart FILE.svg` and `make nanobench` write it.
// Monitors never prints: this only builds the text; the caller writes it.
//
// Layout, in user units (the viewBox):
//
//     title, subtitle                                   legend
//   y |        ▇                                          ■ series 1
//   a |  ▇     ▇ ▇                                        ■ series 2
//   x |  ▇ ▇   ▇ ▇ —                                      …
//     +----------------------------------
//        group 1   group 2   …

public struct BarChart: Sendable {
    public var title: String
    public var subtitle: String
    /// The y axis' caption ("modeled cycles per operation").
    public var yLabel: String
    public var groups: [String]
    public var series: [String]
    /// values[group][series]; nil is drawn as `missing` (a technique not available, a failed run).
    public var values: [[Double?]]
    /// Decades instead of a linear scale (for values that span orders of magnitude).
    public var logarithmic: Bool
    public var missing = "—"

    public init(title: String, subtitle: String = "", yLabel: String, groups: [String], series: [String],
                values: [[Double?]], logarithmic: Bool? = nil) {
        self.title = title; self.subtitle = subtitle; self.yLabel = yLabel
        self.groups = groups; self.series = series; self.values = values
        let present = values.flatMap { $0 }.compactMap { $0 }.filter { $0 > 0 }
        let spread = (present.max() ?? 1) / max(present.min() ?? 1, 1)
        self.logarithmic = logarithmic ?? (spread > 100)
    }

    /// Fill colours, one per series (cycled); readable on white and in grey print.
    static let palette = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#b07aa1", "#9c755f", "#edc948"]

    // ---- Geometry ----

    struct Frame { var left: Double, top: Double, width: Double, height: Double }

    /// The top of the y axis: a power of ten (log), or a "nice" round number (linear).
    var axisMaximum: Double {
        let m = max(values.flatMap { $0 }.compactMap { $0 }.max() ?? 1, 1)
        if logarithmic { return pow(10, ceil(log10(m))) }
        let step = niceStep(m / 5)
        return ceil(m / step) * step
    }

    func niceStep(_ raw: Double) -> Double {
        let p = pow(10, floor(log10(max(raw, 1e-9))))
        for f in [1.0, 2, 2.5, 5, 10] where f * p >= raw { return f * p }
        return 10 * p
    }

    /// The tick values of the y axis.
    var ticks: [Double] {
        let top = axisMaximum
        if logarithmic { return (0...Int(log10(top))).map { pow(10, Double($0)) } }
        let step = niceStep(top / 5)
        return stride(from: 0, through: top, by: step).map { $0 }
    }

    /// Height of a value above the axis, 0...1.
    func fraction(_ v: Double) -> Double {
        let top = axisMaximum
        if logarithmic { return v <= 1 ? 0 : min(1, log10(v) / log10(top)) }
        return min(1, max(0, v / top))
    }

    // ---- Drawing ----

    public func svg(width: Int = 960, height: Int = 520) -> String {
        let legendWidth = 30.0 + 7.0 * Double(series.map(\.count).max() ?? 0)
        let plot = Frame(left: 78, top: subtitle.isEmpty ? 56 : 74,
                         width: Double(width) - 78 - legendWidth - 30, height: Double(height) - (subtitle.isEmpty ? 56 : 74) - 56)
        var s = """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)" font-family="Helvetica, Arial, sans-serif">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(width / 2)" y="28" text-anchor="middle" font-size="18" font-weight="bold">\(Self.escape(title))</text>

            """
        if !subtitle.isEmpty {
            s += "<text x=\"\(width / 2)\" y=\"50\" text-anchor=\"middle\" font-size=\"12\" fill=\"#555\">\(Self.escape(subtitle))</text>\n"
        }
        s += axes(plot)
        s += bars(plot)
        s += legend(x: plot.left + plot.width + 20, y: plot.top)
        return s + "</svg>\n"
    }

    func axes(_ f: Frame) -> String {
        var s = "<g font-size=\"11\" fill=\"#333\">\n"
        for t in ticks {
            let y = f.top + f.height * (1 - fraction(t))
            s += "<line x1=\"\(r(f.left))\" y1=\"\(r(y))\" x2=\"\(r(f.left + f.width))\" y2=\"\(r(y))\" stroke=\"#ddd\"/>\n"
            s += "<text x=\"\(r(f.left - 6))\" y=\"\(r(y + 4))\" text-anchor=\"end\">\(Self.number(t))</text>\n"
        }
        s += "<line x1=\"\(r(f.left))\" y1=\"\(r(f.top))\" x2=\"\(r(f.left))\" y2=\"\(r(f.top + f.height))\" stroke=\"#333\"/>\n"
        s += "<line x1=\"\(r(f.left))\" y1=\"\(r(f.top + f.height))\" x2=\"\(r(f.left + f.width))\" y2=\"\(r(f.top + f.height))\" stroke=\"#333\"/>\n"
        let label = yLabel + (logarithmic ? " (log scale)" : "")
        let mid = f.top + f.height / 2
        s += "<text x=\"18\" y=\"\(r(mid))\" text-anchor=\"middle\" transform=\"rotate(-90 18 \(r(mid)))\">\(Self.escape(label))</text>\n"
        return s + "</g>\n"
    }

    func bars(_ f: Frame) -> String {
        guard !groups.isEmpty, !series.isEmpty else { return "" }
        let groupWidth = f.width / Double(groups.count)
        let barWidth = groupWidth * 0.8 / Double(series.count)
        let base = f.top + f.height
        var s = "<g font-size=\"10\">\n"
        for (g, name) in groups.enumerated() {
            let x0 = f.left + groupWidth * Double(g) + groupWidth * 0.1
            for k in series.indices {
                let x = x0 + barWidth * Double(k)
                let cx = x + barWidth / 2
                guard g < values.count, k < values[g].count, let v = values[g][k] else {
                    s += "<text x=\"\(r(cx))\" y=\"\(r(base - 4))\" text-anchor=\"middle\" fill=\"#888\">\(Self.escape(missing))</text>\n"
                    continue
                }
                let h = f.height * fraction(v)
                let color = Self.palette[k % Self.palette.count]
                s += "<rect x=\"\(r(x + 1))\" y=\"\(r(base - h))\" width=\"\(r(max(barWidth - 2, 1)))\" height=\"\(r(h))\" fill=\"\(color)\">"
                s += "<title>\(Self.escape("\(name), \(series[k]): \(Self.number(v))"))</title></rect>\n"
                let ty = base - h - 4
                s += "<text x=\"\(r(cx + 3))\" y=\"\(r(ty))\" transform=\"rotate(-90 \(r(cx + 3)) \(r(ty)))\" fill=\"#222\">\(Self.number(v))</text>\n"
            }
            s += "<text x=\"\(r(f.left + groupWidth * (Double(g) + 0.5)))\" y=\"\(r(base + 20))\" text-anchor=\"middle\" font-size=\"13\">\(Self.escape(name))</text>\n"
        }
        return s + "</g>\n"
    }

    func legend(x: Double, y: Double) -> String {
        var s = "<g font-size=\"12\">\n"
        for (k, name) in series.enumerated() {
            let yy = y + 20 * Double(k)
            s += "<rect x=\"\(r(x))\" y=\"\(r(yy))\" width=\"12\" height=\"12\" fill=\"\(Self.palette[k % Self.palette.count])\"/>\n"
            s += "<text x=\"\(r(x + 18))\" y=\"\(r(yy + 10))\">\(Self.escape(name))</text>\n"
        }
        return s + "</g>\n"
    }

    // ---- Text ----

    /// One decimal at most, no trailing ".0"; thousands unseparated (SVG text stays plain).
    public static func number(_ v: Double) -> String {
        let tenths = Int64((v * 10).rounded())
        let sign = tenths < 0 ? "-" : "", a = abs(tenths)
        return a % 10 == 0 ? "\(sign)\(a / 10)" : "\(sign)\(a / 10).\(a % 10)"
    }

    /// A coordinate with one decimal.
    func r(_ v: Double) -> String {
        let tenths = Int64((v * 10).rounded())
        let sign = tenths < 0 ? "-" : "", a = abs(tenths)
        return "\(sign)\(a / 10).\(a % 10)"
    }

    static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }
}
