// The processor state (SDM Vol. 3 ch. 2): general registers, EIP, EFLAGS,
// segment registers with their hidden descriptor caches, control, debug and
// system-table registers.  Storage is raw memory so the hot loop touches no
// reference counts.

/// Port I/O and physical addresses outside RAM go to the machine through this
/// interface.  Only slow paths call it.
public protocol IOBus: AnyObject {
    func portIn(_ port: UInt16, size: Int) -> UInt32
    func portOut(_ port: UInt16, size: Int, value: UInt32)
    func mmioRead(_ address: UInt32, size: Int) -> UInt32
    func mmioWrite(_ address: UInt32, size: Int, value: UInt32)
}

/// A segment register's visible selector and hidden descriptor cache
/// (SDM Vol. 3 §3.4.3).  `access` is byte 5 of the descriptor (P, DPL, S,
/// type) and `flags` the high nibble of byte 6 (G, D/B).
///
/// Every memory access checks its segment (SDM Vol. 3 §5.3, §5.4).  So that
/// the common case costs one compare, the cache also keeps `readEnd` and
/// `writeEnd`: one past the last offset an access of that kind may touch
/// when the segment is usable, of the right type and expand-up; 0 when the
/// slow path must decide (expand-down, unusable, wrong type).  They are
/// recomputed by property observers whenever a field they depend on
/// changes, however the cache was built or edited.
public struct SegmentCache: Sendable, Equatable {
    public var selector: UInt16 = 0
    public var base: UInt32 = 0
    public var limit: UInt32 = 0xFFFF { didSet { updateEnds() } }
    public var access: UInt8 = 0x93 { didSet { updateEnds() } }    // present, DPL 0, data, read/write, accessed
    public var flags: UInt8 = 0
    /// False for a null selector in a data segment register: any access is #GP(0).
    public var usable: Bool = true { didSet { updateEnds() } }
    /// Fast-check bounds (see above): an access at `offset` of `size` bytes
    /// passes at once when `offset + size - 1 < readEnd` (64-bit sum, so a
    /// wrap past 4 GiB never passes).
    private(set) var readEnd: UInt64 = 0x10000
    private(set) var writeEnd: UInt64 = 0x10000

    public init() {}
    public init(selector: UInt16, base: UInt32, limit: UInt32, access: UInt8, flags: UInt8) {
        self.selector = selector; self.base = base; self.limit = limit
        self.access = access; self.flags = flags
        updateEnds()
    }

    /// Access byte bits 4..1 are S, code, conforming/expand-down,
    /// readable/writable: expand-up data is 10x0x (writable 1001x), readable
    /// code 11x1x.  Everything else is decided by `CPU.linearSlow`.
    private mutating func updateEnds() {
        let end = UInt64(limit) + 1
        let a = access
        readEnd = usable && (a & 0x1C == 0x10 || a & 0x1A == 0x1A) ? end : 0
        writeEnd = usable && a & 0x1E == 0x12 ? end : 0
    }

    public var dpl: UInt8 { (access >> 5) & 3 }
    public var present: Bool { access & 0x80 != 0 }
    public var isCode: Bool { access & 0x18 == 0x18 }
    /// D/B bit: 32-bit code segment / 32-bit stack.
    public var big: Bool { flags & 0x4 != 0 }
    public var expandDown: Bool { access & 0x1C == 0x14 }
    public var readable: Bool { isCode ? access & 2 != 0 : true }
    public var writable: Bool { !isCode && access & 2 != 0 }
    /// A flat 4 GiB read/write data segment, as the multiboot loader leaves them.
    public static func flat(selector: UInt16, code: Bool, dpl: UInt8 = 0) -> SegmentCache {
        SegmentCache(selector: selector, base: 0, limit: 0xFFFF_FFFF,
                     access: (code ? 0x9B : 0x93) | (dpl << 5), flags: 0xC)
    }
}

