import Testing
@testable import X86

/// Far JMP, CALL and RET in protected mode: direct transfers, call gates,
/// inward calls with the TSS stack switch and parameter copy, returns to an
/// outer level (SDM Vol. 3 §5.8; Vol. 2 JMP, CALL and RET pseudo-code).
@Suite struct SystemFarControlTests {
    // Ring-3 caller used by the call-gate tests: two dword parameters, then the call.
    // nasm:
    //     push dword 0x11111111
    //     push dword 0x22222222
    //     call 0x63:0x0          ; GDT 12: the call gate (the offset is ignored)
    //     mov eax, 1             ; 0x1011: the return address
    static let ring3Caller: [UInt8] = [
        0x68, 0x11, 0x11, 0x11, 0x11, 0x68, 0x22, 0x22, 0x22, 0x22, 0x9A, 0x00, 0x00, 0x00,
        0x00, 0x63, 0x00, 0xB8, 0x01, 0x00, 0x00, 0x00,
    ]

    /// SDM Vol. 3 §5.8.5 and Figure 5-13; CALL "CALL-GATE-TO-MORE-PRIVILEGE":
    /// SS:ESP from the TSS, then old SS, old ESP, the parameters in the caller's
    /// order, old CS, old EIP; CPL becomes the target DPL.
    @Test func callGateInwardSwitchesStackAndCopiesParameters() {
        let m = SysMachine()
        m.gdtGate(12, selector: Sel.code(0), offset: 0x2000, access: Acc.callGate(3), params: 2)
        m.load([0xF4], at: 0x2000)
        m.enter(cpl: 3)
        #expect(m.run(Self.ring3Caller, limit: 10) == .halted)
        #expect(m.cpu.eip == 0x2001 && m.cpu.cpl == 0)
        #expect(m.cpu.segs[Seg.cs].selector == Sel.code(0))
        #expect(m.cpu.segs[Seg.ss].selector == Sel.data(0), "SS0 from the TSS")
        #expect(m.cpu.esp == 0xB000 - 24, "ESP0 from the TSS minus six dwords")
        #expect(m.dwords(0xB000 - 24, 6) == [0x1011, UInt32(Sel.code(3)), 0x2222_2222, 0x1111_1111, 0x7800 - 8, UInt32(Sel.data(3))])
        #expect(m.u32(0x7800 - 8) == 0x2222_2222, "the caller's stack is left as it was")
        #expect(m.cpu.segs[Seg.ds].selector == Sel.data(3), "data segments are not touched")
    }

