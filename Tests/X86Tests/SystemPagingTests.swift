import Testing
@testable import X86

/// 32-bit paging: the walk, 4 KiB and 4 MiB pages, access rights, #PF error
/// codes and CR2, accessed and dirty bits, the TLB and its invalidation, and
/// the decoded-block cache when mappings change (SDM Vol. 3 §4.3 "32-bit
/// paging", §4.6 "Access rights", §4.7 "Page-fault exceptions", §4.8
/// "Accessed and dirty flags", §4.10 "Caching translation information").
/// `enablePaging()` identity-maps 0-4 MiB (user, writable); the tests map
/// 0x400000 and up through a second page table onto frames 0x50000-0x52000.
@Suite struct SystemPagingTests {
    static let a: UInt32 = 0x0040_0000        // the linear page most tests use

    /// SDM §4.8: a read sets A in the PDE and the PTE; a write also sets D in
    /// the PTE (a PDE that references a page table has no D).
    @Test func walkSetsAccessedThenDirty() {
        let m = SysMachine()
        m.enablePaging()
        m.map(Self.a, to: 0x50000, flags: 7)
        m.w32(0x50010, 0x600D_F00D)
        // nasm:
        //     mov eax, [0x400010]
        #expect(m.run([0xA1, 0x10, 0x00, 0x40, 0x00], limit: 1) == .limit)
        #expect(m.cpu.eax == 0x600D_F00D)
        #expect(m.pde(Self.a) & (PTE.accessed | PTE.dirty) == PTE.accessed)
        #expect(m.pte(Self.a) & (PTE.accessed | PTE.dirty) == PTE.accessed)
        // nasm:
        //     mov [0x400020], eax
        #expect(m.run([0xA3, 0x20, 0x00, 0x40, 0x00], limit: 1) == .limit)
        #expect(m.u32(0x50020) == 0x600D_F00D)
        #expect(m.pte(Self.a) & (PTE.accessed | PTE.dirty) == PTE.accessed | PTE.dirty)
        #expect(m.pde(Self.a) & PTE.dirty == 0)
    }

    /// SDM §4.3, Table 4-4: with CR4.PSE a PDE with PS = 1 maps a 4 MiB page;
    /// A and D are set in the PDE itself.
    @Test func fourMiBPage() {
        let m = SysMachine()
        m.enablePaging()
        m.cpu.cr4 = CR4.pse
        m.setPDE(0x0080_0000, 0x0000_0000 | PTE.pageSize | 7)     // 0x800000-0xBFFFFF -> 0-0x3FFFFF
        m.w32(0x8010, 0xB16_B00B)
        // nasm:
        //     mov eax, [0x808010]
        //     mov [0x808020], eax
        let code: [UInt8] = [0xA1, 0x10, 0x80, 0x80, 0x00, 0xA3, 0x20, 0x80, 0x80, 0x00]
        #expect(m.run(code, limit: 1) == .limit && m.cpu.eax == 0xB16_B00B)
        #expect(m.pde(0x0080_0000) & (PTE.accessed | PTE.dirty) == PTE.accessed)
        #expect(m.resume(at: 0x1005, limit: 1) == .limit && m.u32(0x8020) == 0xB16_B00B)
        #expect(m.pde(0x0080_0000) & (PTE.accessed | PTE.dirty) == PTE.accessed | PTE.dirty)
    }

    /// Without CR4.PSE the PS bit is ignored: the PDE names a page table (SDM §4.3).
    @Test func pageSizeBitIgnoredWithoutPSE() {
        let m = SysMachine()
        m.enablePaging()
        m.setPDE(0x0080_0000, 0x0000_0000 | PTE.pageSize | 7)     // page table at physical 0
        m.w32(0x20, 0x9000 | 7)                                    // its PTE 8: 0x808000 -> 0x9000
        m.w32(0x8000, 0x1111_1111); m.w32(0x9000, 0x2222_2222)
        // nasm:
        //     mov eax, [0x808000]
        #expect(m.run([0xA1, 0x00, 0x80, 0x80, 0x00], limit: 1) == .limit)
        #expect(m.cpu.eax == 0x2222_2222)
    }