/// GDTR and IDTR (SDM Vol. 3 §2.4.1).
public struct TableRegister: Sendable, Equatable {
    public var base: UInt32 = 0
    public var limit: UInt16 = 0xFFFF
    public init(base: UInt32 = 0, limit: UInt16 = 0xFFFF) { self.base = base; self.limit = limit }
}

public final class CPU {
    // ---- Visible state ----
    public let regs: UnsafeMutablePointer<UInt32>
    public var eip: UInt32 = 0
    public let segs: UnsafeMutablePointer<SegmentCache>
    public var cr0: UInt32 = CR0.pe | CR0.et
    public var cr2: UInt32 = 0
    public var cr3: UInt32 = 0
    public var cr4: UInt32 = 0
    public var dr = [UInt32](repeating: 0, count: 8)
    public var gdtr = TableRegister()
    public var idtr = TableRegister(base: 0, limit: 0x3FF)
    public var ldtr = SegmentCache(selector: 0, base: 0, limit: 0, access: 0x82, flags: 0)
    public var tr = SegmentCache(selector: 0, base: 0, limit: 0xFFFF, access: 0x8B, flags: 0)
    /// Current privilege level (SDM Vol. 3 §5.5): the RPL of CS after a load.
    public var cpl: UInt8 = 0 { didSet { tlbUserOr = cpl == 3 ? 0 : 2 } }
    /// Model-specific registers this CPU implements (see Msr).
    public var sysenterCS: UInt32 = 0, sysenterESP: UInt32 = 0, sysenterEIP: UInt32 = 0

    // ---- EFLAGS: control and system bits kept directly, the six status flags lazily (Flags.swift) ----
    /// The non-status bits of EFLAGS; its six status bits are kept clear.
    var flagBits: UInt32 = EFLAGS.reserved1
    /// The status flags, encoded as the last result and its carry vector.
    var lfRes: UInt32 = 0x100
    var lfAux: UInt32 = 0x100

    // ---- Memory ----
    public let ram: UnsafeMutablePointer<UInt8>
    public let ramSize: UInt32
    /// The machine's buses.  Unowned: the machine owns the CPU (a weak
    /// reference would give the machine a side table and slow every retain).
    public unowned(unsafe) var bus: IOBus?
    var tlb: TLB
    /// OR-ed into a TLB tag before it is compared (Memory.swift): 2 at CPL
    /// 0-2, so that supervisor accesses ignore the tag's user bit; 0 at CPL 3.
    var tlbUserOr: UInt32 = 2

    // ---- Execution bookkeeping ----
    /// Instructions retired since reset: the virtual clock's source.
    public var instructions: UInt64 = 0
    /// Set by HLT; cleared by an interrupt.
    public var halted = false { didSet { if halted { exitBlock = true } } }
    /// Interrupts are inhibited for one instruction after STI and MOV/POP SS (SDM Vol. 3 §6.8.3).
    public var interruptShadow = false { didSet { if interruptShadow { exitBlock = true } } }
    /// Set by anything that must end the current block at once: a halt, a stop
    /// request, an interrupt shadow, or a write that dropped decoded blocks.
    var exitBlock = false
    /// EIP of the next instruction, written by control transfers during
    /// execution (and by an instruction intercept that emulates one).
    public var nextEIP: UInt32 = 0
    /// A breakpoint at this linear address is passed over once (resuming from it).
    public var resumeAddress: UInt32?
    /// Decoded-block cache (BlockCache.swift).
    var blocks: BlockCache
    /// Why the current run must stop after this instruction, if it must.
    public var stopRequest: StopReason? { didSet { if stopRequest != nil { exitBlock = true } } }
    /// Exceptions delivered, by vector (for `--stats`).
    public var exceptionCounts = [UInt64](repeating: 0, count: 32)
    /// Exceptions and interrupts delivered through the IDT by `run` (a
    /// single step ends after one: Run.swift).
    public internal(set) var deliveries: UInt64 = 0
    /// How many calls of `run` are active: monitors run an instruction from
    /// inside an intercept (Run.swift: breakpoints are the outermost run's).
    var runDepth = 0