    /// SDM RET "RETURN-TO-OUTER-PRIVILEGE-LEVEL": RET n pops EIP, CS, skips n
    /// bytes of parameters, pops ESP and SS, adds n again; then DS, ES, FS and
    /// GS that the outer level may not use become null (data or non-conforming
    /// code with DPL < new CPL); conforming code and DPL-3 data stay.
    @Test func retFarToOuterLevelPopsStackAndNullsSegments() {
        let m = SysMachine()
        m.gdtGate(12, selector: Sel.code(0), offset: 0x2000, access: Acc.callGate(3), params: 2)
        // nasm org 0x2000:
        //     hlt
        //     mov bx, 0x10
        //     mov ds, bx
        //     mov bx, 0x43
        //     mov es, bx
        //     mov bx, 0x5B           ; conforming DPL-0 code, RPL 3
        //     mov fs, bx
        //     xor ebx, ebx
        //     mov gs, bx
        //     retf 8
        m.load([
            0xF4, 0x66, 0xBB, 0x10, 0x00, 0x8E, 0xDB, 0x66, 0xBB, 0x43, 0x00, 0x8E, 0xC3, 0x66,
            0xBB, 0x5B, 0x00, 0x8E, 0xE3, 0x31, 0xDB, 0x8E, 0xEB, 0xCA, 0x08, 0x00,
        ], at: 0x2000)
        m.enter(cpl: 3)
        #expect(m.run(Self.ring3Caller, limit: 10) == .halted)
        #expect(m.resume(at: 0x2001, limit: 10) == .limit)      // 9 handler instructions and MOV EAX, 1
        #expect(m.cpu.eax == 1 && m.cpu.eip == 0x1016)
        #expect(m.cpu.cpl == 3 && m.cpu.segs[Seg.cs].selector == Sel.code(3))
        #expect(m.cpu.segs[Seg.ss].selector == Sel.data(3) && m.cpu.esp == 0x7800, "ESP = popped ESP + 8")
        #expect(m.cpu.segs[Seg.ds].selector == 0 && !m.cpu.segs[Seg.ds].usable, "DPL-0 data nulled")
        #expect(m.cpu.segs[Seg.es].selector == Sel.data(3) && m.cpu.segs[Seg.es].usable)
        #expect(m.cpu.segs[Seg.fs].selector == 0x5B && m.cpu.segs[Seg.fs].usable, "conforming code kept")
        #expect(m.cpu.segs[Seg.gs].selector == 0 && !m.cpu.segs[Seg.gs].usable)
        // The nulled DS faults on use: #GP(0).
        // nasm org 0x1016:
        //     mov eax, [0x8000]
        expectFault(m, m.run([0xA1, 0x00, 0x80, 0x00, 0x00], at: 0x1016, limit: 1), .gp(0), eip: 0x1016)
    }

    /// A 16-bit call gate (type 4) pushes words and copies word parameters
    /// (SDM CALL: "IF CallGateSize = 16").  Caller at CPL 3 with a 32-bit stack.
    @Test func callGate16PushesWords() {
        let m = SysMachine()
        m.gdtGate(12, selector: Sel.code(0), offset: 0x0001_2000, access: 0x84 | 0x60, params: 1)   // offset 31:16 ignored
        m.load([0xF4], at: 0x2000)
        m.enter(cpl: 3)
        // nasm:
        //     push word 0xBEEF
        //     call 0x63:0x0
        let stop = m.run([0x66, 0x68, 0xEF, 0xBE, 0x9A, 0x00, 0x00, 0x00, 0x00, 0x63, 0x00], limit: 10)
        #expect(stop == .halted && m.cpu.eip == 0x2001 && m.cpu.cpl == 0)
        #expect(m.cpu.esp == 0xB000 - 10)
        #expect(m.words(0xB000 - 10, 5) == [0x100B, UInt32(Sel.code(3)), 0xBEEF, 0x77FE, UInt32(Sel.data(3))])
    }

    // MARK: gate and target checks (SDM Vol. 3 §5.8.4, Figure 5-11; CALL/JMP "CALL-GATE")

