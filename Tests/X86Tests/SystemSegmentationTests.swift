import Testing
@testable import X86

/// Segment-register loads through the GDT and LDT and the limit and type
/// checks of every access (SDM Vol. 3 ch. 3, §5.1-§5.6; Vol. 2 MOV, POP,
/// LDS/LES/LFS/LGS/LSS pseudo-code).
@Suite struct SystemSegmentationTests {

    // MARK: data-segment loads (SDM MOV "IF DS, ES, FS, or GS is loaded with non-NULL selector")

    struct DataLoad: Sendable, CustomTestStringConvertible {
        let what: String, access: UInt8, cpl: UInt8, rpl: UInt8
        let fault: UInt8?            // vector, error code = the selector (SDM: #GP(selector), #NP(selector))
        var testDescription: String { what }
    }
    static let dataLoads: [DataLoad] = [
        DataLoad(what: "DPL-3 data at CPL 3", access: Acc.data(3), cpl: 3, rpl: 3, fault: nil),
        DataLoad(what: "DPL-3 data at CPL 0", access: Acc.data(3), cpl: 0, rpl: 0, fault: nil),
        DataLoad(what: "DPL-0 data at CPL 3: CPL > DPL", access: Acc.data(0), cpl: 3, rpl: 3, fault: Vector.gp),
        DataLoad(what: "DPL-0 data, RPL 3 at CPL 0: RPL > DPL", access: Acc.data(0), cpl: 0, rpl: 3, fault: Vector.gp),
        DataLoad(what: "DPL-1 data at CPL 2", access: Acc.data(1), cpl: 2, rpl: 2, fault: Vector.gp),
        DataLoad(what: "DPL-2 data at CPL 1, RPL 2", access: Acc.data(2), cpl: 1, rpl: 2, fault: nil),
        DataLoad(what: "read-only DPL-3 data at CPL 3", access: Acc.readOnly(3), cpl: 3, rpl: 3, fault: nil),
        DataLoad(what: "readable non-conforming code DPL 3 at CPL 3", access: Acc.code(3), cpl: 3, rpl: 3, fault: nil),
        DataLoad(what: "readable non-conforming code DPL 0 at CPL 3", access: Acc.code(0), cpl: 3, rpl: 3, fault: Vector.gp),
        DataLoad(what: "readable conforming code DPL 0 at CPL 3 (no privilege check)", access: Acc.conformingCode(0), cpl: 3, rpl: 3, fault: nil),
        DataLoad(what: "execute-only code DPL 3", access: Acc.executeOnly(3), cpl: 3, rpl: 3, fault: Vector.gp),
        DataLoad(what: "execute-only conforming code", access: 0x9D, cpl: 0, rpl: 0, fault: Vector.gp),
        DataLoad(what: "32-bit TSS descriptor", access: Acc.tss32 | 0x60, cpl: 0, rpl: 0, fault: Vector.gp),
        DataLoad(what: "LDT descriptor", access: Acc.ldt | 0x60, cpl: 0, rpl: 0, fault: Vector.gp),
        DataLoad(what: "call gate", access: Acc.callGate(3), cpl: 0, rpl: 0, fault: Vector.gp),
        DataLoad(what: "not-present DPL-3 data at CPL 3", access: Acc.data(3) & 0x7F, cpl: 3, rpl: 3, fault: Vector.np),
        DataLoad(what: "not present and CPL > DPL: privilege first", access: Acc.data(0) & 0x7F, cpl: 3, rpl: 3, fault: Vector.gp),
    ]