    // ---- Intercept points (SDM-neutral: the CPU never knows which monitor installed them) ----
    /// External interrupt requests (the machine's PIC).  Not retained — the
    /// machine owns its PIC and outlives the CPU's use of it — and unowned so
    /// the run loop pays no weak-reference load per block.
    public unowned(unsafe) var interrupts: InterruptSource? { didSet { interruptPollStale = true } }
    /// The PIC's last answer to `interruptPending`, and whether it must be
    /// asked again (Run.swift, `interruptRequested`).
    var interruptPollCache = false
    var interruptPollStale = true
    /// Interrupt requests are taken whatever EFLAGS.IF is, for the source to
    /// decide (VMX "external-interrupt exiting": SDM Vol. 3C §25.4.1, IF then
    /// does not block external interrupts; they cause VM exits).  STI and
    /// MOV SS blocking still apply.  Set by a VMM; off on a bare machine.
    public var interruptsIgnoreIF = false {
        didSet { interruptFlagBypass = interruptsIgnoreIF ? EFLAGS.if : 0; interruptPollStale = true }
    }
    /// EFLAGS.IF's bit while `interruptsIgnoreIF`, else 0: OR-ed into the run loop's IF test.
    var interruptFlagBypass: UInt32 = 0
    /// Set by an interrupt source inside `acknowledgeInterrupt` when it took
    /// the request without handing the CPU a vector to deliver now (a VMM
    /// that holds it for injection later, or a VM exit with nothing to inject).
    public var interruptWithheld = false
    /// Without an exception intercept: stop at the first exception instead of delivering it.
    public var stopOnException = false
    /// Called before an exception is delivered through the IDT.
    public var exceptionIntercept: ((CPU, CPUException) -> InterceptAction)?
    /// Called before executing any instruction whose traits meet `interceptTraits`;
    /// returning true means the intercept emulated it (EIP is then the intercept's to set).
    public var instructionIntercept: ((CPU, Instr) throws(CPUException) -> Bool)?
    /// A change ends the current block: the run loop picks its checking or
    /// its fast inner loop per block (Run.swift).
    public var interceptTraits: Traits = [] { didSet { interceptMask = interceptTraits.rawValue; exitBlock = true } }
    var interceptMask: UInt16 = 0
    /// Called after a control register, GDTR, IDTR, LDTR or TR changes.
    public var systemRegisterObserver: ((CPU, SystemRegister) -> Void)?
    /// Linear addresses where a run stops before executing (the debugger's breakpoints).
    public var breakpoints: Set<UInt32> = [] {
        didSet {
            breakpointPages = Set(breakpoints.map { $0 >> 12 })
            breakpointsActive = !breakpoints.isEmpty
            blocks.flushAll()   // cached blocks must be cut again at the new addresses
            exitBlock = true
        }
    }
    var breakpointPages: Set<UInt32> = []
    /// `!breakpoints.isEmpty`, kept as a plain flag for the run loop.
    var breakpointsActive = false
    /// Linear ranges whose data accesses stop a run after the instruction
    /// (the debugger's watchpoints; Watchpoints.swift).  Assigning flushes the TLB.
    public var watchpoints: [Watchpoint] = [] { didSet { watchpointsChanged() } }
    /// Linear pages that must not get a fast read (and so write) tag, or a fast write tag.
    var watchReadPages: Set<UInt32> = []
    var watchWritePages: Set<UInt32> = []
    /// `!watchpoints.isEmpty`: the TLB-miss paths test this flag alone.
    var watchActive = false
    /// Watched ranges touched since the last `takeWatchHits()`.
    public internal(set) var watchHits: [WatchHit] = []
    /// Time-stamp counter offset: RDTSC returns instructions + tscOffset (virtual time).
    public var tscOffset: UInt64 = 0

