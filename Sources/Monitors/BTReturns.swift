import X86

// Returns without entering the monitor (Adams & Agesen §3.2 on the cost of
// indirect control flow; VMware's return-target lookup).  A guest RET pops
// a *guest* address, which is not where its translation is.  Translated:
//
//     push ecx                          ; a scratch register
//     movzx ecx, word [esp+4]           ; low 16 bits of the return address
//     jmp dword [cs:ecx*4+TABLE]        ; 64 Ki slots in monitor memory
//
// A slot holds the landing pad of the last return address seen with those
// low bits, or the miss routine.  A landing pad checks the whole address —
// with LEA and JECXZ, which leave EFLAGS alone, since a RET must not
// change them — and finishes the return:
//
//     mov ecx, [esp+4]
//     lea ecx, [ecx-G]                  ; zero exactly when the address is G
//     jecxz hit
//     jmp MISS                          ; another address with the same low bits
// hit:
//     pop ecx
//     lea esp, [esp+4]                  ; the return address, popped
//     jmp T(G)                          ; chained to G's translation
//
// The miss routine is a callout: it finishes the RET, translates the target,
// makes its landing pad and fills the slot.  Between `push ecx` and the last
// LEA the CPU's state is not the guest's; an interrupt or fault there is
// resolved by the fixups of BTCache.swift (restore ECX and either stay at
// the RET or complete it) before the guest sees a frame.

extension BTMonitor {
    static let returnSlots = 65536
    static let returnMissVector: UInt8 = 0xF2
    var returnTableLinear: UInt32 { MonitorLayout.linear(ofHost: MonitorLayout.returnTable) }

    /// After a boot or a flush: one miss routine, and every slot points at it.
    func resetReturnTable() {
        missStub = cache.emit([0xCD, Self.returnMissVector], guestBefore: 0, fixup: .savedAfterReturn)
        cache.addCallout(.returnMiss, at: missStub)
        landings.removeAll()
        padsFallingInto.removeAll()
        for i in 0..<UInt32(Self.returnSlots) { cpu.writePhysical(MonitorLayout.returnTable &+ i * 4, 4, missStub) }
    }

    /// A RET at guest address `g`, translated to the three-instruction lookup.
    func inlineReturn(at g: UInt32, original: String) -> TCRow {
        let push: [UInt8] = [0x51]
        let movzx: [UInt8] = [0x0F, 0xB7, 0x4C, 0x24, 0x04]
        let jump: [UInt8] = [0x2E, 0xFF, 0x24, 0x8D] + le32(returnTableLinear)
        let a = cache.emit(push, guestBefore: g)
        cache.setEntry(g, a)
        let b = cache.emit(movzx, guestBefore: g, fixup: .savedBeforeReturn)
        let c = cache.emit(jump, guestBefore: g, fixup: .savedBeforeReturn)
        return TCRow(guest: g, original: original, rewrite: .inline,
                     reason: "return: the guest address is looked up in the return table, no monitor entry",
                     translated: [described(TCLine(address: a, text: ""), push), described(TCLine(address: b, text: ""), movzx),
                                  described(TCLine(address: c, text: ""), jump)])
    }

    /// The miss routine: finish the RET on the vCPU, then make the landing pad.
    func returnMiss() throws(CPUException) {
        let sp = cpu.segs[Seg.ss].base &+ cpu.esp
        let saved = try cpu.readSlow(sp, 4, user: false)
        let ret = try cpu.readSlow(sp &+ 4, 4, user: false)
        cpu.ecx = saved
        cpu.esp &+= 8
        let base = guestCodeSegment()?.base ?? 0
        let g = base &+ ret
        if landings[g] == nil, cache.entry[g] == nil, cache.hasRoom(2 * Self.blockRoom + 64) {
            // Not translated yet: the pad goes first and falls into the new translation.
            let pad = landingHead(for: g)
            let expected = cache.linearNext
            if case .success(let tc) = translateBlock(at: g), tc == expected {
                landings[g] = pad
                padsFallingInto[g] = pad
                cpu.writePhysical(MonitorLayout.returnTable &+ (ret & 0xFFFF) * 4, 4, pad)
                vm.log.tally(.callout, cycles: vm.cost.callout, mnemonic: "ret")
                cpu.eip = tc
                return
            }
        }
        switch translation(for: g) {
        case .success(let tc):
            let pad = landings[g] ?? landingPad(for: g)
            cpu.writePhysical(MonitorLayout.returnTable &+ (ret & 0xFFFF) * 4, 4, pad)
            vm.log.tally(.callout, cycles: vm.cost.callout, mnemonic: "ret")
            cpu.eip = tc
        case .failure(let f):
            if let cs = guestCodeSegment() { cpu.segs[Seg.cs] = cs }
            cpu.eip = ret
            cpu.cr2 = f.address
            throw CPUException(Vector.pf, f.errorCode)
        }
    }

    func landingPad(for g: UInt32) -> UInt32 {
        if !cache.hasRoom(64) { flushTranslations() }
        let pad = landingHead(for: g)
        var exits: [(site: UInt32, target: UInt32)] = []
        _ = emitJump([0xE9], to: g, before: g, exits: &exits)
        makeStubs(exits)
        landings[g] = pad
        return pad
    }

    /// The pad without its last jump: the check, the miss branch, the pops.
    func landingHead(for g: UInt32) -> UInt32 {
        let ret = g &- (guestCodeSegment()?.base ?? 0)
        let pad = cache.emit([0x8B, 0x4C, 0x24, 0x04], guestBefore: g, fixup: .savedAfterReturn)
        cache.emit([0x8D, 0x89] + le32(0 &- ret), guestBefore: g, fixup: .savedAfterReturn)
        cache.emit([0xE3, 0x05], guestBefore: g, fixup: .savedAfterReturn)
        let miss = cache.linearNext
        cache.emit([0xE9] + le32(missStub &- (miss &+ 5)), guestBefore: g, fixup: .savedAfterReturn)
        cache.emit([0x59], guestBefore: g, fixup: .savedAfterReturn)
        cache.emit([0x8D, 0x64, 0x24, 0x04], guestBefore: g, fixup: .poppedAfterReturn)
        return pad
    }

    /// Blocks dropped: a pad that falls into one of them is unusable now;
    /// its return-table slot goes back to the miss routine.
    func dropPads(into dropped: [UInt32]) {
        let base = guestCodeSegment()?.base ?? 0
        for g in dropped {
            guard let pad = padsFallingInto.removeValue(forKey: g) else { continue }
            landings[g] = nil
            let slot = MonitorLayout.returnTable &+ ((g &- base) & 0xFFFF) * 4
            if cpu.readPhysical(slot, 4) == pad { cpu.writePhysical(slot, 4, missStub) }
        }
    }
}