    /// Bits 21:13 of a 4 MiB PDE are reserved (no PSE-36 in CPUID): #PF with
    /// P and RSVD set, plus W/R and U/S (SDM §4.7, Table 4-5).
    @Test func reservedBitsInA4MiBPDE() {
        for (cpl, write, code) in [(UInt8(0), false, UInt32(0x9)), (0, true, 0xB), (3, false, 0xD), (3, true, 0xF)] {
            let m = SysMachine()
            m.enablePaging()
            m.cpu.cr4 = CR4.pse
            m.setPDE(0x0080_0000, 0x2000 | PTE.pageSize | 7)
            m.enter(cpl: cpl)
            // nasm:
            //     mov eax, [0x808010]
            //     mov [0x808010], eax
            let rw: [UInt8] = [0xA1, 0x10, 0x80, 0x80, 0x00, 0xA3, 0x10, 0x80, 0x80, 0x00]
            m.load(rw, at: 0x1000)
            let at: UInt32 = write ? 0x1005 : 0x1000
            expectFault(m, m.resume(at: at, limit: 1), CPUException(Vector.pf, code), eip: at)
            #expect(m.cpu.cr2 == 0x0080_8010)
            #expect(m.pde(0x0080_0000) & PTE.accessed == 0)
        }
    }

    // MARK: #PF error codes (SDM §4.7, Figure 4-12)

    /// Not present at either level: P = 0, with W/R and U/S of the access; CR2 = the linear address; no A bits.
    @Test func notPresentErrorCodes() {
        for level in ["PDE", "PTE"] {
            for cpl: UInt8 in [0, 3] {
                for write in [false, true] {
                    let m = SysMachine()
                    m.enablePaging()
                    m.map(Self.a, to: 0x50000, flags: level == "PTE" ? 6 : 7)
                    if level == "PDE" { m.setPDE(Self.a, m.pde(Self.a) & ~PTE.present) }
                    m.enter(cpl: cpl)
                    // nasm:
                    //     mov eax, [0x400FFC]
                    //     mov [0x400FFC], eax
                    let code: [UInt8] = [0xA1, 0xFC, 0x0F, 0x40, 0x00, 0xA3, 0xFC, 0x0F, 0x40, 0x00]
                    m.load(code, at: 0x1000)
                    let at: UInt32 = write ? 0x1005 : 0x1000
                    let err = (write ? PFError.write : 0) | (cpl == 3 ? PFError.user : 0)
                    expectFault(m, m.resume(at: at, limit: 1), CPUException(Vector.pf, err), eip: at)
                    #expect(m.cpu.cr2 == 0x0040_0FFC, "\(level) CPL \(cpl) write \(write)")
                    #expect(m.pde(Self.a) & PTE.accessed == 0 && m.pte(Self.a) & PTE.accessed == 0)
                }
            }
        }
    }