    struct GateCase: Sendable, CustomTestStringConvertible {
        let what: String
        var cpl: UInt8 = 3
        var gateAccess: UInt8 = Acc.callGate(3)
        var gateRPL: UInt8 = 3
        var target: UInt16 = 0x08
        var targetAccess: UInt8? = nil     // GDT 13 (selector 0x68) when set
        var offset: UInt32 = 0x2000
        var jmp = false
        let expected: CPUException?        // nil: the transfer happens
        var testDescription: String { what }
    }
    static let gateCases: [GateCase] = [
        GateCase(what: "gate DPL 0 < CPL 3", gateAccess: Acc.callGate(0), expected: .gp(0x60)),
        GateCase(what: "gate RPL 3 > gate DPL 2 at CPL 2", cpl: 2, gateAccess: Acc.callGate(2), expected: .gp(0x60)),
        GateCase(what: "gate RPL 2 = gate DPL 2 at CPL 2", cpl: 2, gateAccess: Acc.callGate(2), gateRPL: 2, expected: nil),
        GateCase(what: "gate not present", gateAccess: Acc.callGate(3) & 0x7F, expected: .np(0x60)),
        GateCase(what: "target selector null", target: 0, expected: .gp(0)),
        GateCase(what: "target beyond the GDT", target: 0x400, expected: .gp(0x400)),
        GateCase(what: "target is a data segment", target: 0x68, targetAccess: Acc.data(0), expected: .gp(0x68)),
        GateCase(what: "target DPL 3 > CPL 0 (outward call)", cpl: 0, target: 0x38, expected: .gp(0x38)),
        GateCase(what: "target not present", target: 0x68, targetAccess: Acc.code(0) & 0x7F, expected: .np(0x68)),
        GateCase(what: "gate offset beyond the target limit", target: 0x68, targetAccess: Acc.code(0), offset: 0x10_0000, expected: .gp(0)),
        GateCase(what: "JMP through a gate to a more privileged non-conforming segment", jmp: true, expected: .gp(0x08)),
        GateCase(what: "JMP through a gate to a same-level segment", target: 0x38, jmp: true, expected: nil),
        GateCase(what: "JMP through a gate to conforming DPL-0 code from CPL 3", target: 0x58, jmp: true, expected: nil),
        GateCase(what: "CALL through a gate to conforming DPL-0 code: no stack switch", target: 0x58, expected: nil),
    ]

    @Test(arguments: gateCases)
    func callGateChecks(_ c: GateCase) {
        let m = SysMachine()
        m.gdtGate(12, selector: c.target, offset: c.offset, access: c.gateAccess)
        if let a = c.targetAccess { m.segment(13, base: 0, limit: 0xFFFF, access: a, flags: 0x4) }
        m.enter(cpl: c.cpl)
        let esp = m.cpu.esp
        m.cpu.ebx = 0x60 | UInt32(c.gateRPL)
        m.w16(0x8004, UInt16(m.cpu.ebx)); m.w32(0x8000, 0)
        // nasm:
        //     call far [0x8000]
        //     jmp far [0x8000]
        let code: [UInt8] = [0xFF, 0x1D, 0x00, 0x80, 0x00, 0x00, 0xFF, 0x2D, 0x00, 0x80, 0x00, 0x00]
        m.load(code, at: 0x1000)
        m.load([0x90], at: c.offset & 0xFFFFF)     // a NOP at the target (NOP at CPL 3 does not fault)
        let at: UInt32 = c.jmp ? 0x1006 : 0x1000
        let stop = m.resume(at: at, limit: 1)
        if let e = c.expected {
            expectFault(m, stop, e, eip: at)
            #expect(m.cpu.cpl == c.cpl && m.cpu.esp == esp && m.cpu.segs[Seg.cs].selector == Sel.code(c.cpl), "no state change")
        } else {
            #expect(stop == .limit)
            #expect(m.cpu.eip == c.offset)
            let conforming = c.target == 0x58
            let newCPL: UInt8 = conforming ? c.cpl : UInt8(c.target >> 4)   // 0x08 -> 0, 0x38 -> 3
            #expect(m.cpu.cpl == newCPL)
            #expect(m.cpu.segs[Seg.cs].selector == (c.target & 0xFFFC) | UInt16(newCPL), "CS.RPL = CPL")
            if newCPL < c.cpl {
                #expect(!c.jmp)
                #expect(m.cpu.esp == 0xB000 - 16 && m.cpu.segs[Seg.ss].selector == Sel.data(0), "inward: TSS stack")
                #expect(m.dwords(0xB000 - 16, 4) == [0x1006, UInt32(Sel.code(c.cpl)), esp, UInt32(Sel.data(c.cpl))])
            } else if c.jmp {
                #expect(m.cpu.esp == esp)
            } else {
                #expect(m.cpu.esp == esp - 8, "same level: no stack switch")
                #expect(m.dwords(esp - 8, 2) == [0x1006, UInt32(Sel.code(c.cpl))])
            }
        }
    }

