// Data watchpoints: stop after an instruction that reads or writes a range
// of linear addresses (the debugger's watch, rwatch and awatch; gdb's Z2,
// Z3 and Z4 packets).
//
// Hardware does this with the debug registers DR0-DR3 and DR7 (SDM Vol. 3
// §17.2.4, §17.3.1.2): a data breakpoint is a *trap*, reported after the
// instruction that touched the location has completed, with EIP at the
// next instruction.  Ringside keeps the semantics but not the four-register
// limit, and finds the accesses through the MMU rather than by checking
// every instruction:
//
//   - A linear page that holds part of a watched range never gets a fast
//     TLB entry of the kinds watched (`fillTLB` in Paging.swift): no write
//     tag for a write watch, neither tag for a read or access watch (a write
//     tag implies a read one, Memory.swift).  Every data access to the page
//     then takes the slow path, whatever instruction makes it: MOV, PUSH,
//     the fast forms, the page-at-a-time string loop (which asks the same
//     TLB), page-crossing accesses, paging on or off (with paging off the
//     TLB holds the identity map and is filled the same way).
//   - The slow path (`readSlow`, `writeSlow`) compares the access with the
//     watched ranges and, on an overlap, records a `WatchHit` and asks the
//     run to stop after this instruction (`stopRequest`, which ends the
//     block and is returned at the instruction boundary, or after the
//     event being delivered when the access was part of a delivery).
//   - Instruction fetches never come here: the block builder reads code
//     with `translate` and `readPhysical`, so a watch on code is a watch on
//     the program's data accesses to it, as on hardware.
//   - Setting or clearing watchpoints empties the TLB (and starts a new
//     jump-cache epoch); decoded blocks stay valid, since a watch changes
//     how data is reached, not what code is.
//
// With no watchpoint set, the only cost is one flag test on the TLB miss
// path: the fast paths are the same instructions as before.
//
// A repeated string instruction stops after its last iteration, not after
// the iteration that touched the range (hardware stops between iterations).
// The CPU's own implicit accesses (descriptor tables, the TSS, the frame an
// interrupt pushes) go through the same slow path and count.  Under the
// monitors the CPU's linear addresses are the guest's — shadow page tables
// and the EPT model map guest-linear to host-physical — so the same ranges
// work; accesses the monitors make on the guest's behalf through
// GuestMemory are not CPU accesses and do not trigger.

/// One watched range of linear addresses.
public struct Watchpoint: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// Writes only (gdb `watch`, `Z2`).
        case write
        /// Reads only (gdb `rwatch`, `Z3`).  Hardware cannot watch reads alone
        /// (DR7 R/W = 11 is read *or* write); Ringside can.
        case read
        /// Reads and writes (gdb `awatch`, `Z4`).
        case access

        func matches(write: Bool) -> Bool {
            switch self {
            case .write: return write
            case .read: return !write
            case .access: return true
            }
        }
    }
    public var address: UInt32
    /// Bytes watched from `address` (any length from 1 up; hardware allows 1, 2, 4 or 8).
    public var length: UInt32
    public var kind: Kind

    public init(address: UInt32, length: UInt32, kind: Kind) {
        self.address = address; self.length = max(length, 1); self.kind = kind
    }

    /// True when [lin, lin + size) overlaps the watched range.
    func overlaps(_ lin: UInt32, _ size: Int) -> Bool {
        UInt64(address) < UInt64(lin) + UInt64(size) && UInt64(lin) < UInt64(address) + UInt64(length)
    }

    /// The linear page numbers the range touches.
    var pages: ClosedRange<UInt32> {
        let last = UInt32(min(UInt64(address) + UInt64(length) - 1, 0xFFFF_FFFF))
        return (address >> 12)...(last >> 12)
    }
}

/// A watched range touched by an instruction.
public struct WatchHit: Sendable, Equatable {
    /// Index of the watchpoint in `CPU.watchpoints` when it was hit.
    public var index: Int
    public var watchpoint: Watchpoint
    /// The first access of the instruction that touched the range: linear address and size.
    public var address: UInt32
    public var size: Int
    /// True when any of the instruction's accesses to the range was a write.
    public var write: Bool
    /// EIP of the instruction that made the access (the run stops after it).
    public var eip: UInt32
    /// The retired-instruction count before that instruction.
    public var instruction: UInt64
}

extension CPU {
    /// At most this many hits are kept between two `takeWatchHits()`.
    static let maxWatchHits = 64

    /// Rebuilds the per-page marks after `watchpoints` changed, and empties the
    /// TLB so that no fast entry for a newly watched page survives.
    func watchpointsChanged() {
        var reads: Set<UInt32> = [], writes: Set<UInt32> = []
        for w in watchpoints {
            // A read tag also serves read-modify-writes (hostWrite), so a page
            // watched for reads loses both tags; a write watch only the write tag.
            if w.kind != .write { reads.formUnion(w.pages) }
            if w.kind != .read { writes.formUnion(w.pages) }
        }
        watchReadPages = reads
        watchWritePages = writes
        watchActive = !watchpoints.isEmpty
        flushTLB(global: true)
        exitBlock = true
    }

    /// The TLB tags a new entry for linear page `page` may have (called by
    /// `fillTLB` only while watchpoints are set).
    func watchFilter(page: UInt32, read: inout Bool, write: inout Bool) {
        if watchReadPages.contains(page) { read = false; write = false }
        if watchWritePages.contains(page) { write = false }
    }

    /// Called by the slow paths after an access of `size` bytes at `lin` that
    /// lies within one page, while watchpoints are set.
    @inline(never)
    func checkWatchpoints(_ lin: UInt32, _ size: Int, write: Bool) {
        for (k, w) in watchpoints.enumerated() where w.kind.matches(write: write) && w.overlaps(lin, size) {
            recordWatchHit(k, w, lin, size, write: write)
        }
    }

    private func recordWatchHit(_ k: Int, _ w: Watchpoint, _ lin: UInt32, _ size: Int, write: Bool) {
        // One hit per watchpoint per instruction: a REP string instruction or a
        // page-crossing access comes here many times.
        if let j = watchHits.lastIndex(where: { $0.index == k && $0.instruction == instructions && $0.eip == eip }) {
            if write && !watchHits[j].write {
                // A read-modify-write: the stop says it wrote.
                watchHits[j].write = true
                if stopRequest == .watchpoint(w.address, write: false) { stopRequest = .watchpoint(w.address, write: true) }
            }
            return
        }
        if watchHits.count < CPU.maxWatchHits {
            watchHits.append(WatchHit(index: k, watchpoint: w, address: lin, size: size, write: write,
                                      eip: eip, instruction: instructions))
        }
        // Stop after this instruction, unless something weightier (a shutdown,
        // an unsupported feature) already asked to.  A plain request (the
        // debugger's probe, debug-exit) gives way: the machine returns its own
        // pending stop on the next run.
        if stopRequest == nil || stopRequest == .requested {
            stopRequest = .watchpoint(w.address, write: write)
        }
    }

    /// The hits recorded since the last call, and forgets them.
    public func takeWatchHits() -> [WatchHit] {
        defer { watchHits.removeAll(keepingCapacity: true) }
        return watchHits
    }
}
