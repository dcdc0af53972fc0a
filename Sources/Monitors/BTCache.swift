import X86

// The translation cache of `bt` (Adams & Agesen §3; VMware's TC): translated
// guest kernel code in monitor memory, host-physical MonitorLayout.tcStart
// up to tcEnd, which the CPU fetches through the monitor window at CPL 1.
// It is append-only: a block is written once and never moved; what changes
// afterwards is only the 32-bit displacement of a jump when a block gets
// *chained* to its successor.  When the space runs out, everything is
// flushed and translation starts over (VMware did the same).
//
// Besides the bytes, the cache keeps the maps the monitor needs:
//  - guest linear address of an instruction -> where its translation starts;
//  - TC address -> the guest address the guest would be at *before* that
//    translated instruction runs (an exception, interrupt or debugger stop
//    inside translated code must show the guest a guest address);
//  - TC address of each callout -> what the monitor must do there;
//  - which jumps were patched to enter a block (to unchain it when its
//    guest code is overwritten), and which guest frames hold a block's code.

/// What the monitor does when translated code reaches a callout (`int 0xF0/0xF1`).
enum Callout {
    /// Run the guest instruction at `guest` on the vCPU (privileged, sensitive, I/O, indirect control flow).
    case emulate(guest: UInt32, ins: Instr)
    /// Translate `target` if needed, patch the jump at `site` to go there directly, and go.
    case chain(target: UInt32, site: UInt32?)
    /// The inline return found no landing pad for the return address (BTReturns.swift).
    case returnMiss
}

/// How to turn the CPU state at a TC address into the guest's, when the
/// translated code is between two guest instructions (the inline return:
/// ECX saved on the stack above the return address, BTTranslator.swift).
enum TCFixup: UInt8 {
    case none
    /// ECX is saved at [ESP]: restore it; the guest is still *at* the RET.
    case savedBeforeReturn
    /// ECX is saved at [ESP], the return address at [ESP+4]: finish the RET.
    case savedAfterReturn
    /// ECX is back; the return address is at [ESP]: finish the RET.
    case poppedAfterReturn
}

/// How a guest instruction was translated.
public enum TCRewrite: String, Sendable, CaseIterable {
    /// Copied as it is.
    case ident = "IDENT"
    /// Replaced by a few instructions that work on the vCPU, no monitor entry.
    case inline = "INLINE"
    /// Replaced by a call into the monitor.
    case callout = "CALLOUT"
    /// A PC-relative branch or call, redirected to translated code.
    case branch = "BRANCH"
}

/// One guest instruction of a block beside its translation.
public struct TCRow: Sendable, Equatable {
    public var guest: UInt32
    public var original: String
    public var rewrite: TCRewrite
    public var reason: String
    /// The translated instructions: TC address and text.
    public var translated: [TCLine]
}

public struct TCLine: Sendable, Equatable {
    public var address: UInt32
    public var text: String
}

/// A translated basic block.
public struct TCBlock: Sendable {
    public var guestStart: UInt32
    public var guestEnd: UInt32
    public var tcStart: UInt32
    public var tcEnd: UInt32
    public var rows: [TCRow]
    /// Guest-physical frames its guest code came from.
    var frames: Set<UInt32>
    /// The block laid out right after it, which its not-taken branch falls
    /// into with no jump (dropping that block must drop this one too).
    var fallsInto: UInt32? = nil
}

/// Counts for `info tc` and `stats`.
public struct TCStats: Sendable, Equatable {
    public var blocks = 0
    public var instructions = 0
    public var bytes = 0
    public var lookups = 0
    public var hits = 0
    public var chains = 0
    public var callouts = 0
    public var invalidations = 0
    public var flushes = 0
}

final class TranslationCache {
    unowned(unsafe) let cpu: CPU
    private(set) var next = MonitorLayout.tcStart
    var stats = TCStats()
    private(set) var blocks: [UInt32: TCBlock] = [:]
    /// Guest linear instruction address -> TC linear address of its translation.
    private(set) var entry: [UInt32: UInt32] = [:]
    private(set) var callouts: [UInt32: Callout] = [:]
    /// Append-only, in TC order: (TC address, guest address before it runs).
    private var reverse: [(tc: UInt32, guest: UInt32, fixup: TCFixup)] = []
    /// Guest target -> TC addresses of rel32 fields patched to jump to its translation.
    private var incoming: [UInt32: [UInt32]] = [:]
    private var byFrame: [UInt32: Set<UInt32>] = [:]
    /// Set when an invalidation could not unchain a jump (the cache was full).
    private(set) var needsFlush = false

    /// Bytes the cache may use (all of its region unless a test asks for less, to see it fill).
    let capacity: UInt32

    init(cpu: CPU, capacity: UInt32) {
        self.cpu = cpu
        self.capacity = min(capacity, MonitorLayout.tcEnd - MonitorLayout.tcStart)
    }

    static let linearStart = MonitorLayout.linear(ofHost: MonitorLayout.tcStart)
    /// The cache runs to the top of the linear address space.
    func contains(_ lin: UInt32) -> Bool { lin >= Self.linearStart }

    /// Room for a block of `bytes`? (The translator asks before it starts.)
    func hasRoom(_ bytes: Int) -> Bool { next &+ UInt32(bytes) <= MonitorLayout.tcStart &+ capacity }
    var linearNext: UInt32 { MonitorLayout.linear(ofHost: next) }

