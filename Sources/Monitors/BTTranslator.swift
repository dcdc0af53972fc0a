import X86

// The translator of `bt`: one guest basic block at a time, on demand, into
// the translation cache (Adams & Agesen §3.1).  Each guest instruction is
//  - IDENT: copied byte for byte (nearly all of them);
//  - BRANCH: a PC-relative JMP, Jcc, LOOP/JECXZ or CALL, redirected to the
//    translation of its target — directly when that exists (chaining), else
//    through a two-byte chaining stub that translates the target the first
//    time it runs and patches the jump to go straight there afterwards; a
//    CALL becomes PUSH of the *guest* return address plus a JMP, so the
//    guest's stack only ever holds guest addresses;
//  - INLINE: a short sequence on the vCPU with no monitor entry — MOV r, CRn
//    reads the guest's CRn from the vCPU area through CS (the TC segment
//    reaches it; guest segments do not), MOV r, CS yields the guest's own
//    selector as an immediate;
//  - CALLOUT: `int 0xF0`, an entry into the monitor, which runs the guest
//    instruction on the vCPU (BTCallouts.swift): privileged and sensitive
//    instructions, port I/O, INT n, IRET, RET and indirect jumps and calls.
// A block ends after its first control transfer (or a callout that may
// change CS:EIP), or after 48 instructions; it may cross a page.

struct FetchFault: Error {
    var address: UInt32
    var errorCode: UInt32
}

extension BTMonitor {
    static let maxBlock = 48
    static let calloutVector: UInt8 = 0xF0
    static let chainVector: UInt8 = 0xF1

    /// Where the translation of guest linear `g` starts; translated now if needed.
    func translation(for g: UInt32) -> Result<UInt32, FetchFault> {
        cache.stats.lookups += 1
        if let tc = cache.entry[g] { cache.stats.hits += 1; return .success(tc) }
        return translateBlock(at: g)
    }

    /// Guest bytes of one instruction at `lin` (up to 15, fewer where the
    /// guest's mapping ends), with the frames they lie on.
    func fetch(_ lin: UInt32, frames: inout Set<UInt32>) -> Result<[UInt8], FetchFault> {
        var bytes: [UInt8] = []
        for k in 0..<UInt32(Decoder.maxLength) {
            switch mem.walk(lin &+ k, vcpu: state, write: false, user: false) {
            case .success(let w) where w.gpa < mem.size:
                bytes.append(mem.read8(w.gpa))
                if k == 0 || (lin &+ k) & 0xFFF == 0 { frames.insert(w.gpa >> 12) }
            case .success:
                if bytes.isEmpty { return .failure(FetchFault(address: lin &+ k, errorCode: 0)) }
                return .success(bytes)
            case .failure(let e):
                if bytes.isEmpty { return .failure(FetchFault(address: lin &+ k, errorCode: e.errorCode ?? 0)) }
                return .success(bytes)
            }
        }
        return .success(bytes)
    }

    /// Room for the largest block (and its stubs) the translator makes.
    static let blockRoom = maxBlock * 24 + 64

    /// Translates the block at `start`.  When it ends in a conditional
    /// branch or a call whose successor (the not-taken side, the callee) is
    /// not translated yet, that block is translated right after it (up to
    /// `depth` 4), so the common path falls through with no jump — one block
    /// boundary fewer for the CPU.
    func translateBlock(at start: UInt32, depth: Int = 0) -> Result<UInt32, FetchFault> {
        if !cache.hasRoom(Self.blockRoom) { flushTranslations() }
        let big = cpu.segs[Seg.cs].big
        var rows: [TCRow] = []
        var frames: Set<UInt32> = []
        var stubs: [(site: UInt32, target: UInt32)] = []
        let tcStart = cache.linearNext
        var g = start
        var open = true
        var follow: UInt32? = nil
        while open && rows.count < Self.maxBlock {
            let bytes: [UInt8]
            switch fetch(g, frames: &frames) {
            case .success(let b): bytes = b
            case .failure(let f):
                if rows.isEmpty { return .failure(f) }
                open = false
                continue
            }
            var pending: [(site: UInt32, target: UInt32)] = []
            guard case .ok(let ins) = Decoder.decode(bytes, code16: !big), big else {
                // Undecodable here (or 16-bit code): the monitor runs it, and the CPU says what it is.
                rows.append(emitCallout(Instr(), bytes: [bytes[0]], at: g, reason: "not decodable here: the monitor executes it"))
                open = false
                break
            }
            let raw = Array(bytes[0..<Int(ins.length)])
            let row = translate(ins, raw, at: g, exits: &pending, open: &open, follow: &follow)
            rows.append(row)
            stubs += pending
            g &+= UInt32(ins.length)
        }
        if open {
            var pending: [(site: UInt32, target: UInt32)] = []
            let line = emitJump([0xE9], to: g, before: g, exits: &pending)
            stubs += pending
            rows[rows.count - 1].translated.append(line)
        }
        var block = TCBlock(guestStart: start, guestEnd: g, tcStart: tcStart, tcEnd: cache.linearNext, rows: rows, frames: frames)
        if let next = follow {
            // Lay the successor out next, or jump to it.
            var laidOut = false
            if cache.entry[next] == nil && depth < 4 && cache.hasRoom(2 * Self.blockRoom) {
                block.fallsInto = next
                cache.put(block)
                let expected = cache.linearNext
                if case .success(let tc) = translateBlock(at: next, depth: depth + 1), tc == expected { laidOut = true }
            }
            if !laidOut {
                var pending: [(site: UInt32, target: UInt32)] = []
                let line = emitJump([0xE9], to: next, before: next, exits: &pending)
                stubs += pending
                block.rows[block.rows.count - 1].translated.append(line)
                block.fallsInto = nil
                block.tcEnd = cache.linearNext
            }
        }
        makeStubs(stubs)
        cache.add(block)
        if keepsHistory { history.append(block) }
        for f in frames { shadow.protectCode(frame: f) }
        if !guestBreakpoints.isEmpty && rows.contains(where: { guestBreakpoints.contains($0.guest) }) {
            cpu.breakpoints = realBreakpoints(guestBreakpoints)
        }
        let n = rows.count
        log(.translation, code: start, eip: start &- cpu.segs[Seg.cs].base, text: rows.first?.original ?? "",
            outcome: "block \(hex(start))-\(hex(g)) (\(n) instruction\(n == 1 ? "" : "s")) -> TC \(hex(tcStart)), \(cache.linearNext &- tcStart) bytes",
            cycles: vm.cost.translate * UInt64(n))
        return .success(tcStart)
    }