    struct Rights: Sendable, CustomTestStringConvertible {
        let cpl: UInt8, write: Bool, wp: Bool, pde: UInt32, pte: UInt32
        let error: UInt32?              // nil: allowed
        var testDescription: String {
            "CPL \(cpl) \(write ? "write" : "read") WP=\(wp ? 1 : 0) PDE \(pde) PTE \(pte)"
        }
    }
    /// SDM §4.6.1: user accesses need U/S = 1 in both entries, user writes
    /// R/W = 1 in both; supervisor (CPL 0-2) writes need R/W = 1 in both only
    /// when CR0.WP = 1; supervisor reads of user pages are allowed (no SMAP).
    static let rights: [Rights] = [
        Rights(cpl: 3, write: false, wp: false, pde: 7, pte: 3, error: 5),
        Rights(cpl: 3, write: false, wp: false, pde: 3, pte: 7, error: 5),
        Rights(cpl: 3, write: true, wp: false, pde: 7, pte: 5, error: 7),
        Rights(cpl: 3, write: true, wp: false, pde: 5, pte: 7, error: 7),
        Rights(cpl: 3, write: true, wp: false, pde: 3, pte: 3, error: 7),
        Rights(cpl: 3, write: true, wp: true, pde: 7, pte: 7, error: nil),
        Rights(cpl: 3, write: false, wp: true, pde: 5, pte: 5, error: nil),
        Rights(cpl: 0, write: true, wp: false, pde: 7, pte: 5, error: nil),
        Rights(cpl: 0, write: true, wp: false, pde: 1, pte: 1, error: nil),
        Rights(cpl: 0, write: true, wp: true, pde: 7, pte: 5, error: 3),
        Rights(cpl: 0, write: true, wp: true, pde: 5, pte: 7, error: 3),
        Rights(cpl: 0, write: true, wp: true, pde: 3, pte: 3, error: nil),
        Rights(cpl: 0, write: false, wp: true, pde: 5, pte: 5, error: nil),
        Rights(cpl: 1, write: false, wp: false, pde: 3, pte: 3, error: nil),
        Rights(cpl: 2, write: true, wp: false, pde: 7, pte: 5, error: nil),
        Rights(cpl: 1, write: true, wp: true, pde: 7, pte: 1, error: 3),
        Rights(cpl: 2, write: true, wp: true, pde: 3, pte: 7, error: nil),
    ]

    /// The rights table; a denied access writes nothing and sets no A or D bit (issue: "set only after every check passes").
    @Test(arguments: rights)
    func accessRights(_ r: Rights) {
        let m = SysMachine()
        m.enablePaging(wp: r.wp)
        m.map(Self.a, to: 0x50000, flags: r.pte)
        m.setPDE(Self.a, (m.pde(Self.a) & ~7) | r.pde)
        m.w32(0x50010, 0x1234_5678)
        m.enter(cpl: r.cpl)
        m.cpu.eax = 0xAAAA_AAAA
        // nasm:
        //     mov eax, [0x400010]
        //     mov [0x400010], eax
        let code: [UInt8] = [0xA1, 0x10, 0x00, 0x40, 0x00, 0xA3, 0x10, 0x00, 0x40, 0x00]
        m.load(code, at: 0x1000)
        let at: UInt32 = r.write ? 0x1005 : 0x1000
        let stop = m.resume(at: at, limit: 1)
        if let e = r.error {
            expectFault(m, stop, CPUException(Vector.pf, e), eip: at)
            #expect(m.cpu.cr2 == 0x0040_0010)
            #expect(m.u32(0x50010) == 0x1234_5678 && m.cpu.eax == 0xAAAA_AAAA)
            #expect(m.pde(Self.a) & (PTE.accessed | PTE.dirty) == 0 && m.pte(Self.a) & (PTE.accessed | PTE.dirty) == 0)
        } else {
            #expect(stop == .limit)
            #expect(r.write ? m.u32(0x50010) == 0xAAAA_AAAA : m.cpu.eax == 0x1234_5678)
            #expect(m.pte(Self.a) & (PTE.accessed | PTE.dirty) == PTE.accessed | (r.write ? PTE.dirty : 0))
        }
    }

