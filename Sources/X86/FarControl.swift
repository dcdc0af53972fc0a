// Far JMP, CALL and RET in protected mode (SDM JMP, CALL, RET pseudo-code;
// Vol. 3 §5.8 "Privilege level checking when transferring program
// control").  Direct transfers to code segments keep the CPL; call gates may
// raise it, switching to the inner stack from the TSS and copying
// parameters; RET far to an outer level pops SS:ESP and nulls data segments
// the outer level may not use.  Task switches stop the run as unsupported.

extension CPU {
    /// The far pointer operand: Ap immediate or Mp in memory (offset, then selector).
    func farPointer(_ i: Instr) throws(CPUException) -> (UInt16, UInt32) {
        if i.dst == .imm { return (UInt16(i.imm2), i.osize == 2 ? i.imm & 0xFFFF : i.imm) }
        let a = ea(i)
        let off = try read(Int(i.seg), a, i.osize)
        let sel = try read(Int(i.seg), i.asize16 ? (a &+ UInt32(i.osize)) & 0xFFFF : a &+ UInt32(i.osize), 2)
        return (UInt16(sel), off)
    }

    func farTransfer(_ i: Instr) throws(CPUException) {
        let (selector, offset) = try farPointer(i)
        let isCall = i.op == .callFar || i.op == .callFarIndirect
        let code = UInt32(selector & 0xFFFC)
        let rpl = UInt8(selector & 3)
        guard selector & 0xFFFC != 0 else { throw .gp(0) }
        guard let d = try descriptor(selector) else { throw .gp(code) }
        if d.isCode {
            if d.conforming { guard d.dpl <= cpl else { throw .gp(code) } }
            else { guard rpl <= cpl && d.dpl == cpl else { throw .gp(code) } }
            guard d.present else { throw .np(code) }
            guard offset <= d.limit else { throw .gp(0) }
            if isCall { try pushReturn(i.osize) }
            try loadCS(selector, d, cpl: cpl)
            nextEIP = offset
            return
        }
        let type = Int(d.type)
        if d.isSegment || ![SystemType.callGate16, SystemType.callGate32].contains(type) {
            if !d.isSegment && [SystemType.taskGate, SystemType.tss16, SystemType.tss32].contains(type) {
                stopRequest = .unsupported("far \(isCall ? "call" : "jmp") to a task gate or TSS: task switches are not modeled")
                return
            }
            throw .gp(code)
        }
        // Call gate (SDM Vol. 3 §5.8.4).
        guard d.dpl >= cpl && d.dpl >= rpl else { throw .gp(code) }
        guard d.present else { throw .np(code) }
        let targetSel = d.gateSelector
        let tcode = UInt32(targetSel & 0xFFFC)
        guard targetSel & 0xFFFC != 0 else { throw .gp(0) }
        guard let t = try descriptor(targetSel), t.isCode, t.dpl <= cpl else { throw .gp(tcode) }
        if !isCall && !t.conforming && t.dpl != cpl { throw .gp(tcode) }
        guard t.present else { throw .np(tcode) }
        let gate32 = type == SystemType.callGate32
        let target = gate32 ? d.gateOffset : d.gateOffset & 0xFFFF
        guard target <= t.limit else { throw .gp(0) }
        if !isCall || t.conforming || t.dpl == cpl {
            if isCall { try pushReturn(gate32 ? 4 : 2) }
            try loadCS(targetSel, t, cpl: cpl)
            nextEIP = target
            return
        }
        try callGateInward(gateSize: gate32 ? 4 : 2, params: d.gateParameterCount, targetSel: targetSel, target: t, offset: target)
    }

    private func pushReturn(_ size: UInt8) throws(CPUException) {
        // Check both slots before writing either, so a fault leaves the stack as it was.
        let sp = stack16 ? (regs[Reg.esp] &- 2 * UInt32(size)) & 0xFFFF : regs[Reg.esp] &- 2 * UInt32(size)
        _ = try linear(Seg.ss, sp, 2 * UInt32(size), write: true)
        try push(UInt32(segs[Seg.cs].selector), size)
        try push(nextEIP, size)
    }

