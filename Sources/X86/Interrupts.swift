// Interrupt and exception delivery in protected mode (SDM Vol. 3 ch. 6):
// IDT gates, the privilege checks, the stack switch through the TSS, the
// frame of §6.12.1, double faults and shutdown, and IRET.
//
// Frame pushed by a 32-bit gate (each slot 4 bytes, higher addresses first):
//   to an inner level:  SS, ESP, EFLAGS, CS, EIP, [error code]
//   same level:                  EFLAGS, CS, EIP, [error code]

public enum Event: Sendable, Equatable {
    /// A fault raised by an instruction: EIP still points at it.
    case exception(CPUException)
    /// An external interrupt from the PIC.
    case external(UInt8)
}

/// What an exception intercept decided.
public enum InterceptAction: Sendable, Equatable {
    /// Deliver through the guest's IDT as the CPU would.
    case deliver
    /// The monitor dealt with it: resume at the (possibly changed) EIP.
    case handled
    /// Stop the run with this reason.
    case stop(StopReason)
    /// Deliver this exception instead (a monitor reflecting the fault the
    /// guest's own tables would give, with the guest's error code).
    case reflect(CPUException)
}

extension CPU {
    /// Delivers an event at an instruction boundary; returns a stop reason
    /// when the CPU shuts down or an intercept asks to stop.
    func deliver(event: Event) -> StopReason? {
        var vector: UInt8, code: UInt32?, external: Bool
        switch event {
        case .exception(let e): (vector, code, external) = (e.vector, e.errorCode, false)
        case .external(let v): (vector, code, external) = (v, nil, true)
        }
        if case .exception(let e) = event {
            if let hook = exceptionIntercept {
                switch hook(self, e) {
                case .deliver: break
                case .handled: return nil
                case .stop(let r): return r
                case .reflect(let other): (vector, code) = (other.vector, other.errorCode)
                }
            } else if stopOnException {
                return .exception(e)
            }
            exceptionCounts[Int(e.vector)] &+= 1
        }
        var first: UInt8? = nil
        var retries = 0
        while true {
            do {
                // Every event delivered here is external to the program — an
                // interrupt or an earlier exception — so errors raised while
                // delivering it carry EXT = 1 (SDM Vol. 3 §6.13).  Only INT n,
                // INT3 and INTO (ExecSystem) deliver with EXT = 0.
                try interrupt(vector, errorCode: code, returnEIP: eip, software: false, external: true)
                deliveries &+= 1
                return stopRequest
            } catch {
                var error = error
                // A monitor sees faults raised while delivering, too: a hidden page
                // fault on the handler's stack is its to fix, and delivery is retried.
                if let hook = exceptionIntercept, retries < 16 {
                    retries += 1
                    switch hook(self, error) {
                    case .handled: continue
                    case .stop(let r): return r
                    case .reflect(let other): error = other
                    case .deliver: break
                    }
                }
                // An exception while delivering another (SDM Vol. 3 Table 6-5).
                let second = error.vector
                if vector == Vector.df { return .tripleFault }
                let contributoryPair = Vector.isContributory(vector) && Vector.isContributory(second)
                let afterPF = vector == Vector.pf && (Vector.isContributory(second) || second == Vector.pf)
                if first == nil { first = vector }
                exceptionCounts[Int(second)] &+= 1
                // An external interrupt is benign: a fault while delivering it is handled serially.
                if (contributoryPair || afterPF) && !external {
                    (vector, code) = (Vector.df, 0)
                } else {
                    (vector, code) = (second, error.errorCode)
                }
                external = false
            }
        }
    }