    /// Faults restart: a REP MOVSD running into a not-present page faults with
    /// the REP MOVSD's EIP and the iterations done counted in ECX/ESI/EDI; the
    /// handler maps the page and IRETs, and the instruction completes
    /// (SDM Vol. 3 §6.5: the saved EIP of a fault points at the faulting
    /// instruction; Vol. 2 REP: registers are updated per iteration).
    @Test func pageFaultHandlerMapsThePageAndTheInstructionRestarts() {
        let m = SysMachine()
        m.deliverExceptions = true
        m.enablePaging()
        m.map(Self.a, to: 0x50000)
        m.map(Self.a + 0x1000, to: 0x51000, flags: 6)              // not present
        m.load([1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0], at: 0x8000)
        // nasm org 0x2000:
        //     mov [0x8100], ecx      ; ECX at the fault
        //     mov eax, cr2
        //     mov [0x8104], eax
        //     mov eax, [esp + 4]     ; the saved EIP
        //     mov [0x8108], eax
        //     or dword [0x22004], 1  ; the PTE of 0x401000: present
        //     add esp, 4             ; drop the error code
        //     iret
        m.load([
            0x89, 0x0D, 0x00, 0x81, 0x00, 0x00, 0x0F, 0x20, 0xD0, 0xA3, 0x04, 0x81, 0x00, 0x00,
            0x8B, 0x44, 0x24, 0x04, 0xA3, 0x08, 0x81, 0x00, 0x00, 0x83, 0x0D, 0x04, 0x20, 0x02,
            0x00, 0x01, 0x83, 0xC4, 0x04, 0xCF,
        ], at: 0x2000)
        m.setIDT(Vector.pf, offset: 0x2000, access: Acc.intGate(0))
        // nasm:
        //     mov esi, 0x8000
        //     mov edi, 0x400FF8
        //     mov ecx, 4
        //     cld
        //     rep movsd              ; 0x1010
        //     hlt
        let code: [UInt8] = [
            0xBE, 0x00, 0x80, 0x00, 0x00, 0xBF, 0xF8, 0x0F, 0x40, 0x00, 0xB9, 0x04, 0x00, 0x00,
            0x00, 0xFC, 0xF3, 0xA5, 0xF4,
        ]
        #expect(m.run(code, limit: 100) == .halted && m.cpu.eip == 0x1013)
        #expect(m.u32(0x8100) == 2 && m.u32(0x8104) == 0x0040_1000 && m.u32(0x8108) == 0x1010)
        #expect(m.cpu.ecx == 0 && m.cpu.esi == 0x8010 && m.cpu.edi == 0x0040_1008)
        #expect(m.dwords(0x50FF8, 2) == [1, 2] && m.dwords(0x51000, 2) == [3, 4])
    }

    /// Descriptor-table, IDT and TSS accesses are implicit supervisor accesses
    /// (SDM §4.6): ring 3 loads a segment (and sets its accessed bit) and takes
    /// an interrupt through tables on supervisor-only pages.
    @Test func implicitSupervisorAccesses() {
        let m = SysMachine()
        m.enablePaging()
        for page: UInt32 in [0x10000, 0x11000, 0x12000, 0xA000] { m.setPTE(page, page | 3) }   // supervisor only
        m.setIDT(0x80, offset: m.handlerAddress(0x80), access: Acc.intGate(3))
        m.segment(12, base: 0, limit: 0xFFFFF, access: 0xF2)      // data DPL 3, accessed bit clear
        m.enter(cpl: 3)
        // nasm:
        //     mov bx, 0x63
        //     mov ds, bx
        //     int 0x80
        #expect(m.run([0x66, 0xBB, 0x63, 0x00, 0x8E, 0xDB, 0xCD, 0x80], limit: 10) == .halted)
        #expect(m.cpu.eip == m.haltedIn(0x80))
        #expect(m.gdtHigh(12) & 0x100 != 0, "accessed bit written to a supervisor page")
        #expect(m.dwords(0xB000 - 20, 5) == [0x1008, 0x3B, 2, 0x7800, 0x43])
    }

    /// A write that crosses into a not-present page faults before writing any
    /// byte; CR2 is the first byte of the second page (SDM §4.7).
    @Test func pageCrossingAccessFaultsBeforeWriting() {
        let m = SysMachine()
        m.enablePaging()
        m.map(Self.a, to: 0x50000)
        m.map(Self.a + 0x1000, to: 0x51000, flags: 6)             // not present
        // nasm:
        //     mov dword [0x400FFE], 0x11223344
        //     mov eax, [0x400FFE]
        let code: [UInt8] = [0xC7, 0x05, 0xFE, 0x0F, 0x40, 0x00, 0x44, 0x33, 0x22, 0x11, 0xA1, 0xFE, 0x0F, 0x40, 0x00]
        expectFault(m, m.run(code, limit: 1), CPUException(Vector.pf, 2), eip: 0x1000)
        #expect(m.u16(0x50FFE) == 0, "no byte written")
        #expect(m.cpu.cr2 == 0x0040_1000)
        expectFault(m, m.resume(at: 0x100A, limit: 1), CPUException(Vector.pf, 0), eip: 0x100A)
        #expect(m.cpu.cr2 == 0x0040_1000)
    }

