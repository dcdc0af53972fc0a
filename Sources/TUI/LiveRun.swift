import Debugger
import PC
#if canImport(Glibc)
import Glibc
#endif

// The screen stays live while the guest runs.  The session runs a command
// in slices of instructions and calls `LiveView.betweenSlices` after each
// (Debugger/LiveRun.swift) — on the main thread, inside the command, so the
// TUI needs no second thread and the guest no locks.  Between slices the TUI
// hands typed serial bytes to the UART, and every `interval` of wall time it
// reads keys (readline edits on, F6 or a Ctrl-D asks to stop, view keys
// act), takes the guest's serial output, measures MIPS and redraws.
//
// Wall time only decides when to *look*; where slices end is a matter of
// instruction counts, so the guest runs exactly as it would in one go.
// Ctrl-C needs no polling: SIGINT sets Machine.interruptRequested, which the
// machine checks itself.

/// Between slices of a running command.
final class LiveView: RunObserver {
    /// F6 asked the guest to stop.
    var stopRequested = false
    /// Redraws at least this often (seconds): 20 a second.
    static let interval = 0.05
    var lastLook = 0.0
    var lastInstructions: UInt64 = 0
    /// The registers at the stop the run started from (changes are shown against them).
    var start: RegisterSnapshot?

    func betweenSlices(_ session: Session) -> Bool {
        // The session is the app's own (TUIApp.model.session); it is not passed across.
        MainActor.assumeIsolated { TUIApp.current?.liveTick() ?? true }
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

extension TUIApp {
    /// One look between slices; false stops the guest.
    func liveTick() -> Bool {
        let session = model.session, cpu = session.machine.cpu
        let now = LiveView.now()
        if !model.running {
            // The first look of this command (Model.run clears `running` when it returns).
            live.stopRequested = false
            live.start = model.current
            live.lastLook = now
            live.lastInstructions = cpu.instructions
            model.running = true
        }
        feedSerial()
        if now - live.lastLook >= LiveView.interval {
            model.mips = Double(cpu.instructions &- live.lastInstructions) / (now - live.lastLook) / 1e6
            live.lastLook = now
            live.lastInstructions = cpu.instructions
            model.appendSerial(session.takeSerialOutput())
            model.previous = live.start ?? model.previous
            model.current = RegisterSnapshot(cpu)
            while !leaving, let k = term.key() { handleKey(k) }
            draw()
        }
        return !live.stopRequested && !leaving
    }
}