    // MARK: the inner stack from the TSS (SDM CALL: #TS and #SS conditions; Vol. 3 §7.2.1)

    struct StackCase: Sendable, CustomTestStringConvertible {
        let what: String
        var ss0: UInt16 = 0x10
        var ssAccess: UInt8? = nil         // GDT 13 (selector 0x68) when set
        var ssLimit: UInt32 = 0xFFFFF
        var ssFlags: UInt8 = 0xC
        var tssLimit: UInt32 = 0x67
        let expected: CPUException
        var testDescription: String { what }
    }
    static let stackCases: [StackCase] = [
        StackCase(what: "SS0 null", ss0: 0, expected: .ts(0)),
        StackCase(what: "SS0 RPL 3", ss0: 0x13, expected: .ts(0x10)),
        StackCase(what: "SS0 DPL 3", ss0: 0x68, ssAccess: Acc.data(3), expected: .ts(0x68)),
        StackCase(what: "SS0 read-only", ss0: 0x68, ssAccess: Acc.readOnly(0), expected: .ts(0x68)),
        StackCase(what: "SS0 code", ss0: 0x08, expected: .ts(0x08)),
        StackCase(what: "SS0 beyond the GDT", ss0: 0x400, expected: .ts(0x400)),
        StackCase(what: "SS0 not present", ss0: 0x68, ssAccess: Acc.data(0) & 0x7F, expected: .ss(0x68)),
        StackCase(what: "TSS too short for SS0:ESP0", tssLimit: 0x08, expected: .ts(UInt32(Sel.tss))),
        StackCase(what: "new stack too small for the frame", ss0: 0x68, ssAccess: Acc.data(0), ssLimit: 0xAFF0, ssFlags: 0x4,
                  expected: .ss(0x68)),
    ]

    /// A failed inward call leaves CPL, CS:EIP, SS:ESP as they were.
    @Test(arguments: stackCases)
    func inwardCallStackChecks(_ c: StackCase) {
        let m = SysMachine()
        m.gdtGate(12, selector: Sel.code(0), offset: 0x2000, access: Acc.callGate(3), params: 2)
        if let a = c.ssAccess { m.segment(13, base: 0, limit: c.ssLimit, access: a, flags: c.ssFlags) }
        m.w32(Layout.tss + 8, UInt32(c.ss0))
        if c.tssLimit != 0x67 {
            m.setGDT(9, Desc.segment(base: Layout.tss, limit: c.tssLimit, access: Acc.tss32, flags: 0))
            try! m.cpu.loadTR(Sel.tss)
        }
        m.enter(cpl: 3)
        let stop = m.run(Self.ring3Caller, limit: 10)
        expectFault(m, stop, c.expected, eip: 0x100A)
        #expect(m.cpu.cpl == 3 && m.cpu.esp == 0x7800 - 8)
        #expect(m.cpu.segs[Seg.ss].selector == Sel.data(3) && m.cpu.segs[Seg.cs].selector == Sel.code(3))
    }

    /// The inner stack may be an expand-down segment: the frame must lie above its limit (SDM Vol. 3 §5.3).
    @Test func inwardCallToAnExpandDownStack() {
        for (esp0, ok) in [(UInt32(0xB000), true), (0x1018, true), (0x1014, false)] {
            let m = SysMachine()
            m.gdtGate(12, selector: Sel.code(0), offset: 0x2000, access: Acc.callGate(3), params: 2)
            m.load([0xF4], at: 0x2000)
            m.segment(13, base: 0, limit: 0x0FFF, access: Acc.expandDown(0), flags: 0x4)
            m.w32(Layout.tss + 4, esp0); m.w32(Layout.tss + 8, 0x68)
            m.enter(cpl: 3)
            let stop = m.run(Self.ring3Caller, limit: 10)
            if ok {
                #expect(stop == .halted && m.cpu.cpl == 0 && m.cpu.esp == esp0 - 24)
                #expect(m.dwords(esp0 - 24, 6) == [0x1011, 0x3B, 0x2222_2222, 0x1111_1111, 0x7800 - 8, 0x43])
            } else {
                expectFault(m, stop, .ss(0x68), eip: 0x100A)
                #expect(m.cpu.cpl == 3 && m.cpu.esp == 0x7800 - 8)
            }
        }
    }