    /// SDM Vol. 2 MOV (protected mode), Vol. 3 §5.6 "Privilege level checking when accessing data segments".
    @Test(arguments: dataLoads)
    func movDSChecksTypePresentAndPrivilege(_ c: DataLoad) {
        for reg in ["ds", "es", "fs", "gs"] {
            let m = SysMachine()
            let sel = m.segment(12, base: 0x8000, limit: 0xFF, access: c.access, flags: 0, rpl: c.rpl)
            m.enter(cpl: c.cpl)
            let before = m.cpu.segs[Seg.ds]
            // nasm:
            //     mov ds, bx
            //     mov es, bx
            //     mov fs, bx
            //     mov gs, bx
            let code: [UInt8] = [0x8E, 0xDB, 0x8E, 0xC3, 0x8E, 0xE3, 0x8E, 0xEB]
            let offset = ["ds": 0, "es": 2, "fs": 4, "gs": 6][reg]!
            let seg = ["ds": Seg.ds, "es": Seg.es, "fs": Seg.fs, "gs": Seg.gs][reg]!
            m.cpu.ebx = UInt32(sel)
            m.load(code, at: 0x1000)
            m.cpu.eip = 0x1000 + UInt32(offset)
            let stop = m.cpu.run(maxInstructions: 1)
            if let v = c.fault {
                expectFault(m, stop, CPUException(v, UInt32(sel & 0xFFFC)), eip: 0x1000 + UInt32(offset))
                #expect(m.cpu.segs[seg] == before, "\(reg) unchanged")
            } else {
                #expect(stop == .limit, "\(reg)")
                #expect(m.cpu.segs[seg].selector == sel)
                #expect(m.cpu.segs[seg].base == 0x8000 && m.cpu.segs[seg].limit == 0xFF)
            }
        }
    }

    /// SDM Vol. 3 §3.4.5.1: the processor sets the accessed bit when it loads the descriptor.
    @Test func segmentLoadSetsAccessedBitAndCachesDescriptor() {
        let m = SysMachine()
        let sel = m.segment(12, base: 0x8000, limit: 0xFF, access: 0xF2, flags: 0, rpl: 3)   // data rw, not accessed
        m.enter(cpl: 3)
        m.w32(0x8010, 0xCAFE_BABE)
        // nasm:
        //     mov ds, bx
        //     mov eax, [0x10]
        let code: [UInt8] = [0x8E, 0xDB, 0xA1, 0x10, 0x00, 0x00, 0x00]
        m.cpu.ebx = UInt32(sel)
        #expect(m.run(code, limit: 2) == .limit)
        #expect(m.cpu.eax == 0xCAFE_BABE)
        #expect(m.gdtHigh(12) & 0x100 != 0, "accessed bit written back")
        #expect(m.cpu.segs[Seg.ds] == SegmentCache(selector: sel, base: 0x8000, limit: 0xFF, access: 0xF3, flags: 0))
    }

