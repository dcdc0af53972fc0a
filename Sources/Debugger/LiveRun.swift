import PC

// Running with a live view.  A command that runs the guest (continue,
// finish, until, nexti over a call…) normally hands the machine its whole
// budget and returns at the stop.  A front end that wants to stay alive
// while the guest runs — the TUI redraws its panels, reads keys, feeds the
// serial port — installs a `RunObserver`: the run is then cut into slices
// and the observer is called between them, on the same thread.
//
// Slices end at fixed instruction counts (multiples of `liveSlice`), never
// at wall-clock moments: virtual time advances only with instructions, so
// the same commands give the same guest behaviour however fast the host is
// and however often the screen is redrawn.  (Where a slice ends the CPU
// looks for pending interrupts, as at any block boundary.)

/// Watches a running command between slices.
public protocol RunObserver: AnyObject {
    /// Called between slices, at an instruction boundary.  Return false to
    /// stop the guest there, as Ctrl-C does ("interrupted").
    func betweenSlices(_ session: Session) -> Bool
}

extension Session {
    /// Instructions per slice under an observer: about a millisecond of guest time
    /// at release-build speed, so the observer can redraw ten or more times a second.
    public static let liveSlice: UInt64 = 65_536

    /// `machine.run`, in slices when an observer watches.
    func runMachine(maxInstructions remaining: UInt64) -> MachineStop {
        guard let observer = runObserver else { return machine.run(maxInstructions: remaining) }
        var left = remaining
        while true {
            let toBoundary = Session.liveSlice - cpu.instructions % Session.liveSlice
            let before = cpu.instructions
            let stop = machine.run(maxInstructions: min(left, toBoundary))
            if left != .max { left -= min(left, cpu.instructions &- before) }
            guard stop == .instructionLimit, left > 0 else { return stop }
            if !observer.betweenSlices(self) { return .interrupted }
        }
    }

    /// The guest's serial output not yet handed out, for a live view during a
    /// run; bytes taken here do not appear in the command's outputs.
    public func takeSerialOutput() -> [UInt8] {
        defer { serialBuffer = [] }
        return serialBuffer
    }
}