    /// One guest instruction into the cache.
    func translate(_ ins: Instr, _ raw: [UInt8], at g: UInt32, exits: inout [(site: UInt32, target: UInt32)],
                   open: inout Bool, follow: inout UInt32?) -> TCRow {
        let next = g &+ UInt32(ins.length)
        let target = next &+ ins.imm
        let original = Disassembler.text(ins, at: g)
        switch ins.op {
        case .jmp where ins.osize == 4:
            open = false
            cache.setEntry(g, cache.linearNext)
            let l = emitJump([0xE9], to: target, before: g, exits: &exits)
            return TCRow(guest: g, original: original, rewrite: .branch, reason: "jump redirected to the target's translation", translated: [l])
        case .jcc where ins.osize == 4:
            open = false
            cache.setEntry(g, cache.linearNext)
            let taken = emitJump([0x0F, 0x80 | ins.cond], to: target, before: g, exits: &exits)
            follow = next
            return TCRow(guest: g, original: original, rewrite: .branch, reason: "taken: to the target's translation; not taken: into the next block, laid out right after when it can be", translated: [taken])
        case .loop, .loope, .loopne, .jecxz:
            // LOOPcc/JECXZ have only an 8-bit form: branch over a JMP rel32 to the target.
            open = false
            let head = Array(raw.dropLast()) + [2]
            let l0 = TCLine(address: cache.emit(head, guestBefore: g), text: "")
            cache.setEntry(g, l0.address)
            let l1 = TCLine(address: cache.emit([0xEB, 0x05], guestBefore: next), text: "")
            let l2 = emitJump([0xE9], to: target, before: target, exits: &exits)
            let l3 = emitJump([0xE9], to: next, before: next, exits: &exits)
            return TCRow(guest: g, original: original, rewrite: .branch, reason: "8-bit branch widened over a jump to the target's translation",
                         translated: [described(l0, head), described(l1, [0xEB, 0x05]), l2, l3])
        case .call where ins.osize == 4:
            open = false
            let push = [0x68] + le32(next)
            let l0 = TCLine(address: cache.emit(push, guestBefore: g), text: "")
            cache.setEntry(g, l0.address)
            // The callee comes next: laid out right here when it is new, else a jump to it.
            follow = target
            return TCRow(guest: g, original: original, rewrite: .branch,
                         reason: "pushes the guest return address \(hex(next)); the callee's translation follows",
                         translated: [described(l0, push)])
        case .ret where raw == [0xC3]:
            open = false
            return inlineReturn(at: g, original: original)
        case .movFromCR where [0, 2, 3, 4].contains(ins.reg) && ins.mod == 3:
            // mov r32, cs:[vcpu area + 4n]
            let bytes: [UInt8] = [0x2E, 0x8B, 0x05 | (ins.rm << 3)] + le32(MonitorLayout.linear(ofHost: MonitorLayout.vcpuArea) &+ UInt32(ins.reg) * 4)
            return inline(bytes, at: g, original: original, reason: "reads the guest's CR\(ins.reg) from the vCPU area, no trap")
        case .movFromSeg where ins.reg == UInt8(Seg.cs) && ins.mod == 3:
            let sel = UInt32(kernelCS)
            let bytes: [UInt8] = ins.osize == 2 ? [0x66, 0xB8 + ins.rm, UInt8(sel & 0xFF), UInt8(sel >> 8)] : [0xB8 + ins.rm] + le32(sel)
            return inline(bytes, at: g, original: original, reason: "the guest's CS selector \(hex(UInt16(sel), digits: 4)) (RPL 0), not the real one")
        default:
            if adaptive.contains(g) {
                return emitCallout(ins, bytes: raw, at: g, reason: "adaptive: a store that keeps writing page tables; the monitor makes it and updates the shadow, no fault")
            }
            if let why = calloutReason(ins) {
                if ins.traits.contains(.endsBlock) || ins.op == .iret { open = false }
                return emitCallout(ins, bytes: raw, at: g, reason: why)
            }
            let l = cache.emit(raw, guestBefore: g)
            cache.setEntry(g, l)
            return TCRow(guest: g, original: original, rewrite: .ident, reason: "",
                         translated: [described(TCLine(address: l, text: ""), raw)])
        }
    }