    /// SDM MOV: "IF segment selector index is outside descriptor table limits THEN #GP(selector)".
    /// The whole 8-byte descriptor must lie within GDTR.limit.
    @Test func selectorBeyondGDTLimitIsGP() {
        for (limit, sel, ok) in [(UInt16(0x67), UInt16(0x60), true), (0x66, 0x60, false), (0x67, 0x6B, false), (0x6F, 0x6B, true)] {
            let m = SysMachine()
            m.segment(12, access: Acc.data(0))
            m.segment(13, access: Acc.data(3))
            m.cpu.gdtr.limit = limit
            m.cpu.ebx = UInt32(sel)
            // nasm:
            //     mov ds, bx
            let stop = m.run([0x8E, 0xDB], limit: 1)
            if ok { #expect(stop == .limit) } else { expectFault(m, stop, .gp(UInt32(sel & 0xFFFC)), eip: 0x1000) }
        }
    }

    /// SDM Vol. 3 §3.4.2 and MOV: a null selector loads into DS/ES/FS/GS; the
    /// first access through it is #GP(0), with EIP at that access.
    @Test func nullSelectorLoadsButAccessIsGP() {
        for cpl: UInt8 in [0, 3] {
            let m = SysMachine()
            m.enter(cpl: cpl)
            m.cpu.ebx = UInt32(cpl)      // null selector with RPL = CPL
            // nasm:
            //     mov fs, bx
            //     mov ax, fs
            //     mov eax, [fs:0x8000]
            let code: [UInt8] = [0x8E, 0xE3, 0x66, 0x8C, 0xE0, 0x64, 0xA1, 0x00, 0x80, 0x00, 0x00]
            let stop = m.run(code, limit: 3)
            expectFault(m, stop, .gp(0), eip: 0x1005)
            #expect(m.cpu.eax & 0xFFFF == UInt32(cpl), "MOV r16, FS reads the null selector back")
        }
    }

    // MARK: stack-segment loads (SDM MOV/POP "IF SS is loaded")

    struct StackLoad: Sendable, CustomTestStringConvertible {
        let what: String, access: UInt8?, cpl: UInt8, rpl: UInt8
        let fault: CPUException?
        var testDescription: String { what }
    }
    static let stackLoads: [StackLoad] = [
        StackLoad(what: "writable DPL 3, RPL 3, CPL 3", access: Acc.data(3), cpl: 3, rpl: 3, fault: nil),
        StackLoad(what: "null selector at CPL 0", access: nil, cpl: 0, rpl: 0, fault: .gp(0)),
        StackLoad(what: "null selector RPL 3 at CPL 3", access: nil, cpl: 3, rpl: 3, fault: .gp(0)),
        StackLoad(what: "RPL 0 at CPL 3: RPL != CPL", access: Acc.data(3), cpl: 3, rpl: 0, fault: .gp(0x60)),
        StackLoad(what: "DPL 0 at CPL 3", access: Acc.data(0), cpl: 3, rpl: 3, fault: .gp(0x60)),
        StackLoad(what: "DPL 3 at CPL 0: DPL != CPL", access: Acc.data(3), cpl: 0, rpl: 0, fault: .gp(0x60)),
        StackLoad(what: "DPL 1 at CPL 1", access: Acc.data(1), cpl: 1, rpl: 1, fault: nil),
        StackLoad(what: "read-only data", access: Acc.readOnly(0), cpl: 0, rpl: 0, fault: .gp(0x60)),
        StackLoad(what: "readable code", access: Acc.code(0), cpl: 0, rpl: 0, fault: .gp(0x60)),
        StackLoad(what: "not present: #SS", access: Acc.data(0) & 0x7F, cpl: 0, rpl: 0, fault: .ss(0x60)),
    ]

    /// SDM Vol. 3 §5.7 "Privilege level checking when loading the SS register": RPL = CPL = DPL, writable data.
    @Test(arguments: stackLoads)
    func movSSNeedsRPLEqualCPLEqualDPL(_ c: StackLoad) {
        let m = SysMachine()
        var sel = UInt16(c.rpl)
        if let a = c.access { sel = m.segment(12, base: 0, limit: 0xFFFFF, access: a, rpl: c.rpl) }
        m.enter(cpl: c.cpl)
        let before = m.cpu.segs[Seg.ss]
        m.cpu.ebx = UInt32(sel)
        // nasm:
        //     mov ss, bx
        let stop = m.run([0x8E, 0xD3], limit: 1)
        if let f = c.fault {
            expectFault(m, stop, f, eip: 0x1000)
            #expect(m.cpu.segs[Seg.ss] == before)
        } else {
            #expect(stop == .limit)
            #expect(m.cpu.segs[Seg.ss].selector == sel)
        }
    }

    /// SDM POP and LDS/LES/LFS/LGS/LSS apply the same checks as MOV; a failed
    /// POP leaves ESP alone and a failed LDS leaves the offset register alone.
    @Test func popAndLoadFarPointerApplyTheSameChecks() {
        let m = SysMachine()
        m.enter(cpl: 3)
        let esp = m.cpu.esp
        m.w32(esp, UInt32(Sel.data(0)))                // a DPL-0 data selector on the ring-3 stack
        // nasm:
        //     pop ds
        var stop = m.run([0x1F], limit: 1)
        expectFault(m, stop, .gp(UInt32(Sel.data(0) & 0xFFFC)), eip: 0x1000)
        #expect(m.cpu.esp == esp)

        m.w32(0x8000, 0x1234_5678); m.w16(0x8004, Sel.data(0))
        m.cpu.eax = 0xAAAA_AAAA
        // nasm:
        //     lds eax, [0x8000]
        stop = m.run([0xC5, 0x05, 0x00, 0x80, 0x00, 0x00], limit: 1)
        expectFault(m, stop, .gp(0x10), eip: 0x1000)
        #expect(m.cpu.eax == 0xAAAA_AAAA)

        m.w16(0x8004, Sel.data(3))
        // nasm:
        //     lgs eax, [0x8000]
        stop = m.run([0x0F, 0xB5, 0x05, 0x00, 0x80, 0x00, 0x00], limit: 1)
        #expect(stop == .limit)
        #expect(m.cpu.eax == 0x1234_5678 && m.cpu.segs[Seg.gs].selector == Sel.data(3))

        m.w16(0x8004, Sel.data(0))
        // nasm:
        //     lss eax, [0x8000]
        stop = m.run([0x0F, 0xB2, 0x05, 0x00, 0x80, 0x00, 0x00], limit: 1)
        expectFault(m, stop, .gp(0x10), eip: 0x1000)
    }

    // MARK: LDT (SDM Vol. 3 §3.5.1, LLDT)

    /// A TI = 1 selector indexes the LDT that LLDT loaded; beyond the LDT limit
    /// it is #GP(selector) with TI set in the error code (SDM Vol. 3 §6.13).
    @Test func ldtSelectorsUseTheLDT() {
        let m = SysMachine()
        m.setLDT(1, Desc.segment(base: 0x8100, limit: 0xF, access: Acc.data(3), flags: 0))
        m.setGDT(10, Desc.segment(base: Layout.ldt, limit: 0xF, access: Acc.ldt, flags: 0))  // 2 entries
        m.w32(0x8104, 0x5555_AAAA)
        // nasm:
        //     mov ax, 0x50
        //     lldt ax
        //     mov bx, 0x0F          ; LDT index 1, RPL 3
        //     mov ds, bx
        //     mov eax, [4]
        //     mov bx, 0x17          ; LDT index 2: beyond the limit of 15
        //     mov es, bx
        let code: [UInt8] = [
            0x66, 0xB8, 0x50, 0x00, 0x0F, 0x00, 0xD0, 0x66, 0xBB, 0x0F, 0x00, 0x8E, 0xDB, 0xA1,
            0x04, 0x00, 0x00, 0x00, 0x66, 0xBB, 0x17, 0x00, 0x8E, 0xC3,
        ]
        let stop = m.run(code, limit: 20)
        #expect(m.cpu.eax == 0x5555_AAAA)
        #expect(m.cpu.segs[Seg.ds].selector == 0x0F && m.cpu.segs[Seg.ds].base == 0x8100)
        expectFault(m, stop, .gp(0x14), eip: 0x1016)
    }

    /// With a null LDTR every TI = 1 selector is #GP(selector) (SDM Vol. 3 §3.5.1: "no LDT").
    @Test func ldtSelectorWithNullLDTRIsGP() {
        let m = SysMachine()
        // nasm:
        //     xor eax, eax
        //     lldt ax
        //     mov bx, 0x0C
        //     mov ds, bx
        let code: [UInt8] = [0x31, 0xC0, 0x0F, 0x00, 0xD0, 0x66, 0xBB, 0x0C, 0x00, 0x8E, 0xDB]
        expectFault(m, m.run(code, limit: 10), .gp(0x0C), eip: 0x1009)
    }

    // MARK: limit and type checks on every access (SDM Vol. 3 §5.3, §5.4)

    /// Expand-up, byte-granular: the last byte of the access must be <= limit; #GP(0) for DS, #SS(0) for SS.
    @Test func expandUpLimitIsCheckedOnTheLastByte() {
        for (offset, size, ok) in [(UInt32(0xFC), 4, true), (0xFD, 4, false), (0xFF, 1, true), (0x100, 1, false), (0xFE, 2, true), (0xFF, 2, false)] {
            let m = SysMachine()
            let sel = m.segment(12, base: 0x8000, limit: 0xFF, access: Acc.data(0), flags: 0x4)
            m.cpu.ebx = UInt32(sel); m.cpu.esi = offset
            // nasm:
            //     mov ds, bx
            //     mov ss, bx
            //     mov al, [esi]
            //     mov ax, [esi]
            //     mov eax, [esi]
            //     mov eax, [ss:esi]
            let code: [UInt8] = [0x8E, 0xDB, 0x8E, 0xD3, 0x8A, 0x06, 0x66, 0x8B, 0x06, 0x8B, 0x06, 0x36, 0x8B, 0x06]
            m.load(code, at: 0x1000)
            m.cpu.eip = 0x1000
            #expect(m.cpu.run(maxInstructions: 2) == .limit)
            let at: UInt32 = size == 1 ? 0x1004 : size == 2 ? 0x1006 : 0x1009
            m.cpu.eip = at
            var stop = m.cpu.run(maxInstructions: 1)
            if ok { #expect(stop == .limit, "offset \(offset) size \(size)") } else { expectFault(m, stop, .gp(0), eip: at) }
            if size == 4 {
                m.cpu.eip = 0x100B
                stop = m.cpu.run(maxInstructions: 1)
                if ok { #expect(stop == .limit) } else { expectFault(m, stop, .ss(0), eip: 0x100B) }
            }
        }
    }

    /// G = 1 scales the limit: limit field 0 means offsets 0-0xFFF (SDM Vol. 3 §3.4.5).
    @Test func granularityScalesTheLimit() {
        for (offset, ok) in [(UInt32(0xFFC), true), (0xFFD, false), (0x1000, false)] {
            let m = SysMachine()
            let sel = m.segment(12, base: 0x8000, limit: 0, access: Acc.data(0), flags: 0xC)
            m.cpu.ebx = UInt32(sel); m.cpu.esi = offset
            // nasm:
            //     mov es, bx
            //     mov [es:esi], eax
            let stop = m.run([0x8E, 0xC3, 0x26, 0x89, 0x06], limit: 2)
            if ok { #expect(stop == .limit) } else { expectFault(m, stop, .gp(0), eip: 0x1002) }
        }
    }

    /// Expand-down (SDM Vol. 3 §5.3): valid offsets are limit+1 to 0xFFFFFFFF (B = 1) or 0xFFFF (B = 0).
    @Test func expandDownSegmentsValidAboveTheLimit() {
        let cases: [(flags: UInt8, offset: UInt32, ok: Bool)] = [
            (0x4, 0x0FFF, false), (0x4, 0x1000, true), (0x4, 0xFFFF_FFFC, true), (0x4, 0xFFFE, true),
            (0x0, 0x1000, true), (0x0, 0xFFFC, true), (0x0, 0xFFFD, false), (0x0, 0x0FFE, false),
        ]
        for c in cases {
            let m = SysMachine()
            let sel = m.segment(12, base: 0x80000, limit: 0xFFF, access: Acc.expandDown(0), flags: c.flags)
            m.cpu.ebx = UInt32(sel); m.cpu.esi = c.offset
            // nasm:
            //     mov ds, bx
            //     mov eax, [esi]
            let stop = m.run([0x8E, 0xDB, 0x8B, 0x06], limit: 2)
            if c.ok { #expect(stop == .limit, "B=\(c.flags >> 2) offset \(c.offset)") }
            else { expectFault(m, stop, .gp(0), eip: 0x1002) }
        }
    }

    /// An expand-down stack: PUSH below limit+1 is #SS(0) and leaves ESP unchanged (SDM PUSH, §5.3).
    @Test func pushBelowExpandDownStackLimitIsSS() {
        for (esp, ok) in [(UInt32(0x1004), true), (0x1003, false), (0x1002, false)] {
            let m = SysMachine()
            let sel = m.segment(12, base: 0x20000, limit: 0xFFF, access: Acc.expandDown(0), flags: 0x4)
            m.cpu.ebx = UInt32(sel)
            // nasm:
            //     mov ss, bx
            //     mov esp, ecx
            //     push eax
            m.cpu.ecx = esp; m.cpu.eax = 0x1122_3344
            let stop = m.run([0x8E, 0xD3, 0x89, 0xCC, 0x50], limit: 3)
            if ok {
                #expect(stop == .limit)
                #expect(m.cpu.esp == esp - 4 && m.u32(0x20000 + esp - 4) == 0x1122_3344)
            } else {
                expectFault(m, stop, .ss(0), eip: 0x1004)
                #expect(m.cpu.esp == esp)
            }
        }
    }

    /// SDM Vol. 3 §5.4: no writes to code or read-only data; no reads from execute-only code. #GP(0).
    @Test func typeChecksOnAccess() {
        let m = SysMachine()
        let ro = m.segment(12, base: 0x8000, limit: 0xFFF, access: Acc.readOnly(0), flags: 0)
        m.segment(13, base: 0, limit: 0xFFFFF, access: Acc.executeOnly(0))
        m.w32(0x8000, 0x0BAD_F00D)
        m.cpu.ebx = UInt32(ro)
        // nasm:
        //     mov ds, bx
        //     mov eax, [0]          ; read-only data: read is fine
        //     mov [0], eax          ; ... write is #GP(0)
        let code1: [UInt8] = [0x8E, 0xDB, 0xA1, 0x00, 0x00, 0x00, 0x00, 0xA3, 0x00, 0x00, 0x00, 0x00]
        expectFault(m, m.run(code1, limit: 5), .gp(0), eip: 0x1007)
        #expect(m.cpu.eax == 0x0BAD_F00D)

        // nasm:
        //     mov eax, [cs:0x1000]   ; readable code: fine
        //     mov [cs:0x8000], eax   ; code: never writable
        let code2: [UInt8] = [0x2E, 0xA1, 0x00, 0x10, 0x00, 0x00, 0x2E, 0xA3, 0x00, 0x80, 0x00, 0x00]
        expectFault(m, m.run(code2, limit: 5), .gp(0), eip: 0x1006)
        #expect(m.cpu.eax == 0x1000_A12E)

        // nasm:
        //     jmp 0x68:0x1007        ; execute-only code segment, same base
        //     mov eax, [cs:0x1000]   ; execute-only: reads are #GP(0)
        let code3: [UInt8] = [0xEA, 0x07, 0x10, 0x00, 0x00, 0x68, 0x00, 0x2E, 0xA1, 0x00, 0x10, 0x00, 0x00]
        expectFault(m, m.run(code3, limit: 5), .gp(0), eip: 0x1007)
        #expect(m.cpu.segs[Seg.cs].selector == 0x68)
    }

    /// Instruction fetch: every byte of an instruction must lie within the CS
    /// limit (SDM Vol. 3 §5.3); near jumps check the target first (SDM JMP).
    @Test func codeSegmentLimitOnFetchAndJumps() {
        let m = SysMachine()
        m.segment(12, base: 0, limit: 0x1FFF, access: Acc.code(0), flags: 0x4)   // byte-granular, 32-bit
        // nasm:
        //     jmp 0x60:0x1FFB
        m.load([0xEA, 0xFB, 0x1F, 0x00, 0x00, 0x60, 0x00], at: 0x1000)
        // nasm org 0x1FFB:
        //     nop
        //     mov eax, 0x12345678    ; bytes 0x1FFC-0x2000: the last one beyond the limit
        m.load([0x90, 0xB8, 0x78, 0x56, 0x34, 0x12], at: 0x1FFB)
        m.cpu.eip = 0x1000
        expectFault(m, m.cpu.run(maxInstructions: 10), .gp(0), eip: 0x1FFC)
        #expect(m.cpu.eax == 0)

        // nasm org 0x1800:
        //     jmp 0x2000
        m.load([0xE9, 0xFB, 0x07, 0x00, 0x00], at: 0x1800)
        m.cpu.eip = 0x1800
        expectFault(m, m.cpu.run(maxInstructions: 10), .gp(0), eip: 0x1800)

        // nasm org 0x1FFE:
        //     nop
        //     nop
        m.load([0x90, 0x90], at: 0x1FFE)
        m.cpu.eip = 0x1FFE
        expectFault(m, m.cpu.run(maxInstructions: 10), .gp(0), eip: 0x2000)
    }

    /// The decoded-block cache must not let code run past a CS limit that was
    /// smaller than when the block was decoded (SDM Vol. 3 §5.3: the limit is
    /// checked on every fetch).  Same physical code, first under a flat CS,
    /// then under a CS whose limit ends inside the block.
    @Test func cachedBlockRespectsANewSmallerCSLimit() {
        let m = SysMachine()
        m.segment(12, base: 0, limit: 0x1FF7, access: Acc.code(0), flags: 0x4)
        // nasm org 0x1FF0:
        //     inc eax
        //     inc eax
        //     times 6 nop           ; 0x1FF2-0x1FF7: the last bytes within the limit
        //     inc ebx               ; 0x1FF8: beyond a 0x1FF7 limit
        //     hlt
        m.load([0x40, 0x40, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x43, 0xF4], at: 0x1FF0)
        m.cpu.eip = 0x1FF0
        #expect(m.cpu.run(maxInstructions: 100) == .halted)           // flat CS: decodes a block across 0x2000
        #expect(m.cpu.ebx == 1)
        // nasm:
        //     jmp 0x60:0x1FF0
        m.load([0xEA, 0xF0, 0x1F, 0x00, 0x00, 0x60, 0x00], at: 0x1000)
        let stop = m.resume(at: 0x1000, limit: 100)
        #expect(m.cpu.eax == 4)
        expectFault(m, stop, .gp(0), eip: 0x1FF8)
        #expect(m.cpu.ebx == 1)
    }
}
