import Testing
@testable import X86

/// Data watchpoints (Watchpoints.swift): a page holding a watched range
/// loses its fast TLB entries, so every data access to it — whatever
/// instruction makes it — takes the slow path, which compares it with the
/// ranges.  A hit stops the run after the instruction, as the trap of a
/// data breakpoint does (SDM Vol. 3 §17.3.1.2): EIP at the next one.
///
/// TestMachine runs flat with paging off and ESP = 0x9F00; the watched data
/// lives at 0x9000, unrelated data at 0x8000.
@Suite struct WatchpointTests {
    static let watched: UInt32 = 0x9000

    func machine(_ kind: Watchpoint.Kind, at a: UInt32 = watched, length: UInt32 = 4) -> TestMachine {
        let m = TestMachine()
        m.cpu.watchpoints = [Watchpoint(address: a, length: length, kind: kind)]
        return m
    }

    /// Loads `code` + HLT at 0x1000 and runs it.
    func run(_ m: TestMachine, _ code: [UInt8]) -> StopReason {
        m.run(code)
    }

    /// The fast form the decoder picks for `bytes` (the tests below must exercise the ones they name).
    func fastForm(_ bytes: [UInt8]) -> Fast? {
        let r = bytes.withUnsafeBufferPointer { Decoder.decode($0.baseAddress!, count: bytes.count, code16: false) }
        if case .ok(let i) = r { return i.fast }
        return nil
    }

