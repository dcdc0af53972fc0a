// The decoded-block cache (performance.md §1, §5): instructions are decoded
// once per basic block and kept in a pool, found again through a
// direct-mapped index keyed by physical address.  Every physical page that
// holds decoded code is marked; a write to such a page (which always takes
// the slow path, because the TLB never gives it a write tag) drops every
// block on the page, so self-modifying code and code and data sharing a page
// stay correct.

struct Block {
    var key: UInt64 = ~0
    var first: Int32 = 0
    var count: Int32 = 0
    var valid = false
    /// The physical pages the block's bytes come from (second = first when it fits in one).
    var page0: UInt32 = 0
    var page1: UInt32 = 0
}

struct BlockCache {
    static let indexSize = 1 << 14
    static let poolCapacity = 1 << 18
    static let maxBlocks = 1 << 16
    static let maxBlockLength = 32

    let index: UnsafeMutablePointer<Int32>          // -1 = empty
    let pool: UnsafeMutablePointer<Instr>
    let blockTable: UnsafeMutablePointer<Block>
    let codePages: UnsafeMutablePointer<UInt8>      // per physical page: holds code
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
        pool = .allocate(capacity: BlockCache.poolCapacity)
        pool.initialize(repeating: Instr(), count: BlockCache.poolCapacity)
        blockTable = .allocate(capacity: BlockCache.maxBlocks)
        blockTable.initialize(repeating: Block(), count: BlockCache.maxBlocks)
        pageCount = Int((UInt64(ramSize) + 0xFFF) >> 12)
        codePages = .allocate(capacity: max(pageCount, 1))
        codePages.initialize(repeating: 0, count: max(pageCount, 1))
    }

    func deallocate() {
        index.deallocate(); pool.deallocate(); blockTable.deallocate(); codePages.deallocate()
    }

    @inline(__always) static func slot(_ key: UInt64) -> Int {
        Int(truncatingIfNeeded: (key ^ (key >> 14)) & UInt64(indexSize - 1))
    }

    @inline(__always) func lookup(_ key: UInt64) -> Int32 {
        let id = index[BlockCache.slot(key)]
        if id >= 0 && blockTable[Int(id)].key == key && blockTable[Int(id)].valid { return id }
        return -1
    }

    func holdsCode(_ page: UInt32) -> Bool { Int(page) < pageCount && codePages[Int(page)] != 0 }

    /// Drops every block whose bytes lie on physical `page`.
    mutating func invalidatePage(_ page: UInt32) {
        guard let ids = blocksOnPage.removeValue(forKey: page) else { return }
        for id in ids where blockTable[Int(id)].valid {
            blockTable[Int(id)].valid = false
            invalidations += 1
        }
        codePages[Int(page)] = 0
        generation &+= 1
    }

    /// Called for every write to RAM that missed the TLB's write fast path.
    mutating func noteWrite(_ phys: UInt32, _ size: Int, cpu: CPU) {
        let p0 = phys >> 12, p1 = (phys &+ UInt32(size - 1)) >> 12
        if holdsCode(p0) { invalidatePage(p0) }
        if p1 != p0 && holdsCode(p1) { invalidatePage(p1) }
    }

    mutating func flushAll() {
        for i in 0..<BlockCache.indexSize { index[i] = -1 }
        for i in 0..<pageCount { codePages[i] = 0 }
        for i in 0..<blockCount { blockTable[i].valid = false }
        blocksOnPage.removeAll(keepingCapacity: true)
        poolUsed = 0
        blockCount = 0
        generation &+= 1
        flushes += 1
    }
}
