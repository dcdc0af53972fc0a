import Monitors
import PC
import X86

// Running the guest: continue, stepi, nexti, finish, until, advance.
//
// Breakpoints are the CPU's breakpoint set (cut blocks, one check per
// block); the session looks at conditions and ignore counts only when the
// CPU stops at one, and resumes past it with `resumeAddress`.
//
// Watchpoints are the CPU's watch list (X86/Watchpoints.swift): the run
// stops after an instruction that touched a watched range, and
// Watchpoints.swift decides by gdb's rules whether that reports or the run
// goes on (a `watch` whose value did not change).  A breakpoint at the
// address after the access is not passed over on the next resume: it has
// not been reported yet.
//
// stepi is one instruction or one event (Machine.run with a budget of
// one): an instruction that faults, or an interrupt taken first, stops at
// the handler's first instruction, not yet executed.  QEMU's gdbstub lands
// there too.  (On hardware, TF raises no single-step trap for a faulting
// instruction and the gate clears TF, so a debugger using it would not stop
// until the handler returns.)  Under trap, a fault the monitor handles
// itself (a hidden page fault, an emulated CLI) is not an event the guest
// sees: the step runs the instruction.
//
// Other stops need the CPU to come back right after one instruction or
// event.  The session installs intercepts only while they are needed and
// arms a *probe* from inside them: `stopRequest` ends the CPU's run after
// the current instruction or delivery, and the machine's `pendingStop =
// .interrupted` ("stopped by the debugger") makes `Machine.run` return.
//  - catch trap: the exception intercept stops *before* delivery (EIP at
//    the faulting instruction; resuming passes that one exception once).
//    INT3, INTO and INT n do not go through exception delivery, so the
//    instruction intercept (trait `.softInt`) stops before them: it
//    declares the instruction emulated without moving EIP and takes the
//    retired-instruction count back, so virtual time is unchanged.
//  - catch ring: instructions that can change CPL (far transfers, IRET,
//    INT; all carry `.endsBlock`), exception delivery and external
//    interrupts (a proxy in front of the PIC) arm the probe; the session
//    compares CPL afterwards.
//  - finish: a return (trait `.ret`) executed at the current stack depth or
//    above (ESP >= ESP at `finish`, same CPL and CR3) arms the probe, so the
//    stop is at the return address in the caller.  This needs no frame
//    pointer and no [ESP]-at-entry guess: callees return below that ESP,
//    the current function's own RET pops the return address at or above it.
//  - nexti over CALL/INT (traits `.call`, `.softInt`): an internal
//    breakpoint at the next instruction, honoured only in the same frame
//    (ESP >= ESP before, same CPL and CR3), so recursion does not stop early.

struct Frame: Equatable {
    var esp: UInt32
    var cpl: UInt8
    var cr3: UInt32
}

struct RunPlan {
    var stops: Set<UInt32> = []
    /// The internal breakpoints count only in this frame (or an outer one).
    var returnFrame: Frame?
    /// Stop after a return from this frame.
    var finish: Frame?
    var singleStep = false
}

extension Session {
    var currentFrame: Frame { Frame(esp: cpu.esp, cpl: cpu.cpl, cr3: addressSpace) }

    func frameHolds(_ f: Frame) -> Bool { cpu.esp >= f.esp && cpu.cpl == f.cpl && addressSpace == f.cr3 }

    /// The CR3 that names the guest's address space: the CPU's under native,
    /// the guest's own under a monitor (the CPU's is the shadow directory).
    var addressSpace: UInt32 { isNative ? cpu.cr3 : monitor.vcpu.cr3 }

    /// The CPL the guest believes it runs at.
    var guestCPL: UInt8 { isNative ? cpu.cpl : monitor.vcpu.cpl }

    // MARK: - Commands

    func continueCommand(_ n: Expr?) throws(CommandError) {
        try requireRunning()
        if let n {
            let count = try arithmetic(try evaluate(n)).integer
            if let b = lastStopBreakpoint.flatMap(breakpoint) {
                b.ignoreCount = max(0, Int(clamping: count) - 1)
                emit("Will ignore next \(b.ignoreCount) crossings of breakpoint \(b.number).  ")
            } else {
                line("Not stopped at any breakpoint; argument ignored.")
            }
        }
        line("Continuing.")
        report(resume(RunPlan()))
    }

