// The decoded-block cache (performance.md §1, §5): instructions are decoded
// once per basic block and kept in a pool, found again through a
// direct-mapped index keyed by physical address.  Every physical page that
// holds decoded code is marked and gets a bitmap of the bytes its blocks were
// decoded from.  A write to such a page always takes the slow path (the TLB
// never gives it a write tag); it drops exactly the blocks whose bytes it
// overwrites.  So self-modifying code is seen at once, and code and data
// sharing a page cost a slow-path store, not a re-decode.

struct Block {
    var key: UInt64 = ~0
    /// Physical address of the first byte and the number of bytes decoded.
    var phys: UInt32 = 0
    var bytes: UInt32 = 0
    var first: Int32 = 0
    var count: Int32 = 0
    var valid = false
    /// The physical pages the block's bytes come from (second = first when it fits in one).
    var page0: UInt32 = 0
    var page1: UInt32 = 0
    /// The union of its instructions' traits: the run loop checks the
    /// instruction intercept per instruction only in blocks where it can fire.
    var traits: UInt16 = 0
    /// How far beyond its first byte, in EIP, the block's last instruction
    /// byte lies: the block may run only while EIP + span is within CS's limit.
    var span: UInt32 = 0
    /// The linear address of CS:EIP it was built for, and whether a debugger
    /// breakpoint sits there: blocks are flushed whenever the breakpoint set
    /// changes, so `runBlocks` can chain past breakpoint-free blocks without
    /// looking the address up (entered at another linear address, it checks).
    var linear: UInt32 = 0
    var breakpoint = false
}

/// One entry of the jump cache: the block last found at a linear address.
struct JumpEntry {
    var lin: UInt32 = 0
    /// `BlockCache.stamp` at the time: the epoch, CS.D and whether CPL was 3.
    var stamp: UInt32 = 0
    var id: Int32 = -1
}

struct BlockCache {
    static let indexSize = 1 << 14
    /// The jump cache (QEMU's tb_jmp_cache): a direct-mapped table from the
    /// linear address of CS:EIP to a block, in front of the translation and
    /// the physical index.  An entry holds only while nothing that could
    /// change what that address fetches has happened since it was made:
    /// any TLB flush (CR3, CR0, CR4, INVLPG) or a flush of all blocks bumps
    /// `epoch`, which every entry's stamp must match.  A dropped block
    /// (self-modifying code) is caught by its `valid` flag, as block ids are
    /// reused only after a flush of all blocks.  Blocks that straddle a page
    /// or lie outside RAM are never entered: their lookup checks more.
    static let jumpSize = 1 << 12
    static let poolCapacity = 1 << 18
    static let maxBlocks = 1 << 16
    static let maxBlockLength = 32

    let index: UnsafeMutablePointer<Int32>          // -1 = empty
    let jumps: UnsafeMutablePointer<JumpEntry>
    /// Starts at 1 so that the zeroed entries of a fresh table never match.
    private(set) var epoch: UInt32 = 1
    let pool: UnsafeMutablePointer<Instr>
    let blockTable: UnsafeMutablePointer<Block>
    let codePages: UnsafeMutablePointer<UInt8>      // per physical page: holds code
    /// Per code page: 64 words = one bit per byte covered by a valid block.
    let codeBits: UnsafeMutablePointer<UnsafeMutablePointer<UInt64>?>
    let pageCount: Int
    var poolUsed = 0
    var blockCount = 0
    /// Blocks per code page, for invalidation.
    var blocksOnPage: [UInt32: [Int32]] = [:]
    /// Bumped whenever blocks are dropped, so the run loop leaves a dropped block at once.
    var generation: UInt64 = 0
    // Statistics
    var built: UInt64 = 0
    var invalidations: UInt64 = 0
    var flushes: UInt64 = 0

    init(ramSize: UInt32) {
        index = .allocate(capacity: BlockCache.indexSize)
        index.initialize(repeating: -1, count: BlockCache.indexSize)
        jumps = .allocate(capacity: BlockCache.jumpSize)
        jumps.initialize(repeating: JumpEntry(), count: BlockCache.jumpSize)
        pool = .allocate(capacity: BlockCache.poolCapacity)
        pool.initialize(repeating: Instr(), count: BlockCache.poolCapacity)
        blockTable = .allocate(capacity: BlockCache.maxBlocks)
        blockTable.initialize(repeating: Block(), count: BlockCache.maxBlocks)
        pageCount = Int((UInt64(ramSize) + 0xFFF) >> 12)
        codePages = .allocate(capacity: max(pageCount, 1))
        codePages.initialize(repeating: 0, count: max(pageCount, 1))
        codeBits = .allocate(capacity: max(pageCount, 1))
        codeBits.initialize(repeating: nil, count: max(pageCount, 1))
    }

    func deallocate() {
        for i in 0..<pageCount { codeBits[i]?.deallocate() }
        index.deallocate(); jumps.deallocate(); pool.deallocate(); blockTable.deallocate(); codePages.deallocate(); codeBits.deallocate()
    }