    // MARK: direct far JMP/CALL (SDM Vol. 3 §5.8.1, §5.8.2; JMP/CALL "far pointer to a code segment")

    struct DirectCase: Sendable, CustomTestStringConvertible {
        let what: String
        let cpl: UInt8
        let selector: UInt16
        var access: UInt8? = nil            // GDT 13 (selector 0x68..0x6B) when set
        var offset: UInt32 = 0x2000
        let expected: CPUException?
        var testDescription: String { what }
    }
    static let directCases: [DirectCase] = [
        DirectCase(what: "non-conforming DPL 0 at CPL 0", cpl: 0, selector: 0x08, expected: nil),
        DirectCase(what: "non-conforming DPL 0 with RPL 3 at CPL 0", cpl: 0, selector: 0x0B, expected: .gp(0x08)),
        DirectCase(what: "non-conforming DPL 3 at CPL 0", cpl: 0, selector: 0x3B, expected: .gp(0x38)),
        DirectCase(what: "non-conforming DPL 0 at CPL 3", cpl: 3, selector: 0x08, expected: .gp(0x08)),
        DirectCase(what: "conforming DPL 0 at CPL 3: CPL stays 3", cpl: 3, selector: 0x58, expected: nil),
        DirectCase(what: "conforming DPL 3 at CPL 0", cpl: 0, selector: 0x68, access: Acc.conformingCode(3), expected: .gp(0x68)),
        DirectCase(what: "conforming DPL 1 at CPL 2, RPL 0", cpl: 2, selector: 0x68, access: Acc.conformingCode(1), expected: nil),
        DirectCase(what: "not present", cpl: 0, selector: 0x68, access: Acc.code(0) & 0x7F, expected: .np(0x68)),
        DirectCase(what: "offset beyond the limit", cpl: 0, selector: 0x68, access: Acc.code(0), offset: 0x10_0000, expected: .gp(0)),
        DirectCase(what: "data segment", cpl: 0, selector: 0x10, expected: .gp(0x10)),
        DirectCase(what: "null selector", cpl: 0, selector: 0x03, expected: .gp(0)),
        DirectCase(what: "beyond the GDT", cpl: 0, selector: 0x200, expected: .gp(0x200)),
        DirectCase(what: "LDT descriptor", cpl: 0, selector: Sel.ldt, expected: .gp(UInt32(Sel.ldt))),
        DirectCase(what: "interrupt gate in the GDT", cpl: 0, selector: 0x68, access: Acc.intGate(0), expected: .gp(0x68)),
    ]

    @Test(arguments: directCases)
    func directFarJmpAndCall(_ c: DirectCase) {
        for call in [false, true] {
            let m = SysMachine()
            if let a = c.access { m.segment(13, base: 0, limit: 0xFFFF, access: a, flags: 0x4) }
            m.enter(cpl: c.cpl)
            let esp = m.cpu.esp
            m.w32(0x8000, c.offset); m.w16(0x8004, c.selector)
            // nasm:
            //     jmp far [0x8000]
            //     call far [0x8000]
            let code: [UInt8] = [0xFF, 0x2D, 0x00, 0x80, 0x00, 0x00, 0xFF, 0x1D, 0x00, 0x80, 0x00, 0x00]
            m.load(code, at: 0x1000)
            let at: UInt32 = call ? 0x1006 : 0x1000
            let stop = m.resume(at: at, limit: 1)
            if let e = c.expected {
                expectFault(m, stop, e, eip: at)
                #expect(m.cpu.esp == esp && m.cpu.segs[Seg.cs].selector == Sel.code(c.cpl))
            } else {
                #expect(stop == .limit, "call \(call)")
                #expect(m.cpu.eip == c.offset && m.cpu.cpl == c.cpl)
                #expect(m.cpu.segs[Seg.cs].selector == (c.selector & 0xFFFC) | UInt16(c.cpl), "CS.RPL = CPL")
                if call {
                    #expect(m.cpu.esp == esp - 8)
                    #expect(m.dwords(esp - 8, 2) == [0x100C, UInt32(Sel.code(c.cpl))], "EIP, then CS (zero-extended)")
                } else {
                    #expect(m.cpu.esp == esp)
                }
            }
        }
    }