    /// Appends bytes; returns the TC linear address they start at.
    @discardableResult
    func emit(_ bytes: [UInt8], guestBefore: UInt32, fixup: TCFixup = .none) -> UInt32 {
        let at = linearNext
        for (k, b) in bytes.enumerated() { cpu.writePhysical(next &+ UInt32(k), 1, UInt32(b)) }
        next &+= UInt32(bytes.count)
        reverse.append((at, guestBefore, fixup))
        stats.bytes += bytes.count
        return at
    }

    func addCallout(_ c: Callout, at tc: UInt32) { callouts[tc] = c }
    func setEntry(_ guest: UInt32, _ tc: UInt32) { entry[guest] = tc }

    /// Registers a block before its successor is laid out after it (counted by `add` later).
    func put(_ b: TCBlock) {
        blocks[b.guestStart] = b
        for f in b.frames { byFrame[f, default: []].insert(b.guestStart) }
    }

    func add(_ b: TCBlock) {
        put(b)
        stats.blocks += 1
        stats.instructions += b.rows.count
    }

    /// The guest address the guest is at when the CPU is about to run TC address `tc`.
    func guestAddress(_ tc: UInt32) -> UInt32? { mapping(tc)?.guest }

    func mapping(_ tc: UInt32) -> (guest: UInt32, fixup: TCFixup)? {
        var lo = 0, hi = reverse.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if reverse[mid].tc <= tc { lo = mid + 1 } else { hi = mid }
        }
        return lo == 0 ? nil : (reverse[lo - 1].guest, reverse[lo - 1].fixup)
    }

    /// Is `tc` the first translated instruction of a guest instruction? (Stepping stops only there.)
    func isBoundary(_ tc: UInt32) -> Bool {
        guard let g = guestAddress(tc) else { return true }
        return entry[g] == tc
    }

    /// A jump's rel32 field at `site` now goes to `target`'s translation at `tc`.
    func patch(site: UInt32, to tc: UInt32, target: UInt32) {
        let rel = tc &- (site &+ 4)
        cpu.writePhysical(site &- MonitorLayout.window, 4, rel)
        incoming[target, default: []].append(site)
        stats.chains += 1
    }

    /// Blocks whose guest code lies on `frame`: removed, and every jump
    /// chained into them sent back through a fresh chaining stub.
    /// Returns the guest start addresses of the blocks dropped.
    func invalidate(frame: UInt32) -> [UInt32] {
        guard var starts = byFrame.removeValue(forKey: frame) else { return [] }
        // With every block that falls into one of them, transitively.
        var grew = true
        while grew {
            grew = false
            for b in blocks.values where !starts.contains(b.guestStart) {
                if let f = b.fallsInto, starts.contains(f) { starts.insert(b.guestStart); grew = true }
            }
        }
        var dropped: [UInt32] = []
        for s in starts {
            guard let b = blocks.removeValue(forKey: s) else { continue }
            dropped.append(s)
            for f in b.frames { byFrame[f]?.remove(s) }
            for row in b.rows {
                guard let tc = entry[row.guest], tc >= b.tcStart, tc < b.tcEnd else { continue }
                entry[row.guest] = nil
                for site in incoming.removeValue(forKey: row.guest) ?? [] {
                    // No room for a stub: the jump would still enter stale code, so everything must go.
                    guard hasRoom(2) else { needsFlush = true; continue }
                    let stub = emit([0xCD, 0xF1], guestBefore: row.guest)
                    callouts[stub] = .chain(target: row.guest, site: site)
                    cpu.writePhysical(site &- MonitorLayout.window, 4, stub &- (site &+ 4))
                }
            }
            stats.invalidations += 1
        }
        return dropped
    }

    /// Everything goes: the cache is full, or the guest changed paging mode.
    func flush() {
        next = MonitorLayout.tcStart
        blocks.removeAll(); entry.removeAll(); callouts.removeAll()
        reverse.removeAll(); incoming.removeAll(); byFrame.removeAll()
        needsFlush = false
        stats.flushes += 1
    }

    /// The block holding guest address `g`, if translated.
    func block(containing g: UInt32) -> TCBlock? {
        if let b = blocks[g] { return b }
        return blocks.values.first { g >= $0.guestStart && g < $0.guestEnd }
    }
}

extension TCBlock {
    /// The block beside its translation, one guest instruction per row, each
    /// rewrite marked and explained (`translate`, `info tc`, golden tests).
    public func listing(label: (UInt32) -> String? = { _ in nil }, mark: UInt32? = nil) -> String {
        let name = label(guestStart).map { " <\($0)>" } ?? ""
        var s = "guest block \(hex(guestStart))-\(hex(guestEnd))\(name) -> TC \(hex(tcStart))-\(hex(tcEnd))\n"
        for row in rows {
            let left = (row.guest == mark ? "=> " : "   ") + hex(row.guest) + "  " + Self.pad(row.original, 30)
                + Self.pad(row.rewrite.rawValue, 8)
            for (k, l) in row.translated.enumerated() {
                s += (k == 0 ? left : String(repeating: " ", count: left.count)) + hex(l.address) + "  " + l.text + "\n"
            }
            if !row.reason.isEmpty { s += "       " + row.reason + "\n" }
        }
        return s
    }

    static func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }
}