    /// Jumps to addresses not translated yet go through chaining stubs (or,
    /// when the target got translated meanwhile, straight there).
    func makeStubs(_ stubs: [(site: UInt32, target: UInt32)]) {
        for s in stubs {
            if let tc = cache.entry[s.target] { cache.patch(site: s.site, to: tc, target: s.target); continue }
            let stub = cache.emit([0xCD, Self.chainVector], guestBefore: s.target)
            cache.addCallout(.chain(target: s.target, site: s.site), at: stub)
            cpu.writePhysical(s.site &- MonitorLayout.window, 4, stub &- (s.site &+ 4))
        }
    }

    /// Why an instruction may not run as written at CPL 1, or nil when it may.
    func calloutReason(_ ins: Instr) -> String? {
        let t = ins.traits
        if t.contains(.softInt) { return "INT n: delivered by the monitor from the guest's CS:EIP" }
        if ins.op == .iret { return "IRET: IF and IOPL restored on the vCPU" }
        if t.contains(.privileged) { return "privileged: emulated on the vCPU" }
        if t.contains(.ioplSensitive) && ins.op != .popf && ins.op != .pushf { return "IOPL-sensitive: IF or the port is the monitor's to change" }
        if t.contains(.io) { return "port I/O: performed by the monitor" }
        if t.contains(.sensitive) { return "sensitive: run against the guest's view of the machine" }
        if t.contains(.ret) { return "return with a stack adjustment: the monitor looks the target up" }
        if ins.op == .jmpIndirect || ins.op == .callIndirect { return "indirect: the target is looked up in the cache" }
        if t.contains(.hypercall) || t.contains(.vmxExit) || t.contains(.endsBlock) { return "control transfer: run by the monitor" }
        if ins.segOverride && Int(ins.seg) == Seg.cs { return "CS-relative data: the guest's CS is not the TC's" }
        if ins.op == .loadFarPointer { return "loads a segment register: checked against the guest's view" }
        return nil
    }

    func emitCallout(_ ins: Instr, bytes raw: [UInt8], at g: UInt32, reason: String) -> TCRow {
        let code: [UInt8] = [0xCD, Self.calloutVector]
        let l = cache.emit(code, guestBefore: g)
        cache.setEntry(g, l)
        cache.addCallout(.emulate(guest: g, ins: ins), at: l)
        let original = ins.op == .invalid ? "(bytes \(raw.map { hex($0, digits: 2) }.joined(separator: " ")))" : Disassembler.text(ins, at: g)
        return TCRow(guest: g, original: original, rewrite: .callout, reason: reason,
                     translated: [TCLine(address: l, text: "int 0xf0  ; callout")])
    }

    func inline(_ bytes: [UInt8], at g: UInt32, original: String, reason: String) -> TCRow {
        let l = cache.emit(bytes, guestBefore: g)
        cache.setEntry(g, l)
        return TCRow(guest: g, original: original, rewrite: .inline, reason: reason, translated: [described(TCLine(address: l, text: ""), bytes)])
    }

    /// A jump (`E9` or `0F 8x`) with a rel32 to `to`'s translation, or to a stub made after the block.
    func emitJump(_ opcode: [UInt8], to: UInt32, before: UInt32, exits: inout [(site: UInt32, target: UInt32)]) -> TCLine {
        let at = cache.linearNext
        let site = at &+ UInt32(opcode.count)
        if let tc = cache.entry[to] {
            cache.emit(opcode + le32(tc &- (site &+ 4)), guestBefore: before)
            cache.patch(site: site, to: tc, target: to)
        } else {
            cache.emit(opcode + [0, 0, 0, 0], guestBefore: before)
            exits.append((site, to))
        }
        return TCLine(address: at, text: (opcode.count == 1 ? "jmp" : "j" + conditionNames[Int(opcode[1] & 0xF)]) + " -> \(hex(to))")
    }

    func described(_ l: TCLine, _ bytes: [UInt8]) -> TCLine {
        TCLine(address: l.address, text: Disassembler.disassemble(bytes, at: l.address).first?.text ?? "")
    }

    func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
}