    /// Transfers control through IDT entry `vector` (SDM Vol. 3 §6.12.1).
    /// `software` applies the gate-DPL check of INT n/INT3/INTO; `external`
    /// sets the EXT bit of error codes raised on the way.
    func interrupt(_ vector: UInt8, errorCode: UInt32?, returnEIP: UInt32, software: Bool, external: Bool = false) throws(CPUException) {
        let ext: UInt32 = external ? 1 : 0
        let idtCode = UInt32(vector) * 8 + 2 + ext
        guard UInt32(vector) * 8 + 7 <= UInt32(idtr.limit) else { throw .gp(idtCode) }
        let gate = Descriptor(lo: try readSlow(idtr.base &+ UInt32(vector) * 8, 4, user: false),
                              hi: try readSlow(idtr.base &+ UInt32(vector) * 8 + 4, 4, user: false))
        let type = Int(gate.type)
        guard !gate.isSegment, [SystemType.taskGate, SystemType.intGate16, SystemType.trapGate16,
                                SystemType.intGate32, SystemType.trapGate32].contains(type) else { throw .gp(idtCode) }
        if software && gate.dpl < cpl { throw .gp(idtCode) }
        guard gate.present else { throw .np(idtCode) }
        if type == SystemType.taskGate {
            stopRequest = .unsupported("task gate in IDT entry \(vector): task switches are not modeled")
            return
        }
        let selector = gate.gateSelector
        guard selector & 0xFFFC != 0 else { throw .gp(ext) }
        let selCode = UInt32(selector & 0xFFFC) + ext
        guard let target = try descriptor(selector), target.isCode else { throw .gp(selCode) }
        guard target.dpl <= cpl else { throw .gp(selCode) }
        guard target.present else { throw .np(selCode) }
        let gate32 = type == SystemType.intGate32 || type == SystemType.trapGate32
        let slot: UInt32 = gate32 ? 4 : 2
        let offset = gate32 ? gate.gateOffset : gate.gateOffset & 0xFFFF
        guard offset <= target.limit else { throw .gp(ext) }
        let oldFlags = eflags
        let oldCS = UInt32(segs[Seg.cs].selector)
        let newCPL = target.conforming ? cpl : target.dpl

        var frame: [UInt32] = []
        var ssCache = segs[Seg.ss]
        var sp: UInt32
        if newCPL < cpl {
            // Inner level: new SS:ESP from the TSS (SDM Vol. 3 §6.12.1, §7.2.1).
            let (newSS, newESP) = try stackFromTSS(level: newCPL, ext: ext)
            ssCache = try stackSegmentForInnerLevel(newSS, level: newCPL, ext: ext)
            frame = [UInt32(segs[Seg.ss].selector), regs[Reg.esp]]
            sp = newESP
        } else {
            sp = regs[Reg.esp]
        }
        frame += [oldFlags, oldCS, returnEIP]
        if let errorCode { frame.append(errorCode) }
        // Write the whole frame before committing any state, so a fault here leaves the CPU as it was.
        let big = ssCache.big
        var p = sp
        for v in frame {
            p = big ? p &- slot : (p &- slot) & 0xFFFF
            guard withinLimit(ssCache, p, slot) else { throw .ss(newCPL < cpl ? UInt32(ssCache.selector & 0xFFFC) + ext : ext) }
            // The pushes are made at the new CPL: user-mode accesses when a
            // same-level delivery stays at CPL 3 (SDM Vol. 3 §4.6; only the IDT,
            // GDT/LDT and TSS reads are implicit supervisor accesses).
            try writeSlow(ssCache.base &+ p, Int(slot), v, user: newCPL == 3)
        }
        if newCPL < cpl { segs[Seg.ss] = ssCache }
        if big { regs[Reg.esp] = p } else { setReg(Reg.esp, size: 2, p) }
        try loadCS(selector, target, cpl: newCPL)
        eip = offset
        nextEIP = offset
        // TF, NT, RF and VM are cleared; an interrupt gate also clears IF (SDM Vol. 3 §6.12.1.2).
        var f = oldFlags & ~(EFLAGS.tf | EFLAGS.nt | EFLAGS.rf | EFLAGS.vm)
        if type == SystemType.intGate32 || type == SystemType.intGate16 { f &= ~EFLAGS.if }
        setEFLAGS(f)
        halted = false
    }

