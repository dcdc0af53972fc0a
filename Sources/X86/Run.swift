// The run loop: find or build the decoded block at CS:EIP, execute its
// instructions, deliver interrupts and exceptions at instruction boundaries.

public enum StopReason: Equatable, Sendable {
    /// HLT executed (the machine decides whether an interrupt can wake it).
    case halted
    /// The instruction budget ran out.
    case limit
    /// An exception the CPU was told not to deliver (`stopOnException`).
    case exception(CPUException)
    /// An exception while delivering a double fault: the CPU shuts down (SDM Vol. 3 §6.15, #DF).
    case tripleFault
    /// Something asked the run to stop (debug-exit, Ctrl-C).
    case requested
    /// CS:EIP reached a breakpoint's linear address (before executing it).
    case breakpoint(UInt32)
    /// An instruction read or wrote a watched range (the watchpoint's
    /// address; `write` for a write); EIP is the next instruction
    /// (Watchpoints.swift; `takeWatchHits` tells which and where).
    case watchpoint(UInt32, write: Bool)
    /// The guest used a feature Ringside does not model; the text says which.
    case unsupported(String)
}

/// Where external interrupts come from (the machine's PIC).
public protocol InterruptSource: AnyObject {
    /// True when an unmasked interrupt request is waiting.
    var interruptPending: Bool { get }
    /// Acknowledges the highest-priority request and returns its vector (the INTA cycle).
    func acknowledgeInterrupt() -> UInt8
}

extension CPU {
    /// Runs until `maxInstructions` more have retired or something stops it.
    ///
    /// A run of one instruction is a debugger's single step, and delivering
    /// an exception or an interrupt through the IDT counts as that step: the
    /// run ends at the handler's first instruction, not after it (QEMU's
    /// gdbstub stops there too; CPU.step's "one instruction or one event").
    ///
    /// Breakpoints are looked at by the outermost run only.  A monitor that
    /// runs a faulting instruction again from inside an intercept (IOPL
    /// granted for one instruction, a shadow entry made writable for one
    /// store) runs an instruction the outer run already stopped at or passed.
    public func run(maxInstructions: UInt64) -> StopReason {
        let end = instructions &+ maxInstructions
        let step = maxInstructions == 1
        runDepth &+= 1
        defer { runDepth &-= 1 }
        stopRequest = nil
        interruptPollStale = true
        while instructions < end {
            // IF first: it is one bit test, the PIC's answer is not.
            if (flagBits | interruptFlagBypass) & EFLAGS.if != 0, !interruptShadow, interruptRequested(),
               let pending = interrupts {
                let vector = pending.acknowledgeInterrupt()
                interruptPollStale = true
                // A VMM took it (a VM exit) and delivers nothing now.
                if interruptWithheld { interruptWithheld = false; continue }
                halted = false
                let stop = deliver(event: .external(vector))
                interruptPollStale = true
                if let stop { return stop }
                if step { return .limit }
                continue
            }
            // The instruction after STI or MOV SS runs alone: the boundary after
            // it is where a pending interrupt is recognized (SDM Vol. 3A §6.8.3),
            // not the end of the block it starts (STI; NOP; CLI opens a window).
            let shadowed = interruptShadow
            interruptShadow = false
            if halted { return .halted }
            if _slowPath(breakpointsActive) && runDepth == 1 {
                let lin = segs[Seg.cs].base &+ eip
                if breakpoints.contains(lin) && resumeAddress != lin { return .breakpoint(lin) }
                resumeAddress = nil
            }
            do {
                let id = try blockAtEIP()
                let b = blocks.blockTable + Int(id)
                if _fastPath(b.pointee.traits & interceptMask == 0 && !shadowed) {
                    // No instruction here can meet the intercept: nothing to check per instruction.
                    try runBlocks(id, end: end)
                } else {
                    var p = blocks.pool + Int(b.pointee.first)
                    let stop = p + Int(min(UInt64(shadowed ? 1 : b.pointee.count), end - instructions))
                    exitBlock = false
                    repeat {
                        if p.pointee.traitBits & interceptMask != 0, let hook = instructionIntercept {
                            nextEIP = eip &+ UInt32(p.pointee.length)
                            defer { interruptPollStale = true }   // the intercept may emulate I/O
                            if try hook(self, p.pointee) {
                                // The intercept emulated the instruction and set `nextEIP`
                                // itself, maybe elsewhere: the rest of the block may not follow.
                                exitBlock = true
                                eip = nextEIP
                                instructions &+= 1
                            } else {
                                try executeOne(p)
                            }
                        } else {
                            try executeOne(p)
                        }
                        p += 1
                    } while p < stop && !exitBlock
                }
                if let stop = stopRequest { return stop }
            } catch {
                let delivered = deliveries
                let stop = deliver(event: .exception(error))
                interruptPollStale = true   // an exception intercept may have touched devices
                if let stop { return stop }
                if step && deliveries != delivered { return .limit }
                // A watched access the faulting instruction made before it faulted
                // (a monitor handled the fault): stop now, not a block later.
                if case .watchpoint? = stopRequest { return stopRequest! }
            }
        }
        return .limit
    }

