import Debugger
import TUI

// The TUI's step-and-redraw at 200x60 (issue 8: under 10 ms), on the
// minikernel under `trap` after 20 000 instructions, when paging, the
// scheduler and the trap log are all busy.  Prints figures; never fails.

@MainActor
func measureRedraw(guest: String = "demos/build/minikernel.elf", technique: String = "trap") {
    var options = SessionOptions()
    options.technique = technique
    let session: Session
    do { session = try Session(guestPath: guest, options: options) } catch {
        print("step-and-redraw: \(guest): \(error) (skipped)")
        return
    }
    _ = session.execute("stepi 20000")
    let samples = RedrawBench.measure(session: session, rows: 60, cols: 200, steps: 200)
    func ms(_ v: Double) -> String { String(Double(Int(v * 1000)) / 1000) + " ms" }
    func summary(_ values: [Double]) -> String {
        let v = values.sorted()
        return "mean \(ms(v.reduce(0, +) / Double(v.count)))  median \(ms(v[v.count / 2]))  "
            + "p95 \(ms(v[v.count * 95 / 100]))  max \(ms(v.last!))"
    }
    print("step-and-redraw 200x60 (\(guest), \(technique), \(samples.count) steps): " + summary(samples.map(\.total)))
    print("  of which the step \(summary(samples.map(\.step)))")
    print("  the render         \(summary(samples.map(\.render)))")
    print("  the ncurses blit   \(summary(samples.map(\.blit)))")
}