    /// SSn:ESPn for privilege level `level` from the current TSS (SDM Vol. 3
    /// §6.12.1 and INT n: "IF current TSS is 32-bit ... ELSE (* TSS is 16-bit *)").
    func stackFromTSS(level: UInt8, ext: UInt32) throws(CPUException) -> (UInt16, UInt32) {
        let type = Int(tr.access & 0xF)
        if type == SystemType.tss16 || type == SystemType.tss16Busy {
            // 16-bit TSS (Figure 7-11): SPn at 2 + 4n, SSn at 4 + 4n.
            let offset = 2 + UInt32(level) * 4
            guard tr.usable, offset + 3 <= tr.limit else { throw .ts(UInt32(tr.selector & 0xFFFC) + ext) }
            let sp = try readSlow(tr.base &+ offset, 2, user: false)
            let ss = UInt16(try readSlow(tr.base &+ offset + 2, 2, user: false))
            return (ss, sp)
        }
        let offset = 4 + UInt32(level) * 8
        guard tr.usable, offset + 5 <= tr.limit else { throw .ts(UInt32(tr.selector & 0xFFFC) + ext) }
        let esp = try readSlow(tr.base &+ offset, 4, user: false)
        let ss = UInt16(try readSlow(tr.base &+ offset + 4, 2, user: false))
        return (ss, esp)
    }

    /// Checks the SS a stack switch loads (SDM Vol. 3 §6.12.1, "#TS" conditions).
    func stackSegmentForInnerLevel(_ ss: UInt16, level: UInt8, ext: UInt32) throws(CPUException) -> SegmentCache {
        let code = UInt32(ss & 0xFFFC) + ext
        guard ss & 0xFFFC != 0 else { throw .ts(ext) }
        guard let d = try descriptor(ss) else { throw .ts(code) }
        guard UInt8(ss & 3) == level, d.dpl == level, d.writable else { throw .ts(code) }
        guard d.present else { throw .ss(code) }
        try markAccessed(ss, d)
        var c = d.cache; c.selector = ss; c.access |= 1
        return c
    }

    /// IRET in protected mode (SDM IRET pseudo-code, "PROTECTED-MODE" and
    /// "RETURN-TO-OUTER-PRIVILEGE-LEVEL").  EFLAGS follow the POPF rules of the
    /// level IRET runs at: IOPL changes only at CPL 0, IF only at CPL <= IOPL.
    func iret(_ size: UInt8) throws(CPUException) {
        if flagBits & EFLAGS.nt != 0 {
            stopRequest = .unsupported("IRET with EFLAGS.NT = 1 (task return): task switches are not modeled")
            return
        }
        let newEIP = try peek(size, at: 0)
        let newCS = UInt16(truncatingIfNeeded: try peek(size, at: UInt32(size)))
        let newFlags = try peek(size, at: 2 * UInt32(size))
        if size == 4 && cpl == 0 && newFlags & EFLAGS.vm != 0 {
            stopRequest = .unsupported("IRET to virtual-8086 mode is not modeled")
            return
        }
        let rpl = UInt8(newCS & 3)
        let code = UInt32(newCS & 0xFFFC)
        guard newCS & 0xFFFC != 0 else { throw .gp(0) }
        guard let d = try descriptor(newCS), d.isCode, rpl >= cpl else { throw .gp(code) }
        if d.conforming { guard d.dpl <= rpl else { throw .gp(code) } } else { guard d.dpl == rpl else { throw .gp(code) } }
        guard d.present else { throw .np(code) }
        let target = size == 2 ? newEIP & 0xFFFF : newEIP
        if rpl == cpl {
            guard target <= d.limit else { throw .gp(0) }
            try loadCS(newCS, d, cpl: rpl)
            loadFlags(newFlags, size: size)
            adjustSP(3 * Int32(size))
        } else {
            let newESP = try peek(size, at: 3 * UInt32(size))
            let newSS = UInt16(truncatingIfNeeded: try peek(size, at: 4 * UInt32(size)))
            let ssCode = UInt32(newSS & 0xFFFC)
            guard newSS & 0xFFFC != 0 else { throw .gp(0) }
            guard let sd = try descriptor(newSS), UInt8(newSS & 3) == rpl, sd.writable, sd.dpl == rpl else { throw .gp(ssCode) }
            guard sd.present else { throw .ss(ssCode) }
            guard target <= d.limit else { throw .gp(0) }
            loadFlags(newFlags, size: size)          // with the old CPL's rules
            try loadCS(newCS, d, cpl: rpl)
            try markAccessed(newSS, sd)
            var c = sd.cache; c.selector = newSS; c.access |= 1
            segs[Seg.ss] = c
            if size == 2 { setReg(Reg.esp, size: 2, newESP) } else { regs[Reg.esp] = newESP }
            nullInaccessibleSegments()
        }
        nextEIP = target
    }
}