    func stepCommand(_ n: Expr?, over: Bool) throws(CommandError) {
        try requireRunning()
        let count = try n.map { (x: Expr) throws(CommandError) in try arithmetic(try evaluate(x)).integer } ?? 1
        guard count > 0 else { return }
        var event: StopEvent? = nil
        for _ in 0..<count {
            var plan = RunPlan(singleStep: true)
            if over, let ins = try? instruction(at: linearEIP), let decoded = decode(at: linearEIP),
               !decoded.traits.intersection([.call, .softInt]).isEmpty {
                plan = RunPlan(stops: [linearEIP &+ UInt32(ins.length)], returnFrame: currentFrame)
            }
            let e = resume(plan)
            event = e
            if e.reason != .location { break }
        }
        if let event { report(event) }
    }

    func finishCommand() throws(CommandError) {
        try requireRunning()
        line("Run till exit from #0  " + GDBFormat.frame(linearEIP, symbols))
        report(resume(RunPlan(finish: currentFrame)))
    }

    /// `until` alone steps like nexti but runs through a backward jump (a
    /// loop) to the instruction after it; `until`/`advance LOCATION` run to
    /// LOCATION, stopping also when the current function returns.
    func untilCommand(_ loc: Expr?, advance: Bool) throws(CommandError) {
        try requireRunning()
        guard let loc else {
            let pc = linearEIP
            if let d = decode(at: pc), let target = branchTarget(d, at: pc), target <= pc {
                report(resume(RunPlan(stops: [pc &+ UInt32(d.length)], returnFrame: currentFrame, finish: currentFrame)))
            } else {
                try stepCommand(nil, over: true)
            }
            return
        }
        let a = try locationAddress(loc)
        report(resume(RunPlan(stops: [a], finish: currentFrame)))
    }

    func decode(at a: UInt32) -> Instr? {
        guard let ins = try? instruction(at: a) else { return nil }
        if case .ok(let d) = Decoder.decode(ins.bytes, code16: !cpu.segs[Seg.cs].big) { return d }
        return nil
    }

    /// The target of a relative jump (JMP, Jcc, LOOP, JECXZ), if it is one.
    func branchTarget(_ d: Instr, at a: UInt32) -> UInt32? {
        switch d.op {
        case .jmp, .jcc, .loop, .loope, .loopne, .jecxz:
            return a &+ UInt32(d.length) &+ d.imm
        default: return nil
        }
    }

    /// Adds the stop to the outputs (after the guest's serial output), then the displays.
    func report(_ e: StopEvent) {
        flushSerial()
        out.append(.stop(e))
        if let note = hooks.stopNote { hooks.stopNote = nil; line(note) }
        if case .ended = e.reason { return }
        showDisplays()
    }

    // MARK: - The run loop

    func stopEvent(_ reason: StopEvent.Reason) -> StopEvent {
        let a = linearEIP
        return StopEvent(reason: reason, address: a, function: symbols.symbolize(a)?.entry.name)
    }