    /// CALL far with a 16-bit operand size pushes CS and IP as words (SDM CALL).
    @Test func callFar16PushesWords() {
        let m = SysMachine()
        // nasm:
        //     call word 0x08:0x2000
        let stop = m.run([0x66, 0x9A, 0x00, 0x20, 0x08, 0x00], limit: 1)
        #expect(stop == .limit && m.cpu.eip == 0x2000)
        #expect(m.cpu.esp == 0x9F00 - 4)
        #expect(m.words(0x9F00 - 4, 2) == [0x1006, 0x08])
    }

    /// A CALL whose return address does not fit on the stack is #SS(0) and pushes nothing (SDM CALL).
    @Test func callFarStackFaultLeavesStateAlone() {
        let m = SysMachine()
        // Expand-down: offsets 0x9EFC and up are valid, so CS would fit and EIP would not.
        let ss = m.segment(13, base: 0, limit: 0x9EFB, access: Acc.expandDown(0), flags: 0x4)
        m.cpu.ebx = UInt32(ss)
        // nasm:
        //     mov ss, bx
        //     call 0x08:0x2000
        let stop = m.run([0x8E, 0xD3, 0x9A, 0x00, 0x20, 0x00, 0x00, 0x08, 0x00], limit: 2)
        expectFault(m, stop, .ss(0), eip: 0x1002)
        #expect(m.cpu.esp == 0x9F00 && m.u32(0x9EFC) == 0)
    }

    /// Task switches are not modeled: a far JMP/CALL to an available TSS or a
    /// task gate stops the run (issue text).  A busy TSS is #GP(selector) (SDM JMP "TASK-STATE-SEGMENT").
    @Test func farTransferToTaskStopsUnsupported() {
        let busy = SysMachine()
        busy.w32(0x8000, 0); busy.w16(0x8004, Sel.tss)       // LTR marked it busy
        // nasm:
        //     jmp far [0x8000]
        expectFault(busy, busy.run([0xFF, 0x2D, 0x00, 0x80, 0x00, 0x00], limit: 1), .gp(UInt32(Sel.tss)), eip: 0x1000)
        for (sel, access) in [(UInt16(0x70), Acc.tss32), (0x68, Acc.taskGate(0))] {
            let m = SysMachine()
            m.gdtGate(13, selector: 0x70, offset: 0, access: Acc.taskGate(0))
            m.segment(14, base: Layout.tss, limit: 0x67, access: Acc.tss32, flags: 0)
            _ = access
            m.w32(0x8000, 0); m.w16(0x8004, sel)
            // nasm:
            //     jmp far [0x8000]
            let stop = m.run([0xFF, 0x2D, 0x00, 0x80, 0x00, 0x00], limit: 1)
            guard case .unsupported = stop else { Issue.record("expected unsupported, got \(stop)"); continue }
        }
    }

    // MARK: RET far (SDM RET "PROTECTED-MODE")