    public init(ram: UnsafeMutablePointer<UInt8>, ramSize: UInt32) {
        self.ram = ram
        self.ramSize = ramSize
        // Slot 8 is the zero register that `Instr.noRegister` names; nothing writes it.
        regs = .allocate(capacity: 9)
        regs.initialize(repeating: 0, count: 9)
        segs = .allocate(capacity: 6)
        segs.initialize(repeating: SegmentCache(), count: 6)
        tlb = TLB()
        blocks = BlockCache(ramSize: ramSize)
    }

    deinit {
        regs.deallocate()
        segs.deallocate()
        tlb.deallocate()
        blocks.deallocate()
    }

    /// Puts the CPU in flat 32-bit protected mode at CPL 0 with paging off:
    /// the state of the multiboot hand-off and of `run --flat`.
    public func resetFlat(entry: UInt32, stack: UInt32) {
        for i in 0..<8 { regs[i] = 0 }
        regs[Reg.esp] = stack
        eip = entry
        setEFLAGS(EFLAGS.reserved1)
        cr0 = CR0.pe | CR0.et
        cr2 = 0; cr3 = 0; cr4 = 0
        cpl = 0
        segs[Seg.cs] = .flat(selector: 0x08, code: true)
        for s in [Seg.ds, Seg.es, Seg.fs, Seg.gs, Seg.ss] { segs[s] = .flat(selector: 0x10, code: false) }
        gdtr = TableRegister(base: 0, limit: 0)
        idtr = TableRegister(base: 0, limit: 0x3FF)
        halted = false
        flushTLB(global: true)
    }

    // ---- Register access by width (8-bit numbering: AL CL DL BL AH CH DH BH) ----
    @inline(__always) public func reg8(_ r: Int) -> UInt32 {
        r < 4 ? regs[r] & 0xFF : (regs[r - 4] >> 8) & 0xFF
    }
    @inline(__always) public func setReg8(_ r: Int, _ v: UInt32) {
        if r < 4 { regs[r] = (regs[r] & 0xFFFF_FF00) | (v & 0xFF) }
        else { regs[r - 4] = (regs[r - 4] & 0xFFFF_00FF) | ((v & 0xFF) << 8) }
    }
    @inline(__always) public func reg(_ r: Int, size: UInt8) -> UInt32 {
        switch size {
        case 4: return regs[r]
        case 2: return regs[r] & 0xFFFF
        default: return reg8(r)
        }
    }
    @inline(__always) public func setReg(_ r: Int, size: UInt8, _ v: UInt32) {
        switch size {
        case 4: regs[r] = v
        case 2: regs[r] = (regs[r] & 0xFFFF_0000) | (v & 0xFFFF)
        default: setReg8(r, v)
        }
    }

    public var eax: UInt32 { get { regs[0] } set { regs[0] = newValue } }
    public var ecx: UInt32 { get { regs[1] } set { regs[1] = newValue } }
    public var edx: UInt32 { get { regs[2] } set { regs[2] = newValue } }
    public var ebx: UInt32 { get { regs[3] } set { regs[3] = newValue } }
    public var esp: UInt32 { get { regs[4] } set { regs[4] = newValue } }
    public var ebp: UInt32 { get { regs[5] } set { regs[5] = newValue } }
    public var esi: UInt32 { get { regs[6] } set { regs[6] = newValue } }
    public var edi: UInt32 { get { regs[7] } set { regs[7] = newValue } }

    /// True when the code segment is 16-bit (D bit clear).
    @inline(__always) var code16: Bool { !segs[Seg.cs].big }
    /// True when the stack segment's B bit is clear: SP, not ESP, is the stack pointer.
    @inline(__always) var stack16: Bool { !segs[Seg.ss].big }
    public var iopl: UInt8 { UInt8((flagBits >> 12) & 3) }
    public var interruptsEnabled: Bool { flagBits & EFLAGS.if != 0 }
}