    /// Instruction fetch from a not-present or supervisor page: #PF with EIP =
    /// CR2 = the fetch address; an instruction that straddles into a
    /// not-present page faults with CR2 = that page and EIP = its first byte.
    @Test func instructionFetchFaults() {
        for (cpl, flags, err) in [(UInt8(0), UInt32(6), UInt32(0)), (3, 6, 4), (3, 3, 5)] {
            let m = SysMachine()
            m.enablePaging()
            m.map(Self.a + 0x2000, to: 0x52000, flags: flags)
            m.enter(cpl: cpl)
            // nasm:
            //     jmp 0x402000
            let stop = m.run([0xE9, 0xFB, 0x0F, 0x40, 0x00], limit: 2)
            expectFault(m, stop, CPUException(Vector.pf, err), eip: 0x0040_2000)
            #expect(m.cpu.cr2 == 0x0040_2000)
        }
        let m = SysMachine()
        m.enablePaging()
        m.map(Self.a, to: 0x50000)
        m.map(Self.a + 0x1000, to: 0x51000, flags: 6)
        // nasm org 0x400FFD:
        //     mov eax, 0x44332211
        m.load([0xB8, 0x11, 0x22, 0x33, 0x44], at: 0x50FFD)
        expectFault(m, m.resume(at: 0x0040_0FFD, limit: 1), CPUException(Vector.pf, 0), eip: 0x0040_0FFD)
        #expect(m.cpu.cr2 == 0x0040_1000 && m.cpu.eax == 0)
    }

    // MARK: TLB (SDM §4.10.2 "TLBs", §4.10.4 "Invalidation of TLBs"; INVLPG, MOV CR3)
    // Ringside keeps translations until they are invalidated, as the SDM lets
    // a processor do (§4.10.4.3/§4.10.4.4); these tests pin that model down so
    // that the invalidation tests are meaningful.

    /// Changes PTE(0x400000) from frame 0x50000 to 0x51000 after one read, then runs `flush`
    /// and reads again; returns (second read before the flush, read after).
    static func remapAndRead(_ m: SysMachine, flush: [UInt8], pteFlags: UInt32 = 7) -> (UInt32, UInt32) {
        m.map(a, to: 0x50000, flags: pteFlags)
        m.w32(0x50000, 0x5000_0000); m.w32(0x51000, 0x5100_0000)
        // nasm:
        //     mov eax, [0x400000]
        let read: [UInt8] = [0xA1, 0x00, 0x00, 0x40, 0x00]
        _ = m.run(read, limit: 1)
        m.map(a, to: 0x51000, flags: pteFlags)
        _ = m.run(read, limit: 1)
        let before = m.cpu.eax
        _ = m.run(flush + read + [0xF4], limit: 10)     // ... HLT
        return (before, m.cpu.eax)
    }

    // nasm:
    //     invlpg [0x400000]
    static let invlpg: [UInt8] = [0x0F, 0x01, 0x3D, 0x00, 0x00, 0x40, 0x00]
    // nasm:
    //     mov ecx, cr3
    //     mov cr3, ecx
    static let reloadCR3: [UInt8] = [0x0F, 0x20, 0xD9, 0x0F, 0x22, 0xD9]

    @Test func invlpgDropsTheStaleTranslation() {
        let m = SysMachine()
        m.enablePaging()
        let (before, after) = Self.remapAndRead(m, flush: Self.invlpg)
        #expect(before == 0x5000_0000, "the TLB still holds the old translation")
        #expect(after == 0x5100_0000)
    }