    /// The PIC's INTR output, asked only when it may have changed.  Within
    /// `run`, the devices change state only when the CPU talks to them: port
    /// I/O (the rows with the `.io` trait), MMIO (Memory.swift), interrupt
    /// acknowledge and delivery, an intercept.  Each of those marks the
    /// answer stale; so does every call of `run`, since the machine updates
    /// its devices between calls.  A block boundary with IF = 1 then costs a
    /// flag test, not a call through the `InterruptSource` existential (with
    /// its retain and release) per block.
    @inline(__always) func interruptRequested() -> Bool {
        if _slowPath(interruptPollStale) {
            interruptPollCache = interrupts?.interruptPending ?? false
            interruptPollStale = false
        }
        return interruptPollCache
    }

    /// Executes exactly one instruction (or delivers one pending event).
    public func step() -> StopReason? {
        let r = run(maxInstructions: 1)
        return r == .limit ? nil : r
    }

    /// Finds the block for CS:EIP: through the jump cache, else by
    /// translating EIP and looking the physical address up, else by building it.
    @inline(__always) func blockAtEIP() throws(CPUException) -> Int32 {
        let cs = segs + Seg.cs
        let lin = cs.pointee.base &+ eip
        let e = blocks.jumpEntry(lin)
        if _fastPath(e.pointee.lin == lin && e.pointee.stamp == blocks.stamp(big: cs.pointee.big, user: cpl == 3)) {
            let b = blocks.blockTable + Int(e.pointee.id)
            // The limit check of the fetch (EIP itself, up to the block's last byte) comes with the block.
            if _fastPath(b.pointee.valid && fitsLimit(b.pointee)) { return e.pointee.id }
        }
        return try lookupBlock(lin)
    }

    /// The slow half of `blockAtEIP`: checks EIP against CS's limit, finds or
    /// builds the block, and enters it in the jump cache when it may be.
    @inline(never)
    func lookupBlock(_ lin: UInt32) throws(CPUException) -> Int32 {
        if eip > segs[Seg.cs].limit { throw .gp(0) }
        let id = try physicalBlock(lin)
        let b = blocks.blockTable[Int(id)]
        if b.page1 == b.page0 && blocks.index[BlockCache.slot(b.key)] == id {
            blocks.jumpEntry(lin).pointee = JumpEntry(lin: lin, stamp: blocks.stamp(big: segs[Seg.cs].big, user: cpl == 3), id: id)
        }
        return id
    }

    /// True when all of `b` lies within CS's limit from the current EIP: a
    /// block decoded under a larger limit must not run past a smaller one
    /// (SDM Vol. 3 §5.3: every fetch is checked).
    @inline(__always) func fitsLimit(_ b: Block) -> Bool {
        UInt64(eip) + UInt64(b.span) <= UInt64(segs[Seg.cs].limit)
    }