    /// CALL through a gate to a more privileged level: new stack from the TSS,
    /// push old SS:ESP, copy `params` parameters, push CS:EIP (SDM CALL, "MORE-PRIVILEGE").
    private func callGateInward(gateSize: UInt8, params: UInt32, targetSel: UInt16, target: Descriptor, offset: UInt32) throws(CPUException) {
        let level = target.dpl
        let (newSS, newESP) = try stackFromTSS(level: level, ext: 0)
        let ssCache = try stackSegmentForInnerLevel(newSS, level: level, ext: 0)
        var values = [UInt32(segs[Seg.ss].selector), regs[Reg.esp]]
        // Parameters are copied from the caller's stack, deepest first.
        for k in (0..<params).reversed() {
            values.append(try peek(gateSize, at: k * UInt32(gateSize)))
        }
        values += [UInt32(segs[Seg.cs].selector), nextEIP]
        var p = newESP
        for v in values {
            p = ssCache.big ? p &- UInt32(gateSize) : (p &- UInt32(gateSize)) & 0xFFFF
            guard withinLimit(ssCache, p, UInt32(gateSize)) else { throw .ss(UInt32(newSS & 0xFFFC)) }
            try writeSlow(ssCache.base &+ p, Int(gateSize), v, user: false)
        }
        segs[Seg.ss] = ssCache
        if ssCache.big { regs[Reg.esp] = p } else { setReg(Reg.esp, size: 2, p) }
        try loadCS(targetSel, target, cpl: level)
        nextEIP = offset
    }

    /// RET far [imm16] (SDM RET, "PROTECTED-MODE" and "RETURN-TO-OUTER-PRIVILEGE-LEVEL").
    func farReturn(_ i: Instr) throws(CPUException) {
        let size = i.osize
        let extra = i.dst == .imm ? i.imm & 0xFFFF : 0
        let newEIP = try peek(size, at: 0)
        let newCS = UInt16(truncatingIfNeeded: try peek(size, at: UInt32(size)))
        let code = UInt32(newCS & 0xFFFC)
        let rpl = UInt8(newCS & 3)
        guard newCS & 0xFFFC != 0 else { throw .gp(0) }
        guard let d = try descriptor(newCS), d.isCode, rpl >= cpl else { throw .gp(code) }
        if d.conforming { guard d.dpl <= rpl else { throw .gp(code) } } else { guard d.dpl == rpl else { throw .gp(code) } }
        guard d.present else { throw .np(code) }
        let target = size == 2 ? newEIP & 0xFFFF : newEIP
        guard target <= d.limit else { throw .gp(0) }
        if rpl == cpl {
            try loadCS(newCS, d, cpl: rpl)
            adjustSP(2 * Int32(size) + Int32(extra))
        } else {
            let base = 2 * UInt32(size) + extra
            let newESP = try peek(size, at: base)
            let newSS = UInt16(truncatingIfNeeded: try peek(size, at: base + UInt32(size)))
            let ssCode = UInt32(newSS & 0xFFFC)
            guard newSS & 0xFFFC != 0 else { throw .gp(0) }
            guard let sd = try descriptor(newSS), UInt8(newSS & 3) == rpl, sd.writable, sd.dpl == rpl else { throw .gp(ssCode) }
            guard sd.present else { throw .ss(ssCode) }
            try loadCS(newCS, d, cpl: rpl)
            try markAccessed(newSS, sd)
            var c = sd.cache; c.selector = newSS; c.access |= 1
            segs[Seg.ss] = c
            let sp = (size == 2 ? newESP & 0xFFFF : newESP) &+ extra
            if c.big { regs[Reg.esp] = sp } else { setReg(Reg.esp, size: 2, sp) }
            nullInaccessibleSegments()
        }
        nextEIP = target
    }
}