    @Test func cr3LoadFlushesNonGlobalEntries() {
        let m = SysMachine()
        m.enablePaging()
        let (before, after) = Self.remapAndRead(m, flush: Self.reloadCR3)
        #expect(before == 0x5000_0000 && after == 0x5100_0000)
    }

    /// With CR4.PGE, a G = 1 translation survives a CR3 load; INVLPG still drops it (SDM §4.10.2.4, §4.10.4.1).
    @Test func globalEntriesSurviveCR3Load() {
        let m = SysMachine()
        m.enablePaging()
        m.cpu.cr4 = CR4.pge
        var (before, after) = Self.remapAndRead(m, flush: Self.reloadCR3, pteFlags: 7 | PTE.global)
        #expect(before == 0x5000_0000 && after == 0x5000_0000, "global: survives MOV CR3")
        _ = m.run(Self.invlpg + [0xA1, 0x00, 0x00, 0x40, 0x00], limit: 2)
        #expect(m.cpu.eax == 0x5100_0000, "INVLPG drops a global entry")

        let n = SysMachine()
        n.enablePaging()
        (before, after) = Self.remapAndRead(n, flush: Self.reloadCR3, pteFlags: 7 | PTE.global)
        #expect(after == 0x5100_0000, "without CR4.PGE the G bit is ignored")
    }

    /// Clearing CR4.PGE flushes global entries too (SDM §4.10.4.1, MOV to CR4).
    @Test func clearingPGEFlushesGlobalEntries() {
        let m = SysMachine()
        m.enablePaging()
        m.cpu.cr4 = CR4.pge
        // nasm:
        //     xor ecx, ecx
        //     mov cr4, ecx
        let (_, after) = Self.remapAndRead(m, flush: [0x31, 0xC9, 0x0F, 0x22, 0xE1], pteFlags: 7 | PTE.global)
        #expect(after == 0x5100_0000)
    }

    /// INVLPG drops one page only.  (0x402000, not 0x401000: Ringside's TLB is
    /// direct-mapped by linear page number, and the code page 0x1000 shares a
    /// slot with 0x401000 — an eviction, which the SDM allows at any time.)
    @Test func invlpgIsPerPage() {
        let m = SysMachine()
        m.enablePaging()
        m.map(Self.a, to: 0x50000); m.map(Self.a + 0x2000, to: 0x51000)
        m.w32(0x50000, 0x50); m.w32(0x51000, 0x51); m.w32(0x52000, 0x52)
        // nasm:
        //     mov eax, [0x400000]
        //     mov ebx, [0x402000]
        let reads: [UInt8] = [0xA1, 0x00, 0x00, 0x40, 0x00, 0x8B, 0x1D, 0x00, 0x20, 0x40, 0x00]
        _ = m.run(reads, limit: 2)
        m.map(Self.a, to: 0x52000); m.map(Self.a + 0x2000, to: 0x52000)
        _ = m.run(Self.invlpg + reads, limit: 3)
        #expect(m.cpu.eax == 0x52 && m.cpu.ebx == 0x51)
    }

    /// A write permission cached in the TLB outlives a PTE change to read-only until INVLPG (ring 3 write).
    @Test func permissionDowngradeTakesEffectAfterINVLPG() {
        let m = SysMachine()
        m.enablePaging()
        m.map(Self.a, to: 0x50000)
        m.enter(cpl: 3)
        // nasm:
        //     mov [0x400000], eax
        let write: [UInt8] = [0xA3, 0x00, 0x00, 0x40, 0x00]
        #expect(m.run(write, limit: 1) == .limit)
        m.setPTE(Self.a, m.pte(Self.a) & ~PTE.writable)
        #expect(m.run(write, limit: 1) == .limit, "stale writable entry")
        m.cpu.flushTLB(linear: Self.a)               // what INVLPG at CPL 0 does
        expectFault(m, m.run(write, limit: 1), CPUException(Vector.pf, 7), eip: 0x1000)
    }

