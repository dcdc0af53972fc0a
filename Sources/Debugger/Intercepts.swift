import Monitors
import PC
import X86

// The intercepts a run installs while it needs them, and the probe they arm
// (RunControl.swift explains the mechanism).  Installed hooks chain to
// whatever a monitor had installed before and are removed after the run, so
// a plain `continue` runs with no hook at all.

struct HookState {
    var traps: [(number: Int, vector: UInt8?)] = []
    var ring: [Int] = []
    var finish: Frame?
    var probeArmed = false
    var finishReturned = false
    var pendingCatch: (number: Int, text: String, vector: UInt8)?
    var skipOnce: (vector: UInt8, address: UInt32)?
    var lastCPL: UInt8 = 0
    var lastGuestCPL: UInt8 = 0
    /// Catchpoints on trap-log events (`catch silent|hypercall|exit`) and the
    /// one that fired (the probe stops right after the event).
    var events: [(number: Int, kind: Breakpoint.Kind)] = []
    var pendingEvent: (number: Int, text: String, note: String?)?
    var savedObserver: ((TrapEvent) -> Void)?
    var observing = false
    /// A line shown after the stop (what a silent instruction did).
    var stopNote: String?
    var savedException: ((CPU, CPUException) -> InterceptAction)?
    var savedInstruction: ((CPU, Instr) throws(CPUException) -> Bool)?
    var savedTraits: Traits = []
    var savedInterrupts: InterruptSource?
    var installed = false
}

/// Forwards the PIC and arms the ring probe when an interrupt is taken.
final class InterruptProxy: InterruptSource {
    let source: InterruptSource
    unowned let session: Session
    init(_ source: InterruptSource, _ session: Session) { self.source = source; self.session = session }
    var interruptPending: Bool { source.interruptPending }
    func acknowledgeInterrupt() -> UInt8 {
        session.armProbe()
        return source.acknowledgeInterrupt()
    }
}

extension Session {
    func installHooks(_ plan: RunPlan) {
        hooks.traps = breakpoints.compactMap { b in
            guard b.enabled, case .trap(let v) = b.kind else { return nil }
            return (b.number, v)
        }
        hooks.ring = breakpoints.filter { $0.enabled && $0.kind == .ring }.map(\.number)
        hooks.finish = plan.finish
        hooks.finishReturned = false
        hooks.probeArmed = false
        hooks.pendingCatch = nil
        hooks.skipOnce = nil
        hooks.lastCPL = cpu.cpl
        hooks.lastGuestCPL = guestCPL
        hooks.pendingEvent = nil
        hooks.events = breakpoints.compactMap { b in
            switch b.kind {
            case .silent, .hypercall, .exit: return b.enabled ? (b.number, b.kind) : nil
            default: return nil
            }
        }
        if !hooks.events.isEmpty {
            hooks.observing = true
            hooks.savedObserver = vm.log.observer
            let saved = hooks.savedObserver
            vm.log.observer = { [unowned self] e in
                saved?(e)
                self.onEvent(e)
            }
        }
        var traits: Traits = []
        if !hooks.traps.isEmpty { traits.insert(.softInt) }
        if !hooks.ring.isEmpty { traits.insert(.endsBlock) }
        if plan.finish != nil { traits.insert(.ret) }
        let wantException = !hooks.traps.isEmpty || !hooks.ring.isEmpty
        guard wantException || !traits.isEmpty else { return }
        hooks.installed = true
        hooks.savedException = cpu.exceptionIntercept
        hooks.savedInstruction = cpu.instructionIntercept
        hooks.savedTraits = cpu.interceptTraits
        hooks.savedInterrupts = cpu.interrupts
        if wantException {
            cpu.exceptionIntercept = { [unowned self] c, e in self.onException(c, e) }
        }
        if !traits.isEmpty {
            cpu.instructionIntercept = { [unowned self] (c: CPU, i: Instr) throws(CPUException) -> Bool in try self.onInstruction(c, i) }
            cpu.interceptTraits = hooks.savedTraits.union(traits)
        }
        if !hooks.ring.isEmpty, let pic = cpu.interrupts {
            let proxy = InterruptProxy(pic, self)
            interruptProxy = proxy
            cpu.interrupts = proxy
        }
    }