    /// Whether an instruction fetch at `lin` would translate, asked without
    /// the side effects of `translate` (CR2, accessed bits, the TLB): the
    /// block builder looks ahead into the next page only when it may.
    func fetchable(_ lin: UInt32) -> Bool {
        guard pagingEnabled else { return true }
        let w = walk(lin)
        guard w.physical != nil else { return false }
        // A 4 MiB PDE with reserved bits 21:13 set faults (SDM Vol. 3 Table 4-5).
        if w.largePage && w.pde & 0x003F_E000 != 0 { return false }
        let rights = w.largePage ? w.pde : w.pde & (w.pte ?? 0)
        return !userMode || rights & PTE.user != 0
    }

    /// The block at linear address `lin` (CS:EIP) through the TLB and the physical index.
    func physicalBlock(_ lin: UInt32) throws(CPUException) -> Int32 {
        let cs = segs[Seg.cs]
        let i = Int((lin >> 12) & UInt32(TLB.entries - 1))
        let phys: UInt32
        if tlb.readTag[i] | tlbUserOr == (lin & 0xFFFF_F000) | 3 {
            phys = tlb.phys[i] | (lin & 0xFFF)
        } else {
            phys = try translate(lin, write: false, user: userMode)
        }
        let key = UInt64(phys) | (cs.big ? 0 : 1 << 32)
        let id = blocks.lookup(key)
        if id >= 0 && fitsLimit(blocks.blockTable[Int(id)]) {
            let b = blocks.blockTable[Int(id)]
            if _fastPath(b.page1 == b.page0) { return id }
            // A block that straddles a page is good only while the second page maps where it
            // did.  If it no longer translates, a new block stops before the straddling
            // instruction, which then faults when it is reached, not before.
            let next = (lin | 0xFFF) &+ 1
            if fetchable(next), try translate(next, write: false, user: userMode) >> 12 == b.page1 { return id }
        }
        // Missing, too long for the current CS limit, or stale: decode again (and index the new block).
        return try buildBlock(eip: eip, phys: phys, key: key)
    }