    /// Setting CR0.WP takes effect at once for supervisor writes to read-only pages.
    @Test func settingWPTakesEffectAtOnce() {
        let m = SysMachine()
        m.enablePaging()
        m.map(Self.a, to: 0x50000, flags: 5)
        // nasm:
        //     mov [0x400000], eax
        //     mov ecx, cr0
        //     or ecx, 0x10000
        //     mov cr0, ecx
        //     mov [0x400000], eax
        let code: [UInt8] = [
            0xA3, 0x00, 0x00, 0x40, 0x00, 0x0F, 0x20, 0xC1, 0x81, 0xC9, 0x00, 0x00, 0x01, 0x00,
            0x0F, 0x22, 0xC1, 0xA3, 0x00, 0x00, 0x40, 0x00,
        ]
        expectFault(m, m.run(code, limit: 5), CPUException(Vector.pf, 3), eip: 0x1011)
    }

    // MARK: the decoded-block cache when mappings change (issue: "stays correct when mappings change")

    // nasm org 0x400000:
    //     mov eax, 1
    //     hlt
    static let one: [UInt8] = [0xB8, 0x01, 0x00, 0x00, 0x00, 0xF4]
    // nasm org 0x400000:
    //     mov eax, 2
    //     hlt
    static let two: [UInt8] = [0xB8, 0x02, 0x00, 0x00, 0x00, 0xF4]

    @Test func remappedCodePageRunsTheNewCode() {
        let m = SysMachine()
        m.enablePaging()
        m.load(Self.one, at: 0x50000); m.load(Self.two, at: 0x51000)
        m.map(Self.a, to: 0x50000)
        #expect(m.resume(at: Self.a) == .halted && m.cpu.eax == 1)
        m.map(Self.a, to: 0x51000)
        // nasm:
        //     invlpg [0x400000]
        //     jmp 0x400000
        #expect(m.run([0x0F, 0x01, 0x3D, 0x00, 0x00, 0x40, 0x00, 0xE9, 0xF4, 0xEF, 0x3F, 0x00], limit: 10) == .halted && m.cpu.eax == 2)
    }

    @Test func cr3SwitchRunsTheOtherAddressSpace() {
        let m = SysMachine()
        m.enablePaging()
        m.load(Self.one, at: 0x50000); m.load(Self.two, at: 0x51000)
        m.map(Self.a, to: 0x50000)
        // A second page directory: the same identity-mapped low 4 MiB, 0x400000 -> 0x51000.
        for k in 0..<1024 { m.w32(0x30000 + 4 * UInt32(k), 0); m.w32(0x31000 + 4 * UInt32(k), 0) }
        m.w32(0x30000, Layout.pageTable | 7)
        m.w32(0x30004, 0x31000 | 7)
        m.w32(0x31000, 0x51000 | 7)
        m.cpu.ebx = 0x30000; m.cpu.esi = Layout.pageDirectory
        #expect(m.resume(at: Self.a) == .halted && m.cpu.eax == 1)
        // nasm:
        //     mov cr3, ebx
        //     jmp 0x400000
        //     mov cr3, esi
        //     jmp 0x400000
        let code: [UInt8] = [0x0F, 0x22, 0xDB, 0xE9, 0xF8, 0xEF, 0x3F, 0x00, 0x0F, 0x22, 0xDE, 0xE9, 0xF0, 0xEF, 0x3F, 0x00]
        #expect(m.run(code, limit: 10) == .halted && m.cpu.eax == 2)
        #expect(m.resume(at: 0x1008, limit: 10) == .halted && m.cpu.eax == 1)
    }

    /// A store through another linear alias of a code page drops the decoded block.
    @Test func writeThroughAnAliasDropsDecodedCode() {
        let m = SysMachine()
        m.enablePaging()
        m.load(Self.one, at: 0x50000)
        m.map(Self.a, to: 0x50000); m.map(Self.a + 0x1000, to: 0x50000)
        #expect(m.resume(at: Self.a) == .halted && m.cpu.eax == 1)
        // nasm:
        //     mov byte [0x401001], 7
        //     jmp 0x400000
        #expect(m.run([0xC6, 0x05, 0x01, 0x10, 0x40, 0x00, 0x07, 0xE9, 0xF4, 0xEF, 0x3F, 0x00], limit: 10) == .halted && m.cpu.eax == 7)
    }