    func removeHooks() {
        if hooks.probeArmed || machine.pendingStop == .interrupted {
            if machine.pendingStop == .interrupted { machine.pendingStop = nil }
            hooks.probeArmed = false
        }
        if hooks.observing {
            vm.log.observer = hooks.savedObserver
            hooks.savedObserver = nil
            hooks.observing = false
        }
        guard hooks.installed else { return }
        hooks.installed = false
        cpu.exceptionIntercept = hooks.savedException
        cpu.instructionIntercept = hooks.savedInstruction
        cpu.interceptTraits = hooks.savedTraits
        cpu.interrupts = hooks.savedInterrupts
        interruptProxy = nil
        hooks.savedException = nil
        hooks.savedInstruction = nil
        hooks.savedInterrupts = nil
    }

    /// Ends the CPU's run right after the current instruction or event.
    func armProbe() {
        hooks.probeArmed = true
        cpu.stopRequest = .requested
        if machine.pendingStop == nil { machine.pendingStop = .interrupted }
    }

    /// A trap-log event: stop right after it when a catchpoint wants it.
    func onEvent(_ e: TrapEvent) {
        guard hooks.pendingEvent == nil else { return }
        for c in hooks.events {
            var text: String
            switch (c.kind, e.kind) {
            case (.silent, .silent):
                text = "silent " + e.instruction
            case (.hypercall(let n), .hypercall):
                if let n, e.code != n { continue }
                text = "hypercall " + (e.code.map { String($0) } ?? "?")
            case (.exit(let r), .vmexit):
                // REASON: a basic exit reason's number (28) or its name or the start
                // of it (CR_ACCESS, cr, io) — never other text of the outcome (an
                // address that contains "28", the "io" inside EXCEPTION).
                let name = e.outcome.prefix { $0 != ":" }.lowercased()
                if let r, e.code.map(String.init) != r && !name.hasPrefix(r.lowercased()) { continue }
                text = "exit " + (e.code.map { String($0) } ?? "?")
            default: continue
            }
            hooks.pendingEvent = (c.number, text, e.outcome)
            armProbe()
            return
        }
    }

    func trapCatchpoint(for vector: UInt8, exception: Bool) -> Int? {
        hooks.traps.first { t in
            guard let v = t.vector else { return vector < 32 && exception }
            return v == vector
        }?.number
    }

    func onException(_ c: CPU, _ e: CPUException) -> InterceptAction {
        if let n = trapCatchpoint(for: e.vector, exception: true) {
            if let s = hooks.skipOnce, s.vector == e.vector, s.address == linearEIP {
                hooks.skipOnce = nil
            } else {
                var text = "trap " + Session.trapName(e.vector)
                if let code = e.errorCode { text += " error=0x" + String(code, radix: 16) }
                if e.vector == Vector.pf { text += " cr2=0x" + String(c.cr2, radix: 16) }
                hooks.pendingCatch = (n, text, e.vector)
                return .stop(.exception(e))
            }
        }
        if !hooks.ring.isEmpty { armProbe() }
        return hooks.savedException?(c, e) ?? .deliver
    }

    func onInstruction(_ c: CPU, _ i: Instr) throws(CPUException) -> Bool {
        if !hooks.traps.isEmpty && i.traits.contains(.softInt) {
            var vector: UInt8? = nil
            switch i.op {
            case .int3: vector = Vector.bp
            case .into: if c.eflags & EFLAGS.of != 0 { vector = Vector.of }
            default: vector = UInt8(truncatingIfNeeded: i.imm)
            }
            if let v = vector, let n = trapCatchpoint(for: v, exception: i.op != .int) {
                if let s = hooks.skipOnce, s.vector == v, s.address == linearEIP {
                    hooks.skipOnce = nil
                } else {
                    let text = "trap " + (i.op == .int ? "int 0x" + String(v, radix: 16) : Session.trapName(v))
                    hooks.pendingCatch = (n, text, v)
                    // Stop before it: "emulated" without moving EIP, and not counted as retired.
                    c.nextEIP = c.eip
                    c.instructions &-= 1
                    armProbe()
                    return true
                }
            }
        }
        if !hooks.ring.isEmpty {
            switch i.op {
            case .iret, .retFar, .int, .int3, .into, .callFar, .callFarIndirect, .jmpFar, .jmpFarIndirect: armProbe()
            default: break
            }
        }
        if let f = hooks.finish, i.traits.contains(.ret), frameHolds(f) {
            hooks.finishReturned = true
            armProbe()
        }
        if let saved = hooks.savedInstruction, i.traitBits & hooks.savedTraits.rawValue != 0 {
            return try saved(c, i)
        }
        return false
    }
}
