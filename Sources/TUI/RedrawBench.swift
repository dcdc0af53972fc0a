import Debugger
#if canImport(Glibc)
import Glibc
#endif

// `make bench`: how long one step and its redraw take — what a user holding
// F7 waits for.  Each sample is a `stepi` through the session, the whole
// screen rendered into the canvas, and the canvas blitted by ncurses (a
// screen writing to /dev/null, Terminal.startHeadless), as the TUI does
// after every command.  A figure, not a test (issue 8 asks for under 10 ms
// at 200x60).

@MainActor
public enum RedrawBench {
    /// One sample: milliseconds for the step, the render into the canvas and the blit.
    public struct Sample: Sendable {
        public var step: Double, render: Double, blit: Double
        public var total: Double { step + render + blit }
    }

    /// One sample per step.
    public static func measure(session: Session, rows: Int, cols: Int, steps: Int) -> [Sample] {
        let model = Model(session: session)
        let term = Terminal()
        term.startHeadless(rows: rows, cols: cols)
        defer { term.stop() }
        var samples: [Sample] = []
        for _ in 0..<steps {
            let t0 = LiveView.now()
            model.run("stepi")
            let t1 = LiveView.now()
            let (canvas, cursor) = Screen.render(model, rows: rows, cols: cols)
            let t2 = LiveView.now()
            term.draw(canvas, cursor: cursor)
            let t3 = LiveView.now()
            samples.append(Sample(step: (t1 - t0) * 1000, render: (t2 - t1) * 1000, blit: (t3 - t2) * 1000))
        }
        return samples
    }
}