    @Test func writeStopsAfterTheWritingInstruction() {
        let m = machine(.write)
        m.cpu.eax = 0x1234_5678
        // nasm:
        //     mov [0x9000], eax
        //     inc ebx
        //     inc ebx
        let stop = run(m, [0xA3, 0x00, 0x90, 0x00, 0x00, 0x43, 0x43])
        #expect(stop == .watchpoint(Self.watched, write: true))
        #expect(m.cpu.eip == 0x1005, "EIP after the MOV, mid-block")
        #expect(m.cpu.ebx == 0, "nothing after the MOV ran")
        #expect(m.u32(Self.watched) == 0x1234_5678, "the write happened")
        let hits = m.cpu.takeWatchHits()
        #expect(hits.count == 1)
        #expect(hits.first == WatchHit(index: 0, watchpoint: m.cpu.watchpoints[0], address: Self.watched, size: 4,
                                       write: true, eip: 0x1000, instruction: 0))
        #expect(m.cpu.takeWatchHits().isEmpty, "taken once")
        // Resuming goes on from the next instruction.
        #expect(m.cpu.run(maxInstructions: 100) == .halted)
        #expect(m.cpu.ebx == 2)
    }

    @Test func readWatchIgnoresWritesAndStopsOnReads() {
        let m = machine(.read)
        // nasm:
        //     mov [0x9000], eax
        //     mov eax, [0x9000]
        let stop = run(m, [0xA3, 0x00, 0x90, 0x00, 0x00, 0xA1, 0x00, 0x90, 0x00, 0x00])
        #expect(stop == .watchpoint(Self.watched, write: false))
        #expect(m.cpu.eip == 0x100A)
        #expect(m.cpu.takeWatchHits().map(\.eip) == [0x1005])
    }

    @Test func writeWatchIgnoresReads() {
        let m = machine(.write)
        // nasm:
        //     mov eax, [0x9000]
        #expect(run(m, [0xA1, 0x00, 0x90, 0x00, 0x00]) == .halted)
        #expect(m.cpu.watchHits.isEmpty)
    }

    @Test func accessWatchStopsOnBoth() {
        let m = machine(.access)
        // nasm:
        //     mov ecx, [0x9004]      ; beside the range: no hit
        //     mov eax, [0x9000]
        //     mov [0x9000], eax
        let code: [UInt8] = [0x8B, 0x0D, 0x04, 0x90, 0x00, 0x00, 0xA1, 0x00, 0x90, 0x00, 0x00, 0xA3, 0x00, 0x90, 0x00, 0x00]
        #expect(run(m, code) == .watchpoint(Self.watched, write: false))
        #expect(m.cpu.eip == 0x100B)
        #expect(m.cpu.run(maxInstructions: 100) == .watchpoint(Self.watched, write: true))
        #expect(m.cpu.eip == 0x1010)
        #expect(m.cpu.takeWatchHits().map(\.write) == [false, true])
    }

    /// PUSH is a fast form (ExecFast `push32`); the stack page is watched.
    @Test func pushIntoAWatchedStackSlot() {
        let m = machine(.write, at: 0x9EFC)
        #expect(fastForm([0x50]) == .pushR)
        // nasm:
        //     push eax
        //     pop ecx
        #expect(run(m, [0x50, 0x59]) == .watchpoint(0x9EFC, write: true))
        #expect(m.cpu.eip == 0x1001 && m.cpu.esp == 0x9EFC)
    }

    /// A read-modify-write fast form takes its host pointer from the write tag
    /// alone (`modify32`): a watched page must have none.
    @Test func fastFormReadModifyWrite() {
        for kind in [Watchpoint.Kind.write, .read, .access] {
            let m = machine(kind)
            m.cpu.ebx = Self.watched
            m.cpu.ecx = 5
            #expect(fastForm([0x01, 0x0B]) == .addMR)
            #expect(fastForm([0x89, 0x03]) == .movMR)
            // nasm:
            //     add [ebx], ecx
            #expect(run(m, [0x01, 0x0B]) == .watchpoint(Self.watched, write: kind != .read), "\(kind)")
            #expect(m.u32(Self.watched) == 5)
            let hits = m.cpu.takeWatchHits()
            #expect(hits.count == 1 && hits[0].write == (kind != .read), "one hit for the read and the write")
        }
    }

    /// REP MOVSD normally copies a page at a time through host pointers; into
    /// a watched range it goes element by element and stops after the last.
    @Test func repMovsIntoAWatchedRange() {
        let m = machine(.write, at: Self.watched + 12, length: 4)
        for k in 0..<8 { m.cpu.writePhysical(0x8000 + UInt32(4 * k), 4, UInt32(0x100 + k)) }
        // nasm:
        //     mov esi, 0x8000
        //     mov edi, 0x9000
        //     mov ecx, 8
        //     rep movsd
        let code: [UInt8] = [0xBE, 0x00, 0x80, 0x00, 0x00, 0xBF, 0x00, 0x90, 0x00, 0x00,
                             0xB9, 0x08, 0x00, 0x00, 0x00, 0xF3, 0xA5]
        #expect(run(m, code) == .watchpoint(Self.watched + 12, write: true))
        #expect(m.cpu.eip == 0x1011 && m.cpu.ecx == 0 && m.cpu.edi == 0x9020)
        let copied: [UInt32] = (0..<8).map { m.u32(0x9000 + UInt32(4 * $0)) }
        let source: [UInt32] = (0..<8).map { UInt32(0x100 + $0) }
        #expect(copied == source)
        let hits = m.cpu.takeWatchHits()
        #expect(hits.count == 1 && hits[0].address == Self.watched + 12 && hits[0].eip == 0x100F)
    }

    /// The source side of a string copy is a read.
    @Test func repMovsFromAWatchedRange() {
        let m = machine(.read, at: Self.watched + 28, length: 1)
        // nasm:
        //     mov esi, 0x9000
        //     mov edi, 0x8000
        //     mov ecx, 8
        //     rep movsd
        let code: [UInt8] = [0xBE, 0x00, 0x90, 0x00, 0x00, 0xBF, 0x00, 0x80, 0x00, 0x00,
                             0xB9, 0x08, 0x00, 0x00, 0x00, 0xF3, 0xA5]
        #expect(run(m, code) == .watchpoint(Self.watched + 28, write: false))
        #expect(m.cpu.ecx == 0)
    }

    /// A dword at 0x8FFE straddles into the watched page: the slow path splits
    /// it into bytes, and only bytes in the range count.
    @Test func pageCrossingAccess() {
        let m = machine(.access, at: Self.watched + 1, length: 1)
        // nasm:
        //     mov [0x8FFE], eax      ; bytes 0x8FFE-0x9001
        #expect(run(m, [0xA3, 0xFE, 0x8F, 0x00, 0x00]) == .watchpoint(Self.watched + 1, write: true))
        let hits = m.cpu.takeWatchHits()
        #expect(hits.count == 1 && hits[0].address == Self.watched + 1 && hits[0].size == 1)
        let n = machine(.access, at: Self.watched + 2, length: 2)
        // nasm:
        //     mov eax, [0x8FFE]      ; misses 0x9002
        #expect(run(n, [0xA1, 0xFE, 0x8F, 0x00, 0x00]) == .halted)
    }

    @Test func narrowAndOddLengths() {
        // A one-byte watch hit by a word read that overlaps it, missed by a byte write beside it.
        let m = machine(.access, at: Self.watched + 3, length: 1)
        // nasm:
        //     mov byte [0x9000], al
        //     mov ax, [0x9002]
        let code: [UInt8] = [0xA2, 0x00, 0x90, 0x00, 0x00, 0x66, 0xA1, 0x02, 0x90, 0x00, 0x00]
        #expect(run(m, code) == .watchpoint(Self.watched + 3, write: false))
        #expect(m.cpu.eip == 0x100B)
        // A 24-byte range across a page boundary watches both pages.
        let w = Watchpoint(address: 0x8FF0, length: 24, kind: .write)
        #expect(w.pages == 8...9)
        let n = TestMachine()
        n.cpu.watchpoints = [w]
        // nasm:
        //     mov [0x9000], eax
        #expect(n.run([0xA3, 0x00, 0x90, 0x00, 0x00]) == .watchpoint(0x8FF0, write: true))
    }

    /// Code is fetched with `translate` and `readPhysical`, never as data:
    /// watching the bytes being executed does not stop the run.
    @Test func instructionFetchIsNotADataAccess() {
        let m = TestMachine()
        m.cpu.watchpoints = [Watchpoint(address: 0x1000, length: 0x20, kind: .access)]
        // The INCs are fetched from the watched range and run; the MOV's data
        // read of the same bytes stops the run.
        // nasm:
        //     inc ebx
        //     inc ebx
        //     mov eax, [0x1000]
        #expect(m.run([0x43, 0x43, 0xA1, 0x00, 0x10, 0x00, 0x00]) == .watchpoint(0x1000, write: false))
        #expect(m.cpu.ebx == 2 && m.cpu.eax == 0x00A1_4343)
        #expect(m.cpu.takeWatchHits().map(\.eip) == [0x1002])
        // To the HLT, fetched from the range too: no more stops.
        #expect(m.cpu.run(maxInstructions: 100) == .halted)
        #expect(m.cpu.watchHits.isEmpty)
    }

    @Test func otherPagesAndOtherBytesOfTheSamePageDoNotStop() {
        let m = machine(.access)
        // nasm:
        //     mov [0x9010], eax
        //     mov [0x8000], eax
        #expect(run(m, [0xA3, 0x10, 0x90, 0x00, 0x00, 0xA3, 0x00, 0x80, 0x00, 0x00]) == .halted)
        #expect(m.cpu.watchHits.isEmpty)
        // The unrelated page keeps its fast entries; the watched one has none.
        #expect(tags(m, 0x8000) == (true, true))
        #expect(tags(m, Self.watched) == (false, false))
    }

    /// (read tag valid, write tag valid) of the TLB entry for `lin`.
    func tags(_ m: TestMachine, _ lin: UInt32) -> (Bool, Bool) {
        let i = Int((lin >> 12) & UInt32(TLB.entries - 1))
        let page = lin & 0xFFFF_F000
        return (m.cpu.tlb.readTag[i] & 0xFFFF_F001 == page | 1, m.cpu.tlb.writeTag[i] & 0xFFFF_F001 == page | 1)
    }

    @Test func aWriteWatchKeepsTheReadTag() {
        let m = machine(.write)
        // nasm:
        //     mov eax, [0x9000]
        #expect(run(m, [0xA1, 0x00, 0x90, 0x00, 0x00]) == .halted)
        #expect(tags(m, Self.watched) == (true, false))
    }

    /// Setting a watchpoint empties the TLB (a fast entry made before must not
    /// survive), clearing one lets the page be cached again; decoded blocks
    /// survive both.
    @Test func settingAndClearingFlushTheTLBButNotTheBlocks() {
        let m = TestMachine()
        // nasm:
        //     mov [0x9000], eax
        let code: [UInt8] = [0xA3, 0x00, 0x90, 0x00, 0x00]
        #expect(m.run(code) == .halted)
        #expect(tags(m, Self.watched) == (true, true))
        let built = m.cpu.blocks.built
        m.cpu.watchpoints = [Watchpoint(address: Self.watched, length: 4, kind: .write)]
        #expect(tags(m, Self.watched) == (false, false))
        m.cpu.halted = false
        m.cpu.eip = 0x1000
        #expect(m.cpu.run(maxInstructions: 100) == .watchpoint(Self.watched, write: true))
        m.cpu.watchpoints = []
        _ = m.cpu.takeWatchHits()
        m.cpu.eip = 0x1000
        #expect(m.cpu.run(maxInstructions: 100) == .halted)
        #expect(tags(m, Self.watched) == (true, true))
        #expect(m.cpu.blocks.built == built, "no block was decoded again")
    }

    /// With paging on, the watch is on the linear address: 0x400010 maps to
    /// physical 0x50010, and an access through another mapping of the same
    /// frame does not stop (a data breakpoint compares linear addresses).
    @Test func pagingOnWatchesLinearAddresses() {
        let m = SysMachine()
        m.enablePaging()
        m.map(0x0040_0000, to: 0x50000)
        m.map(0x0040_1000, to: 0x50000)     // an alias of the same frame
        m.cpu.watchpoints = [Watchpoint(address: 0x0040_0010, length: 4, kind: .write)]
        // nasm:
        //     mov dword [0x401010], 5      ; the alias: no stop
        //     mov dword [0x400010], 5
        let code: [UInt8] = [0xC7, 0x05, 0x10, 0x10, 0x40, 0x00, 0x05, 0x00, 0x00, 0x00,
                             0xC7, 0x05, 0x10, 0x00, 0x40, 0x00, 0x05, 0x00, 0x00, 0x00]
        #expect(m.run(code + [0xF4]) == .watchpoint(0x0040_0010, write: true))
        #expect(m.cpu.eip == 0x1014)
        #expect(m.u32(0x50010) == 5)
        #expect(m.cpu.takeWatchHits().map(\.eip) == [0x100A])
        #expect(m.pte(0x0040_0000) & PTE.dirty != 0, "the walk's dirty bit as usual")
    }

    /// The same instruction with paging on, at CPL 3, through a user page.
    @Test func pagingOnAtCPL3() {
        let m = SysMachine()
        m.enablePaging()
        m.map(0x0040_0000, to: 0x50000)
        m.enter(cpl: 3)
        m.cpu.watchpoints = [Watchpoint(address: 0x0040_0010, length: 4, kind: .read)]
        // nasm:
        //     mov eax, [0x400010]
        #expect(m.run([0xA1, 0x10, 0x00, 0x40, 0x00, 0xF4]) == .watchpoint(0x0040_0010, write: false))
        #expect(m.cpu.eip == 0x1005)
    }

    /// INT n pushes its frame onto the ring-0 stack; a watched slot there stops
    /// the run after the INT, at the handler's first instruction.
    @Test func interruptFrameWrite() {
        let m = SysMachine()
        m.deliverExceptions = true
        m.cpu.watchpoints = [Watchpoint(address: Layout.workingStack[0] - 12, length: 4, kind: .write)]
        // nasm:
        //     int 0x30
        #expect(m.run([0xCD, 0x30]) == .watchpoint(Layout.workingStack[0] - 12, write: true))
        #expect(m.cpu.eip == m.handlerAddress(0x30))
        #expect(m.u32(Layout.workingStack[0] - 12) == 0x1002, "the return EIP")
    }

    /// No watchpoint: the TLB is filled as before, and a hit is never recorded.
    @Test func nothingSetNothingChanges() {
        let m = TestMachine()
        #expect(m.run([0xA3, 0x00, 0x90, 0x00, 0x00]) == .halted)
        #expect(!m.cpu.watchActive && m.cpu.watchHits.isEmpty)
        #expect(tags(m, Self.watched) == (true, true))
    }
}