    /// An instruction that straddles two pages is re-fetched when the second page is remapped.
    @Test func straddlingInstructionSeesARemappedSecondPage() {
        let m = SysMachine()
        m.enablePaging()
        m.map(Self.a, to: 0x50000); m.map(Self.a + 0x1000, to: 0x51000)
        // nasm org 0x400FFE:
        //     mov eax, 0x44332211
        //     hlt
        let code: [UInt8] = [0xB8, 0x11, 0x22, 0x33, 0x44, 0xF4]
        m.load(Array(code[0..<2]), at: 0x50FFE)
        m.load(Array(code[2...]), at: 0x51000)
        m.load([0x55, 0x66, 0x77, 0xF4], at: 0x52000)
        #expect(m.resume(at: 0x0040_0FFE) == .halted && m.cpu.eax == 0x4433_2211)
        m.map(Self.a + 0x1000, to: 0x52000)
        m.cpu.flushTLB(linear: Self.a + 0x1000)
        #expect(m.resume(at: 0x0040_0FFE) == .halted && m.cpu.eax == 0x7766_5511)
    }

    /// When the second page of a cached block that ends in a straddling
    /// instruction becomes not present, the instructions before it still run
    /// and the #PF is raised at the straddling instruction (SDM Vol. 3 §6.5:
    /// faults report the faulting instruction).
    @Test func cachedStraddlingBlockFaultsAtTheStraddlingInstruction() {
        let m = SysMachine()
        m.enablePaging()
        m.map(Self.a, to: 0x50000); m.map(Self.a + 0x1000, to: 0x51000)
        // nasm org 0x400FF0:
        //     times 14 inc ebx
        //     mov eax, 0x44332211    ; 0x400FFE-0x401002
        //     hlt
        let code: [UInt8] = [
            0x43, 0x43, 0x43, 0x43, 0x43, 0x43, 0x43, 0x43, 0x43, 0x43, 0x43, 0x43, 0x43, 0x43,
            0xB8, 0x11, 0x22, 0x33, 0x44, 0xF4,
        ]
        m.load(Array(code[0..<16]), at: 0x50FF0)
        m.load(Array(code[16...]), at: 0x51000)
        #expect(m.resume(at: 0x0040_0FF0) == .halted && m.cpu.ebx == 14)
        m.setPTE(Self.a + 0x1000, 0)
        m.cpu.flushTLB(linear: Self.a + 0x1000)
        m.cpu.ebx = 0
        let stop = m.resume(at: 0x0040_0FF0)
        #expect(stop == .exception(CPUException(Vector.pf, 0)))
        #expect(m.cpu.eip == 0x0040_0FFE)
        #expect(m.cpu.ebx == 14)
    }

    /// Decoding ahead must not change CR2: only a reported #PF sets it (SDM §4.7).
    @Test func decodingAheadDoesNotClobberCR2() {
        let m = SysMachine()
        m.enablePaging()
        m.map(Self.a, to: 0x50000)
        m.map(Self.a + 0x1000, to: 0x51000, flags: 6)             // not present
        // nasm org 0x400FF0:
        //     mov eax, cr2
        //     times 11 nop
        //     mov ebx, 0x44332211    ; 0x400FFE: straddles into the not-present page
        let code: [UInt8] = [
            0x0F, 0x20, 0xD0, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90,
            0xBB, 0x11, 0x22, 0x33, 0x44,
        ]
        m.load(Array(code[0..<16]), at: 0x50FF0)
        m.cpu.cr2 = 0x1234
        let stop = m.resume(at: 0x0040_0FF0)
        expectFault(m, stop, CPUException(Vector.pf, 0), eip: 0x0040_0FFE)
        #expect(m.cpu.cr2 == 0x0040_1000)
        #expect(m.cpu.eax == 0x1234)
    }
}