    /// The byte range [start, end) of `block` that lies on physical `page`.
    static func range(of b: Block, on page: UInt32) -> (Int, Int) {
        let start = UInt64(b.phys), end = UInt64(b.phys) + UInt64(b.bytes)
        let lo = max(start, UInt64(page) << 12), hi = min(end, (UInt64(page) + 1) << 12)
        return hi > lo ? (Int(lo & 0xFFF), Int(hi - (UInt64(page) << 12))) : (0, 0)
    }

    /// Marks `block`'s bytes on `page` as code.
    mutating func addCode(_ id: Int32, page: UInt32) {
        let p = Int(page)
        if codeBits[p] == nil {
            let bits = UnsafeMutablePointer<UInt64>.allocate(capacity: 64)
            bits.initialize(repeating: 0, count: 64)
            codeBits[p] = bits
        }
        let (lo, hi) = BlockCache.range(of: blockTable[Int(id)], on: page)
        for k in lo..<hi { codeBits[p]![k >> 6] |= 1 << UInt64(k & 63) }
        codePages[p] = 1
        blocksOnPage[page, default: []].append(id)
    }

    @inline(__always) static func slot(_ key: UInt64) -> Int {
        Int(truncatingIfNeeded: (key ^ (key >> 14)) & UInt64(indexSize - 1))
    }

    @inline(__always) func lookup(_ key: UInt64) -> Int32 {
        let id = index[BlockCache.slot(key)]
        if id >= 0 && blockTable[Int(id)].key == key && blockTable[Int(id)].valid { return id }
        return -1
    }

    /// The jump-cache entry for a linear address.
    @inline(__always) func jumpEntry(_ lin: UInt32) -> UnsafeMutablePointer<JumpEntry> {
        jumps + Int((lin ^ (lin >> 12)) & UInt32(BlockCache.jumpSize - 1))
    }
    /// What an entry made now must hold in `stamp` (the epoch in the high 30 bits).
    @inline(__always) func stamp(big: Bool, user: Bool) -> UInt32 {
        (epoch << 2) | (big ? 2 : 0) | (user ? 1 : 0)
    }
    /// Forgets every jump-cache entry at once.
    mutating func newEpoch() {
        epoch &+= 1
        if epoch == 1 << 30 {
            // The stamp would wrap onto old entries: clear them instead.
            for i in 0..<BlockCache.jumpSize { jumps[i] = JumpEntry() }
            epoch = 1
        }
    }

    func holdsCode(_ page: UInt32) -> Bool { Int(page) < pageCount && codePages[Int(page)] != 0 }

    /// Drops the blocks whose bytes on `page` overlap [lo, hi) (all of them by default).
    mutating func invalidate(page: UInt32, from lo: Int = 0, to hi: Int = 0x1000) {
        guard let ids = blocksOnPage[page] else { return }
        var keep: [Int32] = []
        for id in ids where blockTable[Int(id)].valid {
            let (a, b) = BlockCache.range(of: blockTable[Int(id)], on: page)
            if a < hi && lo < b {
                blockTable[Int(id)].valid = false
                invalidations += 1
                generation &+= 1
            } else {
                keep.append(id)
            }
        }
        // Rebuild the page's bitmap from the blocks that remain.
        let p = Int(page)
        if let bits = codeBits[p] { for w in 0..<64 { bits[w] = 0 } }
        blocksOnPage[page] = nil
        codePages[p] = 0
        if keep.isEmpty {
            codeBits[p]?.deallocate()
            codeBits[p] = nil
        } else {
            for id in keep { addCode(id, page: page) }
        }
    }

    /// Called for every write to RAM that missed the TLB's write fast path:
    /// drops the blocks decoded from the bytes written, if any.
    mutating func noteWrite(_ phys: UInt32, _ size: Int, cpu: CPU) {
        var a = phys
        let end = UInt64(phys) + UInt64(size)
        while UInt64(a) < end {
            let page = a >> 12
            let lo = Int(a & 0xFFF)
            let hi = Int(min(end - (UInt64(page) << 12), 0x1000))
            if Int(page) < pageCount, let bits = codeBits[Int(page)] {
                var hit = false
                for k in lo..<hi where bits[k >> 6] & (1 << UInt64(k & 63)) != 0 { hit = true; break }
                if hit { invalidate(page: page, from: lo, to: hi) }
            }
            a = (page + 1) << 12
        }
    }

    mutating func flushAll() {
        for i in 0..<BlockCache.indexSize { index[i] = -1 }
        for i in 0..<pageCount {
            codePages[i] = 0
            codeBits[i]?.deallocate()
            codeBits[i] = nil
        }
        for i in 0..<blockCount { blockTable[i].valid = false }
        blocksOnPage.removeAll(keepingCapacity: true)
        poolUsed = 0
        blockCount = 0
        newEpoch()
        generation &+= 1
        flushes += 1
    }
}