    /// Decodes a block of up to 32 instructions starting at `phys`.
    ///
    /// A block is a trace (performance.md §2): it goes on through a near JMP
    /// or CALL whose target lies in the same page, so that a call to a small
    /// helper costs no block lookup.  A RET that ends a helper entered this
    /// way is predicted to return behind its CALL (the `.retGuarded` form,
    /// with the expected EIP as an offset in `imm2`): the trace goes on
    /// there, and the block ends early if the return goes elsewhere.  The
    /// offsets between the instructions of a trace are fixed wherever the
    /// page is mapped, since they stay in one page.
    func buildBlock(eip startEIP: UInt32, phys startPhys: UInt32, key: UInt64) throws(CPUException) -> Int32 {
        if blocks.blockCount == BlockCache.maxBlocks
            || blocks.poolUsed + BlockCache.maxBlockLength > BlockCache.poolCapacity {
            blocks.flushAll()
        }
        let id = Int32(blocks.blockCount)
        let first = blocks.poolUsed
        var count = 0
        var traits: UInt16 = 0
        var eip = startEIP, phys = startPhys
        let page0 = startPhys >> 12
        var page1 = page0
        let cs = segs[Seg.cs]
        var buf = [UInt8](repeating: 0, count: 16)
        // The bytes decoded, as one range of the page (a trace may leave gaps in it).
        var lo = startPhys, hi = startPhys, span: UInt32 = 0
        // Return addresses of the calls the trace went into.
        var returns: [UInt32] = []
        while count < BlockCache.maxBlockLength {
            let avail = min(Decoder.maxLength, Int(0x1000 - (phys & 0xFFF)))
            for k in 0..<avail { buf[k] = UInt8(readPhysical(phys &+ UInt32(k), 1)) }
            var result = buf.withUnsafeBufferPointer { Decoder.decode($0.baseAddress!, count: avail, code16: !cs.big) }
            var crossed = false
            if case .needMore = result {
                // The instruction straddles a page: fetch the rest from the next page (this may #PF).
                // Beyond the first instruction, only look ahead when the fetch would succeed:
                // a #PF (and its CR2) belongs to the straddling instruction when it runs.
                let nextLin = cs.base &+ eip &+ UInt32(avail)
                if count > 0 && !fetchable(nextLin) { break }
                let nextPhys = try translate(nextLin, write: false, user: userMode)
                for k in avail..<Decoder.maxLength { buf[k] = UInt8(readPhysical(nextPhys &+ UInt32(k - avail), 1)) }
                result = buf.withUnsafeBufferPointer { Decoder.decode($0.baseAddress!, count: Decoder.maxLength, code16: !cs.big) }
                crossed = true
                page1 = nextPhys >> 12
            }
            var ins: Instr
            switch result {
            case .ok(let decoded): ins = decoded
            case .invalid(let length):
                ins = Instr(); ins.op = .invalid; ins.length = UInt8(length)
            case .tooLong, .needMore:
                if count == 0 { throw .gp(0) }
                ins = Instr()
            }
            if ins.length == 0 { break }
            // The whole instruction must lie within the code segment's limit (SDM Vol. 3 §5.3).
            if UInt64(eip) + UInt64(ins.length) - 1 > UInt64(cs.limit) {
                if count == 0 { throw .gp(0) }
                break
            }
            let length = UInt32(ins.length)
            lo = min(lo, phys); hi = max(hi, phys &+ length)
            // A trace may jump back before its first byte: only bytes ahead of it count.
            let end = Int32(bitPattern: eip &- startEIP &+ length &- 1)
            if end > 0 { span = max(span, UInt32(end)) }
            // Where a trace may go on after a near transfer, if anywhere.
            var follow: UInt32?
            switch ins.fast {
            case .call, .jmp:
                follow = eip &+ length &+ ins.imm
                if ins.fast == .call { returns.append(eip &+ length) }
            case .ret:
                if let back = returns.popLast() {
                    follow = back
                    ins.fast = .retGuarded
                    ins.imm2 = back &- eip
                }
            default: break
            }
            blocks.pool[first + count] = ins
            traits |= ins.traitBits
            count += 1
            if let target = follow, !crossed, target <= cs.limit, (phys &+ (target &- eip)) >> 12 == page0 {
                phys = phys &+ (target &- eip)
                eip = target
            } else {
                eip &+= length
                phys &+= length
                if ins.op == .invalid || ins.traits.contains(.endsBlock) || crossed || phys & 0xFFF == 0 { break }
            }
            // Breakpoints are linear addresses (page0 is physical: under a monitor the two differ).
            if breakpointsActive && breakpointPages.contains((cs.base &+ eip) >> 12) && breakpoints.contains(cs.base &+ eip) { break }
        }
        blocks.poolUsed += count
        blocks.blockCount += 1
        blocks.built += 1
        let startLinear = cs.base &+ startEIP
        blocks.blockTable[Int(id)] = Block(key: key, phys: lo, bytes: hi &- lo, first: Int32(first),
                                           count: Int32(count), valid: true, page0: page0, page1: page1, traits: traits,
                                           span: span, linear: startLinear,
                                           breakpoint: breakpointsActive && breakpoints.contains(startLinear))
        // Only RAM is cached; code fetched from elsewhere is decoded again each time.
        if UInt64(startPhys) < UInt64(ramSize) && UInt64(page1) << 12 < UInt64(ramSize) {
            blocks.index[BlockCache.slot(key)] = id
            for page in page1 == page0 ? [page0] : [page0, page1] {
                if blocks.codePages[Int(page)] == 0 { dropWriteTags(physicalPage: page) }
                blocks.addCode(id, page: page)
            }
        }
        return id
    }
}