    func resume(_ plan: RunPlan) -> StopEvent {
        lastStopBreakpoint = nil
        let start = cpu.instructions
        var budget: UInt64 = plan.singleStep ? 1 : (options.maxInstructions ?? .max)
        syncBreakpoints(plan.stops)
        syncWatchpoints()
        _ = cpu.takeWatchHits()
        installHooks(plan)
        defer { removeHooks() }
        if let c = lastCatch, c.address == linearEIP { hooks.skipOnce = c }
        lastCatch = nil
        let here = realEIP
        // Resuming from a breakpoint passes over it; after a watchpoint the one
        // here has not been reported, and stops at once.
        let afterWatch = stoppedAfterWatch
        if cpu.breakpoints.contains(here) && !afterWatch { cpu.resumeAddress = here }
        stoppedAfterWatch = false
        var retries = 0
        while true {
            let done = cpu.instructions &- start
            var remaining = done >= budget ? 0 : budget - done
            if remaining == 0 && plan.singleStep {
                // Under `bt` one guest instruction may be several translated ones: step to the next guest instruction.
                guard monitor.isGuestBoundary(real: realEIP) else { budget += 1; continue }
                return stepped()
            }
            if budget == .max { remaining = .max }      // Machine.run's "no limit"
            let stop = runMachine(maxInstructions: remaining)   // in slices under a RunObserver (LiveRun.swift)
            switch stop {
            case .breakpoint(let real):
                // The instruction resumed over did not retire — a monitor's hidden
                // page fault restarted it (trap, vtx with shadow paging): pass over
                // the breakpoint again instead of reporting it a second time.
                if real == here && cpu.instructions == start && retries < 8 && !afterWatch {
                    retries += 1
                    cpu.resumeAddress = real
                    continue
                }
                let a = monitor.guestLinear(ofReal: real)
                if let hit = userBreakpointHit(at: a) { return hit }
                if plan.stops.contains(a) && plan.returnFrame.map(frameHolds) != false {
                    return stopEvent(.location)
                }
                cpu.resumeAddress = real
            case .watchpoint:
                // Otherwise no watchpoint reports (a write of the same value…): run on.
                if let hit = watchpointStop() { return hit }
            case .interrupted where hooks.probeArmed:
                hooks.probeArmed = false
                if let c = hooks.pendingCatch {
                    hooks.pendingCatch = nil
                    return caught(c)
                }
                if let c = hooks.pendingEvent {
                    hooks.pendingEvent = nil
                    breakpoint(c.number)?.hitCount += 1
                    stopCounts["catchpoints", default: 0] += 1
                    hooks.stopNote = c.note
                    return stopEvent(.catchpoint(c.number, c.text))
                }
                if hooks.finishReturned { return stopEvent(.location) }
                if !hooks.ring.isEmpty && (cpu.cpl != hooks.lastCPL || guestCPL != hooks.lastGuestCPL) {
                    var text = "ring \(hooks.lastGuestCPL) -> \(guestCPL)"
                    if !isNative { text += ", real \(hooks.lastCPL) -> \(cpu.cpl)" }
                    hooks.lastCPL = cpu.cpl
                    hooks.lastGuestCPL = guestCPL
                    let b = breakpoints.first { $0.number == hooks.ring[0] }!
                    b.hitCount += 1
                    stopCounts["catchpoints", default: 0] += 1
                    return stopEvent(.catchpoint(b.number, text))
                }
            case .interrupted:
                return stopEvent(.interrupted)
            case .exception(let e):
                if let c = hooks.pendingCatch {
                    hooks.pendingCatch = nil
                    return caught(c)
                }
                return end(.exception(e))
            case .instructionLimit:
                return plan.singleStep ? stepped() : stopEvent(.limit)
            default:
                return end(stop)
            }
        }
    }

    /// After a single step: a breakpoint at the new address counts as hit, as in gdb.
    func stepped() -> StopEvent {
        stopCounts["steps", default: 0] += 1
        if let hit = userBreakpointHit(at: linearEIP) { return hit }
        return stopEvent(.location)
    }

    func caught(_ c: (number: Int, text: String, vector: UInt8)) -> StopEvent {
        lastCatch = (c.vector, linearEIP)
        breakpoint(c.number)?.hitCount += 1
        stopCounts["catchpoints", default: 0] += 1
        return stopEvent(.catchpoint(c.number, c.text))
    }

    func end(_ stop: MachineStop) -> StopEvent {
        ended = stop
        if case .debugExit(let s) = stop { variables["_exitcode"] = .int(Int64(s)) }
        return stopEvent(.ended(stop))
    }

    /// The enabled breakpoints at `a` that stop after their conditions and
    /// ignore counts (every one that is reached counts a hit, as in gdb).
    func userBreakpointHit(at a: UInt32) -> StopEvent? {
        var first: Breakpoint? = nil
        for b in breakpoints where b.enabled && b.address == a {
            if let c = b.condition {
                do {
                    if !(try arithmetic(try evaluate(c)).isTrue) { continue }
                } catch {
                    emit("Error in testing condition for breakpoint \(b.number):\n\(error.message)\n")
                }
            }
            b.hitCount += 1
            if b.ignoreCount > 0 { b.ignoreCount -= 1; continue }
            if first == nil { first = b }
        }
        guard let b = first else { return nil }
        lastStopBreakpoint = b.number
        stopCounts["breakpoints", default: 0] += 1
        let event = stopEvent(.breakpoint(b.number, temporary: b.disposition == .del))
        switch b.disposition {
        case .del: breakpoints.removeAll { $0.number == b.number }
        case .dis: b.enabled = false
        case .keep: break
        }
        return event
    }

    /// The CPU's set: enabled code breakpoints plus the run's internal ones.
    /// Assigned only when it changes (an assignment drops the decoded blocks).
    func syncBreakpoints(_ extra: Set<UInt32>) {
        var want = extra.union(externalBreakpoints)
        for b in breakpoints where b.enabled { if let a = b.address { want.insert(a) } }
        let real = monitor.realBreakpoints(want)
        if cpu.breakpoints != real { cpu.breakpoints = real }
    }
}