    /// RET n at the same level pops EIP and CS, then releases n bytes.
    @Test func retFarSameLevelWithImmediate() {
        let m = SysMachine()
        m.enter(cpl: 3)
        m.w32(0x7800 - 16, 0x2000); m.w32(0x7800 - 12, UInt32(Sel.code(3)))
        m.cpu.esp = 0x7800 - 16
        // nasm:
        //     retf 8
        let stop = m.run([0xCA, 0x08, 0x00], limit: 1)
        #expect(stop == .limit && m.cpu.eip == 0x2000 && m.cpu.cpl == 3)
        #expect(m.cpu.esp == 0x7800)
    }

    struct RetCase: Sendable, CustomTestStringConvertible {
        let what: String
        let cpl: UInt8
        let cs: UInt16
        var ss: UInt16 = 0x43
        var access: UInt8? = nil            // GDT 13 (0x68) when set
        let expected: CPUException?
        var testDescription: String { what }
    }
    static let retCases: [RetCase] = [
        RetCase(what: "to an inner level (RPL 0 < CPL 3)", cpl: 3, cs: 0x08, expected: .gp(0x08)),
        RetCase(what: "non-conforming with DPL 0 != RPL 3", cpl: 0, cs: 0x0B, expected: .gp(0x08)),
        RetCase(what: "conforming DPL 3 > RPL 1", cpl: 1, cs: 0x69, access: Acc.conformingCode(3), expected: .gp(0x68)),
        RetCase(what: "conforming DPL 0 <= RPL 3: outer level 3", cpl: 0, cs: 0x5B, expected: nil),
        RetCase(what: "not-present code", cpl: 0, cs: 0x6B, access: Acc.code(3) & 0x7F, expected: .np(0x68)),
        RetCase(what: "data segment as CS", cpl: 0, cs: 0x43, expected: .gp(0x40)),
        RetCase(what: "null CS", cpl: 0, cs: 0x03, expected: .gp(0)),
        RetCase(what: "outer: SS null", cpl: 0, cs: 0x3B, ss: 0x03, expected: .gp(0)),
        RetCase(what: "outer: SS RPL 0 != CS RPL 3", cpl: 0, cs: 0x3B, ss: 0x40, expected: .gp(0x40)),
        RetCase(what: "outer: SS DPL 0 != RPL 3", cpl: 0, cs: 0x3B, ss: 0x13, expected: .gp(0x10)),
        RetCase(what: "outer: SS read-only", cpl: 0, cs: 0x3B, ss: 0x6B, access: Acc.readOnly(3), expected: .gp(0x68)),
        RetCase(what: "outer: SS not present", cpl: 0, cs: 0x3B, ss: 0x6B, access: Acc.data(3) & 0x7F, expected: .ss(0x68)),
        RetCase(what: "outer: to ring 3", cpl: 0, cs: 0x3B, expected: nil),
        RetCase(what: "outer: ring 1 to ring 2", cpl: 1, cs: 0x2A, ss: 0x32, expected: nil),
    ]

    @Test(arguments: retCases)
    func retFarChecks(_ c: RetCase) {
        let m = SysMachine()
        if let a = c.access { m.segment(13, access: a) }
        m.enter(cpl: c.cpl)
        let esp = m.cpu.esp - 16
        m.cpu.esp = esp
        for (k, v) in [0x2000, UInt32(c.cs), 0x6FF0, UInt32(c.ss)].enumerated() { m.w32(esp + 4 * UInt32(k), v) }
        // nasm:
        //     retf
        let stop = m.run([0xCB], limit: 1)
        if let e = c.expected {
            expectFault(m, stop, e, eip: 0x1000)
            #expect(m.cpu.cpl == c.cpl && m.cpu.esp == esp)
        } else {
            let rpl = UInt8(c.cs & 3)
            #expect(stop == .limit && m.cpu.eip == 0x2000)
            #expect(m.cpu.cpl == rpl && m.cpu.segs[Seg.cs].selector == c.cs)
            #expect(m.cpu.esp == 0x6FF0 && m.cpu.segs[Seg.ss].selector == c.ss)
        }
    }
}
