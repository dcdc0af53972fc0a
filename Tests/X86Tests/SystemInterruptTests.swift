import Testing
@testable import X86

/// Interrupt and exception delivery through the IDT: gates and their checks,
/// the stack switch through the TSS and the frame of SDM Vol. 3 §6.12.1
/// (Figure 6-4), error codes (§6.13), double faults and shutdown (§6.15,
/// Table 6-5), IRET (Vol. 2 IRET), INT n / INT3 / INTO / BOUND.
/// The standard SysMachine IDT sends every vector to a HLT at
/// 0x3000 + 16 * vector, so `m.cpu.eip == m.haltedIn(v)` says vector v was delivered.
@Suite struct SystemInterruptTests {

    // MARK: frames (SDM Vol. 3 §6.12.1, Figure 6-4)

    /// No privilege change: EFLAGS, CS, EIP on the current stack; an interrupt
    /// gate clears IF, and TF, NT, RF, VM are cleared (§6.12.1.2).
    @Test func sameLevelInterruptGateFrame() {
        let m = SysMachine()
        m.deliverExceptions = true
        m.setIDT(0x30, offset: m.handlerAddress(0x30), access: Acc.intGate(0))
        let flags: UInt32 = 0x0004_0002 | EFLAGS.if | EFLAGS.nt | EFLAGS.cf     // AC, IF, NT, CF
        m.cpu.setEFLAGS(flags)
        // nasm:
        //     int 0x30
        let stop = m.run([0xCD, 0x30], limit: 5)
        #expect(stop == .halted && m.cpu.eip == m.haltedIn(0x30))
        #expect(m.cpu.esp == 0x9F00 - 12)
        #expect(m.dwords(0x9F00 - 12, 3) == [0x1002, 0x08, flags])
        #expect(m.cpu.eflags == (flags & ~(EFLAGS.if | EFLAGS.nt)), "IF and NT cleared, AC and CF kept")
    }

    /// A trap gate leaves IF alone (SDM Vol. 3 §6.12.1.2).
    @Test func trapGateKeepsIF() {
        let m = SysMachine()
        m.setIDT(0x30, offset: m.handlerAddress(0x30), access: Acc.trapGate(0))
        m.cpu.setEFLAGS(EFLAGS.if | 2)
        // nasm:
        //     int 0x30
        #expect(m.run([0xCD, 0x30], limit: 5) == .halted)
        #expect(m.cpu.eip == m.haltedIn(0x30) && m.cpu.interruptsEnabled)
        #expect(m.dwords(0x9F00 - 12, 3) == [0x1002, 0x08, EFLAGS.if | 2])
    }

    /// Ring 3 -> ring 0: SS0:ESP0 from the TSS, then SS, ESP, EFLAGS, CS, EIP of
    /// the interrupted code (SDM Vol. 3 §6.12.1, Figure 6-4 "with privilege-level change").
    @Test func interPrivilegeFrameFromRing3() {
        let m = SysMachine()
        m.setIDT(0x80, offset: m.handlerAddress(0x80), access: Acc.intGate(3))
        m.enter(cpl: 3, eflags: EFLAGS.if)
        // nasm:
        //     int 0x80
        #expect(m.run([0xCD, 0x80], limit: 5) == .halted)
        #expect(m.cpu.eip == m.haltedIn(0x80) && m.cpu.cpl == 0)
        #expect(m.cpu.segs[Seg.cs].selector == 0x08 && m.cpu.segs[Seg.ss].selector == 0x10)
        #expect(m.cpu.esp == 0xB000 - 20)
        #expect(m.dwords(0xB000 - 20, 5) == [0x1002, 0x3B, EFLAGS.if | 2, 0x7800, 0x43])
        #expect(m.cpu.segs[Seg.ds].selector == 0x43, "DS is not touched outside virtual-8086 mode")
        #expect(!m.cpu.interruptsEnabled)
    }

    /// Ring 3 -> ring 1 through a gate whose target is a DPL-1 segment: SS1:ESP1 from the TSS.
    @Test func interPrivilegeToRing1UsesSS1ESP1() {
        let m = SysMachine()
        m.setIDT(0x81, selector: Sel.code(1), offset: m.handlerAddress(0x81), access: Acc.trapGate(3))
        m.enter(cpl: 3)
        // nasm:
        //     nop
        //     int 0x81
        #expect(m.run([0x90, 0xCD, 0x81], limit: 5) == .exception(.gp(0)), "HLT at CPL 1 is #GP(0)")
        #expect(m.cpu.eip == m.handlerAddress(0x81) && m.cpu.cpl == 1)
        #expect(m.cpu.segs[Seg.cs].selector == Sel.code(1) && m.cpu.segs[Seg.ss].selector == Sel.data(1))
        #expect(m.cpu.esp == 0xC000 - 20)
        #expect(m.dwords(0xC000 - 20, 5) == [0x1003, 0x3B, 2, 0x7800, 0x43])
    }

    /// A fault with an error code from ring 2 delivered to ring 0: the error code
    /// is pushed last, EIP is the faulting instruction (SDM Vol. 3 §6.13, Figure 6-4).
    @Test func exceptionFromRing2PushesErrorCodeBelowEIP() {
        let m = SysMachine()
        m.deliverExceptions = true
        m.enter(cpl: 2)
        // nasm:
        //     nop
        //     hlt                    ; #GP(0) at CPL 2
        #expect(m.run([0x90, 0xF4], limit: 5) == .halted)
        #expect(m.cpu.eip == m.haltedIn(Vector.gp) && m.cpu.cpl == 0)
        #expect(m.cpu.esp == 0xB000 - 24)
        #expect(m.dwords(0xB000 - 24, 6) == [0, 0x1001, UInt32(Sel.code(2)), 2, 0x6800, UInt32(Sel.data(2))])
    }

    /// Same-level delivery at CPL 3 (a DPL-3 gate to DPL-3 code): no stack switch.
    @Test func sameLevelDeliveryAtRing3() {
        let m = SysMachine()
        m.setIDT(0x33, selector: Sel.code(3), offset: 0x2000, access: Acc.intGate(3))
        m.enter(cpl: 3)
        // nasm:
        //     int 0x33
        let stop = m.run([0xCD, 0x33], limit: 1)
        #expect(stop == .limit && m.cpu.eip == 0x2000 && m.cpu.cpl == 3)
        #expect(m.cpu.segs[Seg.cs].selector == Sel.code(3))
        #expect(m.cpu.esp == 0x7800 - 12)
        #expect(m.dwords(0x7800 - 12, 3) == [0x1002, UInt32(Sel.code(3)), 2])
    }

    /// The same, with the ring-3 stack on a supervisor page: the pushes are
    /// user-mode accesses (SDM Vol. 3 §4.6: only the IDT, GDT/LDT and TSS
    /// accesses are implicit supervisor accesses), so #PF with U/S = 1, W = 1, P = 1.
    @Test func sameLevelDeliveryAtRing3PushesAsUser() {
        let m = SysMachine()
        m.enablePaging()
        m.setPTE(0x7000, 0x7000 | PTE.present | PTE.writable)       // supervisor-only stack page
        m.setIDT(0x33, selector: Sel.code(3), offset: 0x2000, access: Acc.intGate(3))
        m.enter(cpl: 3)
        // nasm:
        //     int 0x33
        let stop = m.run([0xCD, 0x33], limit: 1)
        expectFault(m, stop, CPUException(Vector.pf, 7), eip: 0x1000)
        #expect(m.cpu.cr2 == 0x7800 - 4 && m.cpu.cpl == 3)
    }

    /// A 16-bit interrupt gate (type 6) pushes FLAGS, CS, IP as words and jumps to the low 16 bits of the offset.
    @Test func sixteenBitInterruptGatePushesWords() {
        let m = SysMachine()
        m.setIDT(0x30, offset: 0x0001_2000, access: 0x86)
        m.load([0xF4], at: 0x2000)
        m.cpu.setEFLAGS(EFLAGS.if | 2)
        // nasm:
        //     int 0x30
        #expect(m.run([0xCD, 0x30], limit: 5) == .halted && m.cpu.eip == 0x2001)
        #expect(m.cpu.esp == 0x9F00 - 6)
        #expect(m.words(0x9F00 - 6, 3) == [0x1002, 0x08, EFLAGS.if | 2])
        #expect(!m.cpu.interruptsEnabled)
    }

    // MARK: INT n, INT3, INTO, BOUND (SDM Vol. 2 INT n/INTO/INT3/INT1, BOUND; Vol. 3 §6.12.1.1)

    /// INT n through a gate with DPL < CPL is #GP(vector * 8 + 2): IDT bit set, EXT clear.
    @Test func softwareInterruptGateDPLCheck() {
        for (cpl, gateDPL, ok) in [(UInt8(3), UInt8(0), false), (3, 3, true), (1, 0, false), (1, 1, true), (2, 3, true), (0, 0, true)] {
            let m = SysMachine()
            m.setIDT(0x31, offset: m.handlerAddress(0x31), access: Acc.intGate(gateDPL))
            m.enter(cpl: cpl)
            // nasm:
            //     int 0x31
            let stop = m.run([0xCD, 0x31], limit: 5)
            if ok {
                #expect(stop == .halted && m.cpu.eip == m.haltedIn(0x31), "CPL \(cpl) gate DPL \(gateDPL)")
            } else {
                expectFault(m, stop, .gp(0x31 * 8 + 2), eip: 0x1000)
                #expect(m.cpu.cpl == cpl)
            }
        }
    }

    /// The #GP of a failed DPL check, delivered: its error code is on the handler's stack.
    @Test func softwareInterruptDPLFaultDelivered() {
        let m = SysMachine()
        m.deliverExceptions = true
        m.enter(cpl: 3)
        // nasm:
        //     int 0x31               ; DPL-0 gate
        #expect(m.run([0xCD, 0x31], limit: 5) == .halted && m.cpu.eip == m.haltedIn(Vector.gp))
        #expect(m.dwords(0xB000 - 24, 6) == [0x18A, 0x1000, 0x3B, 2, 0x7800, 0x43])
    }

    /// INT3 is a trap (EIP after it) and checks the gate DPL like INT n (SDM INT3: #GP(3*8+2)).
    @Test func int3IsATrapWithDPLCheck() {
        let m = SysMachine()
        m.setIDT(Vector.bp, offset: m.handlerAddress(Vector.bp), access: Acc.intGate(3))
        m.enter(cpl: 3)
        // nasm:
        //     int3
        #expect(m.run([0xCC], limit: 5) == .halted && m.cpu.eip == m.haltedIn(Vector.bp))
        #expect(m.dwords(0xB000 - 20, 2) == [0x1001, 0x3B])

        let n = SysMachine()
        n.enter(cpl: 3)
        expectFault(n, n.run([0xCC], limit: 5), .gp(3 * 8 + 2), eip: 0x1000)
    }

    /// INTO traps to vector 4 only when OF = 1; the DPL check applies only then (SDM INTO).
    @Test func intoOnlyWhenOverflow() {
        for of in [false, true] {
            for gateDPL: UInt8 in [0, 3] {
                let m = SysMachine()
                m.setIDT(Vector.of, offset: m.handlerAddress(Vector.of), access: Acc.intGate(gateDPL))
                m.enter(cpl: 3, eflags: of ? EFLAGS.of : 0)
                // nasm:
                //     into
                //     nop
                let stop = m.run([0xCE, 0x90], limit: of ? 5 : 2)
                if !of {
                    #expect(stop == .limit && m.cpu.eip == 0x1002)
                } else if gateDPL == 3 {
                    #expect(stop == .halted && m.cpu.eip == m.haltedIn(Vector.of))
                    #expect(m.dwords(0xB000 - 20, 3) == [0x1001, 0x3B, EFLAGS.of | 2])
                } else {
                    expectFault(m, stop, .gp(4 * 8 + 2), eip: 0x1000)
                }
            }
        }
    }

    /// BOUND: #BR (vector 5, no error code) is a fault — EIP of the BOUND; the bounds are signed (SDM BOUND).
    @Test func boundRaisesBRAsAFault() {
        let cases: [(index: Int32, ok: Bool)] = [(-2, true), (5, true), (-1, true), (-3, false), (6, false), (Int32.min, false)]
        for c in cases {
            let m = SysMachine()
            m.deliverExceptions = true
            m.w32(0x8000, UInt32(bitPattern: -2)); m.w32(0x8004, 5)
            m.cpu.eax = UInt32(bitPattern: c.index)
            // nasm:
            //     nop
            //     bound eax, [0x8000]
            //     nop
            let stop = m.run([0x90, 0x62, 0x05, 0x00, 0x80, 0x00, 0x00, 0x90], limit: 3)
            if c.ok {
                #expect(stop == .limit && m.cpu.eip == 0x1008, "index \(c.index)")
            } else {
                #expect(stop == .halted && m.cpu.eip == m.haltedIn(Vector.br), "index \(c.index)")
                #expect(m.dwords(0x9F00 - 12, 3) == [0x1001, 0x08, 2], "no error code; EIP of the BOUND")
            }
        }
    }

    // MARK: IDT and gate checks (SDM INT n "PROTECTED-MODE", Vol. 3 §6.11-§6.12)

    struct GateCase: Sendable, CustomTestStringConvertible {
        let what: String
        var idtLimit: UInt16 = 0x7FF
        var gate: (UInt32, UInt32)? = nil   // IDT entry 0x40; nil = the standard DPL-0 gate
        var target: (UInt32, UInt32)? = nil // GDT 13 (selector 0x68)
        let software: CPUException?         // from INT 0x40 at CPL 0 (EXT = 0)
        let external: CPUException?         // from an external interrupt 0x40 (EXT = 1)
        var testDescription: String { what }
    }
    static let gateCases: [GateCase] = [
        GateCase(what: "vector beyond the IDT limit", idtLimit: 0x40 * 8 + 6, software: .gp(0x202), external: .gp(0x203)),
        GateCase(what: "gate not present", gate: Desc.gate(selector: 8, offset: 0x3400, access: 0x0E), software: .np(0x202), external: .np(0x203)),
        GateCase(what: "call gate in the IDT", gate: Desc.gate(selector: 8, offset: 0x3400, access: 0x8C), software: .gp(0x202), external: .gp(0x203)),
        GateCase(what: "data descriptor in the IDT", gate: Desc.segment(base: 0, limit: 0xFFFFF, access: 0x93), software: .gp(0x202), external: .gp(0x203)),
        GateCase(what: "TSS descriptor in the IDT", gate: Desc.segment(base: 0, limit: 0x67, access: 0x89, flags: 0), software: .gp(0x202), external: .gp(0x203)),
        GateCase(what: "target selector null", gate: Desc.gate(selector: 0, offset: 0x3400, access: 0x8E), software: .gp(0), external: .gp(1)),
        GateCase(what: "target beyond the GDT", gate: Desc.gate(selector: 0x400, offset: 0x3400, access: 0x8E), software: .gp(0x400), external: .gp(0x401)),
        GateCase(what: "target is data", gate: Desc.gate(selector: 0x10, offset: 0x3400, access: 0x8E), software: .gp(0x10), external: .gp(0x11)),
        GateCase(what: "target DPL 3 > CPL 0", gate: Desc.gate(selector: 0x38, offset: 0x3400, access: 0x8E), software: .gp(0x38), external: .gp(0x39)),
        GateCase(what: "target not present", gate: Desc.gate(selector: 0x68, offset: 0x3400, access: 0x8E),
                 target: Desc.segment(base: 0, limit: 0xFFFFF, access: 0x1B), software: .np(0x68), external: .np(0x69)),
        GateCase(what: "offset beyond the target limit", gate: Desc.gate(selector: 0x68, offset: 0x3400, access: 0x8E),
                 target: Desc.segment(base: 0, limit: 0x33FF, access: 0x9B, flags: 0x4), software: .gp(0), external: .gp(1)),
    ]

    @Test(arguments: gateCases)
    func idtGateChecks(_ c: GateCase) {
        for external in [false, true] {
            let m = SysMachine()
            m.cpu.idtr.limit = c.idtLimit
            if let g = c.gate { m.w32(Layout.idt + 0x200, g.0); m.w32(Layout.idt + 0x204, g.1) }
            if let t = c.target { m.setGDT(13, t) }
            let pic = OneShotPIC(external ? 0x40 : nil)
            m.cpu.interrupts = pic
            m.cpu.setEFLAGS(EFLAGS.if | 2)
            // nasm:
            //     int 0x40
            let intCode: [UInt8] = [0xCD, 0x40]
            let stop = m.run(external ? [0x90] : intCode, limit: 5)
            if external {
                // The error is raised while delivering an event, so it is delivered in turn
                // (stopOnException applies to exceptions raised by instructions).
                let e = c.external!
                #expect(stop == .halted && m.cpu.eip == m.haltedIn(e.vector))
                #expect(m.dwords(0x9F00 - 16, 4) == [e.errorCode!, 0x1000, 0x08, EFLAGS.if | 2])
            } else {
                expectFault(m, stop, c.software!, eip: 0x1000)
                #expect(m.cpu.esp == 0x9F00 && m.cpu.interruptsEnabled, "nothing pushed")
            }
            withExtendedLifetime(pic) {}
        }
    }

    /// A task gate in the IDT stops the run: task switches are not modeled (issue text).
    @Test func taskGateInIDTStopsUnsupported() {
        let m = SysMachine()
        m.setIDT(0x40, selector: Sel.tss, offset: 0, access: Acc.taskGate(0))
        // nasm:
        //     int 0x40
        guard case .unsupported = m.run([0xCD, 0x40], limit: 1) else { Issue.record("expected an unsupported stop"); return }
    }

    /// Errors raised while delivering a hardware exception or an external
    /// interrupt carry EXT = 1 (SDM Vol. 3 §6.13: "an earlier exception" or an
    /// interrupt); the second exception is then delivered with that error code.
    @Test func extBitWhenDeliveringAnException() {
        let m = SysMachine()
        m.deliverExceptions = true
        m.setIDT(Vector.ud, offset: m.handlerAddress(Vector.ud), access: 0x0E)   // #UD gate not present
        // nasm:
        //     nop
        //     ud2
        #expect(m.run([0x90, 0x0F, 0x0B], limit: 5) == .halted)
        #expect(m.cpu.eip == m.haltedIn(Vector.np), "#UD is benign: the #NP is delivered serially, not as #DF")
        #expect(m.dwords(0x9F00 - 16, 4) == [UInt32(Vector.ud) * 8 + 3, 0x1001, 0x08, 2])
    }

    /// An external interrupt is taken between instructions, never while IF = 0;
    /// STI;HLT: the interrupt after STI's shadow wakes the HLT and the frame
    /// holds the EIP after the HLT (SDM STI, HLT; Vol. 3 §6.8.3).  The
    /// interrupt gate clears IF.
    @Test func externalInterruptFrame() {
        let m = SysMachine()
        let pic = OneShotPIC(0x40)
        m.cpu.interrupts = pic
        m.cpu.setEFLAGS(2)
        // nasm:
        //     mov eax, 1
        //     hlt
        //     sti
        //     hlt
        let code: [UInt8] = [0xB8, 0x01, 0x00, 0x00, 0x00, 0xF4, 0xFB, 0xF4]
        #expect(m.run(code, limit: 10) == .halted && m.cpu.eip == 0x1006 && pic.acknowledged == 0, "IF = 0: not taken")
        let stop = m.resume(at: 0x1006, limit: 10)
        #expect(stop == .halted && m.cpu.eip == m.haltedIn(0x40) && pic.acknowledged == 1)
        #expect(m.dwords(0x9F00 - 12, 3) == [0x1008, 0x08, EFLAGS.if | 2])
        #expect(!m.cpu.interruptsEnabled)
        withExtendedLifetime(pic) {}
    }

    // MARK: stack switch failures (SDM INT n "INTER-PRIVILEGE-LEVEL-INTERRUPT" #TS/#SS conditions)

    struct StackCase: Sendable, CustomTestStringConvertible {
        let what: String
        var ss0: UInt16 = 0x10
        var ssAccess: UInt8? = nil
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
        StackCase(what: "SS0 beyond the GDT", ss0: 0x400, expected: .ts(0x400)),
        StackCase(what: "SS0 not present", ss0: 0x68, ssAccess: Acc.data(0) & 0x7F, expected: .ss(0x68)),
        StackCase(what: "TSS too short for SS0:ESP0", tssLimit: 0x08, expected: .ts(UInt32(Sel.tss))),
        StackCase(what: "no room for the frame", ss0: 0x68, ssAccess: Acc.data(0), ssLimit: 0xAFF0, ssFlags: 0x4, expected: .ss(0x68)),
    ]

    /// INT 0x80 from ring 3 with a bad ring-0 stack: the fault is raised with
    /// EIP at the INT and nothing changes (CPL, SS:ESP, CS).
    @Test(arguments: stackCases)
    func interruptStackSwitchChecks(_ c: StackCase) {
        let m = SysMachine()
        m.setIDT(0x80, offset: m.handlerAddress(0x80), access: Acc.intGate(3))
        if let a = c.ssAccess { m.segment(13, base: 0, limit: c.ssLimit, access: a, flags: c.ssFlags) }
        m.w32(Layout.tss + 8, UInt32(c.ss0))
        if c.tssLimit != 0x67 {
            m.setGDT(9, Desc.segment(base: Layout.tss, limit: c.tssLimit, access: Acc.tss32, flags: 0))
            try! m.cpu.loadTR(Sel.tss)
        }
        m.enter(cpl: 3)
        // nasm:
        //     int 0x80
        let stop = m.run([0xCD, 0x80], limit: 1)
        expectFault(m, stop, c.expected, eip: 0x1000)
        #expect(m.cpu.cpl == 3 && m.cpu.esp == 0x7800)
        #expect(m.cpu.segs[Seg.ss].selector == 0x43 && m.cpu.segs[Seg.cs].selector == 0x3B)
    }

    /// A 16-bit TSS holds SP0 at offset 2 and SS0 at offset 4 (SDM Vol. 3
    /// Figure 7-11; INT n "ELSE (* TSS is 16-bit *)"); its limit must cover them.
    @Test func sixteenBitTSSSuppliesSS0SP0() {
        for (limit, ok) in [(UInt32(0x2B), true), (5, true), (4, false)] {
            let m = SysMachine()
            m.setIDT(0x80, offset: m.handlerAddress(0x80), access: Acc.intGate(3))
            m.w16(0x14002, 0xA800); m.w16(0x14004, UInt16(Sel.data(0)))
            m.segment(14, base: 0x14000, limit: limit, access: 0x81, flags: 0)     // available 16-bit TSS
            try! m.cpu.loadTR(0x70)
            m.enter(cpl: 3)
            // nasm:
            //     int 0x80
            let stop = m.run([0xCD, 0x80], limit: 5)
            if ok {
                #expect(stop == .halted && m.cpu.eip == m.haltedIn(0x80) && m.cpu.cpl == 0)
                #expect(m.cpu.esp == 0xA800 - 20 && m.cpu.segs[Seg.ss].selector == Sel.data(0))
                #expect(m.dwords(0xA800 - 20, 5) == [0x1002, 0x3B, 2, 0x7800, 0x43])
            } else {
                expectFault(m, stop, .ts(0x70), eip: 0x1000)
            }
        }
    }

    /// An expand-down inner stack: the frame must lie above the limit (SDM Vol. 3 §5.3).
    @Test func expandDownInnerStack() {
        for (esp0, ok) in [(UInt32(0xB000), true), (0x1014, true), (0x1010, false)] {
            let m = SysMachine()
            m.setIDT(0x80, offset: m.handlerAddress(0x80), access: Acc.intGate(3))
            m.segment(13, base: 0, limit: 0x0FFF, access: Acc.expandDown(0), flags: 0x4)
            m.w32(Layout.tss + 4, esp0); m.w32(Layout.tss + 8, 0x68)
            m.enter(cpl: 3)
            // nasm:
            //     int 0x80
            let stop = m.run([0xCD, 0x80], limit: 5)
            if ok {
                #expect(stop == .halted && m.cpu.esp == esp0 - 20 && m.cpu.segs[Seg.ss].selector == 0x68)
                #expect(m.dwords(esp0 - 20, 5) == [0x1002, 0x3B, 2, 0x7800, 0x43])
            } else {
                expectFault(m, stop, .ss(0x68), eip: 0x1000)
                #expect(m.cpu.cpl == 3 && m.cpu.esp == 0x7800)
            }
        }
    }

    /// A #TS raised by a bad SS0 on an inward call is delivered to a ring-1
    /// handler (its own stack from SS1:ESP1 is fine): the frame has the #TS error code.
    @Test func tsDeliveredWithErrorCode() {
        let m = SysMachine()
        m.deliverExceptions = true
        m.setIDT(0x80, offset: m.handlerAddress(0x80), access: Acc.intGate(3))
        m.setIDT(Vector.ts, selector: Sel.code(1), offset: 0x2000, access: Acc.intGate(0))
        m.w32(Layout.tss + 8, 0x13)
        m.load([0x90], at: 0x2000)
        m.enter(cpl: 3)
        // nasm:
        //     int 0x80
        // A run of one instruction is a single step: the #TS delivered is the
        // step, and the run ends at the handler's first instruction (Run.swift).
        #expect(m.run([0xCD, 0x80], limit: 1) == .limit)
        #expect(m.cpu.eip == 0x2000 && m.cpu.cpl == 1, "at the handler, its NOP not run")
        #expect(m.dwords(0xC000 - 24, 6) == [0x10, 0x1000, 0x3B, 2, 0x7800, 0x43])
        #expect(m.cpu.run(maxInstructions: 1) == .limit && m.cpu.eip == 0x2001, "the next step runs the NOP")
    }

    // MARK: every exception's vector, error code and EIP (SDM Vol. 3 Table 6-1, §6.15)

    struct FaultCase: Sendable, CustomTestStringConvertible {
        let what: String
        let code: [UInt8]
        let vector: UInt8
        let errorCode: UInt32?
        let eip: UInt32             // the pushed EIP: the faulting instruction, or the next one for traps
        var cpl: UInt8 = 0
        var testDescription: String { what }
    }
    static let faultCases: [FaultCase] = [
        // nasm:
        //     xor ecx, ecx
        //     div ecx
        FaultCase(what: "#DE: DIV by zero, fault", code: [0x31, 0xC9, 0xF7, 0xF1], vector: Vector.de, errorCode: nil, eip: 0x1002),
        // nasm:
        //     nop
        //     int3
        FaultCase(what: "#BP: INT3, trap", code: [0x90, 0xCC], vector: Vector.bp, errorCode: nil, eip: 0x1002),
        // nasm:
        //     mov al, 0x7F
        //     add al, 1
        //     into
        FaultCase(what: "#OF: INTO, trap", code: [0xB0, 0x7F, 0x04, 0x01, 0xCE], vector: Vector.of, errorCode: nil, eip: 0x1005),
        // nasm:
        //     mov eax, 9
        //     bound eax, [0x8000]
        FaultCase(what: "#BR: BOUND, fault", code: [0xB8, 0x09, 0x00, 0x00, 0x00, 0x62, 0x05, 0x00, 0x80, 0x00, 0x00],
                  vector: Vector.br, errorCode: nil, eip: 0x1005),
        // nasm:
        //     nop
        //     ud2
        FaultCase(what: "#UD: UD2", code: [0x90, 0x0F, 0x0B], vector: Vector.ud, errorCode: nil, eip: 0x1001),
        // nasm:
        //     mov eax, cr0
        //     or al, 4               ; EM
        //     mov cr0, eax
        //     fld1
        FaultCase(what: "#NM: x87 with CR0.EM", code: [0x0F, 0x20, 0xC0, 0x0C, 0x04, 0x0F, 0x22, 0xC0, 0xD9, 0xE8],
                  vector: Vector.nm, errorCode: nil, eip: 0x1008),
        // nasm:
        //     mov bx, 0x73           ; GDT 14: not present
        //     mov ds, bx
        FaultCase(what: "#NP: MOV DS, not present", code: [0x66, 0xBB, 0x73, 0x00, 0x8E, 0xDB], vector: Vector.np, errorCode: 0x70, eip: 0x1004, cpl: 3),
        // nasm:
        //     mov eax, [ss:0x9FFC]   ; SS limit 0x9FFF (GDT 13)
        //     mov eax, [ss:0x9FFD]
        FaultCase(what: "#SS: stack segment limit", code: [0x36, 0xA1, 0xFC, 0x9F, 0x00, 0x00, 0x36, 0xA1, 0xFD, 0x9F, 0x00, 0x00],
                  vector: Vector.ss, errorCode: 0, eip: 0x1006),
        // nasm:
        //     nop
        //     mov eax, cr0
        FaultCase(what: "#GP: MOV from CR0 at CPL 3", code: [0x90, 0x0F, 0x20, 0xC0], vector: Vector.gp, errorCode: 0, eip: 0x1001, cpl: 3),
        // nasm:
        //     mov eax, [0x00500000]  ; no page table for 4-8 MiB
        FaultCase(what: "#PF: not-present PDE, user read", code: [0xA1, 0x00, 0x00, 0x50, 0x00], vector: Vector.pf, errorCode: 4, eip: 0x1000, cpl: 3),
    ]

    /// Each exception is delivered through its gate with the right EIP and
    /// error code (only #DF, #TS, #NP, #SS, #GP, #PF, #AC push one: Table 6-1).
    @Test(arguments: faultCases)
    func exceptionDelivery(_ c: FaultCase) {
        let m = SysMachine()
        m.deliverExceptions = true
        m.w32(0x8000, 1); m.w32(0x8004, 5)
        m.segment(13, base: 0, limit: 0x9FFF, access: Acc.data(0), flags: 0x4)
        m.segment(14, access: Acc.data(3) & 0x7F)
        m.enablePaging()
        m.enter(cpl: c.cpl)
        if c.vector == Vector.ss { try! m.cpu.loadSegment(Seg.ss, selector: 0x68) }
        let stop = m.run(c.code, limit: 20)
        #expect(stop == .halted && m.cpu.eip == m.haltedIn(c.vector), "delivered to vector \(c.vector)")
        let depth = (c.errorCode == nil ? 3 : 4) + (c.cpl > 0 ? 2 : 0)
        let top = (c.cpl > 0 ? 0xB000 : 0x9F00) - UInt32(4 * depth)
        #expect(m.cpu.esp == top)
        var want = [c.eip, UInt32(Sel.code(c.cpl))]
        if let e = c.errorCode { want.insert(e, at: 0) }
        #expect(Array(m.dwords(top, want.count)) == want)
        if c.vector == Vector.pf { #expect(m.cpu.cr2 == 0x0050_0000) }
    }

    // MARK: double fault and shutdown (SDM Vol. 3 §6.15 "Interrupt 8", Table 6-4 and 6-5)

    /// Contributory then contributory: #GP while delivering #GP -> #DF with error code 0.
    @Test func contributoryDuringContributoryIsDoubleFault() {
        let m = SysMachine()
        m.deliverExceptions = true
        m.setIDT(Vector.gp, offset: m.handlerAddress(Vector.gp), access: 0x0E)   // not present: #NP
        m.cpu.ebx = 0x400
        // nasm:
        //     nop
        //     mov ds, bx             ; beyond the GDT: #GP(0x400)
        #expect(m.run([0x90, 0x8E, 0xDB], limit: 5) == .halted)
        #expect(m.cpu.eip == m.haltedIn(Vector.df))
        #expect(m.dwords(0x9F00 - 16, 4) == [0, 0x1001, 0x08, 2])
    }

    /// Page fault then contributory: #GP while delivering #PF -> #DF.
    @Test func contributoryDuringPageFaultIsDoubleFault() {
        let m = SysMachine()
        m.deliverExceptions = true
        m.enablePaging()
        m.setIDT(Vector.pf, offset: m.handlerAddress(Vector.pf), access: 0x8C)   // a call gate: #GP
        // nasm:
        //     mov eax, [0x00500000]
        #expect(m.run([0xA1, 0x00, 0x00, 0x50, 0x00], limit: 5) == .halted)
        #expect(m.cpu.eip == m.haltedIn(Vector.df) && m.cpu.cr2 == 0x0050_0000)
        #expect(m.dwords(0x9F00 - 16, 4) == [0, 0x1000, 0x08, 2])
    }

    /// Page fault then page fault: the #PF gate's code descriptor sits on a
    /// not-present page of the GDT -> #PF while delivering #PF -> #DF.
    @Test func pageFaultDuringPageFaultIsDoubleFault() {
        let m = SysMachine()
        m.deliverExceptions = true
        m.cpu.gdtr.limit = 0x7FFF
        m.setGDT(0x700, Desc.segment(base: 0, limit: 0xFFFFF, access: Acc.code(0)))   // at 0x13800
        m.setIDT(Vector.pf, selector: 0x3800, offset: m.handlerAddress(Vector.pf), access: Acc.intGate(0))
        m.enablePaging()
        m.setPTE(0x13000, 0)
        // nasm:
        //     mov eax, [0x00500000]
        #expect(m.run([0xA1, 0x00, 0x00, 0x50, 0x00], limit: 5) == .halted)
        #expect(m.cpu.eip == m.haltedIn(Vector.df))
        #expect(m.cpu.cr2 == 0x13800, "CR2 of the second #PF: the descriptor's address")
        #expect(m.dwords(0x9F00 - 16, 4) == [0, 0x1000, 0x08, 2])
    }

    /// Contributory then page fault: handled serially — the #PF is delivered, not #DF (Table 6-5).
    @Test func pageFaultDuringContributoryIsSerial() {
        let m = SysMachine()
        m.deliverExceptions = true
        m.cpu.gdtr.limit = 0x7FFF
        m.setGDT(0x700, Desc.segment(base: 0, limit: 0xFFFFF, access: Acc.code(0)))
        m.setIDT(Vector.gp, selector: 0x3800, offset: m.handlerAddress(Vector.gp), access: Acc.intGate(0))
        m.enablePaging()
        m.setPTE(0x13000, 0)
        m.cpu.ebx = 0x400
        // nasm:
        //     mov ds, bx
        #expect(m.run([0x8E, 0xDB], limit: 5) == .halted)
        #expect(m.cpu.eip == m.haltedIn(Vector.pf))
        #expect(m.dwords(0x9F00 - 16, 4) == [0, 0x1000, 0x08, 2], "#PF error code 0: supervisor read of a not-present page")
    }

    /// A fault while delivering #DF shuts the processor down (triple fault).
    @Test func faultDuringDoubleFaultIsTripleFault() {
        let m = SysMachine()
        m.deliverExceptions = true
        m.setIDT(Vector.gp, offset: m.handlerAddress(Vector.gp), access: 0x0E)
        m.setIDT(Vector.df, offset: m.handlerAddress(Vector.df), access: 0x0E)
        m.cpu.ebx = 0x400
        // nasm:
        //     mov ds, bx
        #expect(m.run([0x8E, 0xDB], limit: 5) == .tripleFault)
    }

    // MARK: IRET (SDM IRET "PROTECTED-MODE", "RETURN-TO-SAME-PRIVILEGE-LEVEL", "RETURN-TO-OUTER-PRIVILEGE-LEVEL")

    @Test func iretSameLevel() {
        let m = SysMachine()
        let esp: UInt32 = 0x9F00 - 12
        m.cpu.esp = esp
        for (k, v) in [UInt32(0x2000), 0x08, EFLAGS.cf | EFLAGS.zf | 2].enumerated() { m.w32(esp + 4 * UInt32(k), v) }
        // nasm:
        //     iret
        #expect(m.run([0xCF], limit: 1) == .limit)
        #expect(m.cpu.eip == 0x2000 && m.cpu.esp == 0x9F00 && m.cpu.eflags == EFLAGS.cf | EFLAGS.zf | 2)
    }

    /// IRET to ring 3 pops SS:ESP too and nulls DS/ES/FS/GS holding DPL-0 data.
    @Test func iretToOuterLevel() {
        let m = SysMachine()
        let esp: UInt32 = 0x9F00 - 20
        m.cpu.esp = esp
        for (k, v) in [UInt32(0x2000), 0x3B, EFLAGS.if | 2, 0x7700, 0x43].enumerated() { m.w32(esp + 4 * UInt32(k), v) }
        m.cpu.ebx = 0x43
        // nasm:
        //     mov es, bx
        //     iret
        #expect(m.run([0x8E, 0xC3, 0xCF], limit: 2) == .limit)
        #expect(m.cpu.eip == 0x2000 && m.cpu.cpl == 3 && m.cpu.esp == 0x7700)
        #expect(m.cpu.segs[Seg.cs].selector == 0x3B && m.cpu.segs[Seg.ss].selector == 0x43)
        #expect(m.cpu.interruptsEnabled)
        #expect(m.cpu.segs[Seg.ds].selector == 0 && !m.cpu.segs[Seg.ds].usable)
        #expect(m.cpu.segs[Seg.fs].selector == 0 && m.cpu.segs[Seg.gs].selector == 0)
        #expect(m.cpu.segs[Seg.es].selector == 0x43 && m.cpu.segs[Seg.es].usable)
    }

    /// 16-bit IRET pops IP, CS, FLAGS as words.
    @Test func iret16PopsWords() {
        let m = SysMachine()
        m.cpu.esp = 0x9F00 - 6
        m.w16(0x9F00 - 6, 0x2000); m.w16(0x9F00 - 4, 0x08); m.w16(0x9F00 - 2, UInt16(EFLAGS.cf | 2))
        m.cpu.setEFLAGS(0x0004_0002)      // AC: above the 16 bits IRETW loads
        // nasm:
        //     iretw
        #expect(m.run([0x66, 0xCF], limit: 1) == .limit)
        #expect(m.cpu.eip == 0x2000 && m.cpu.esp == 0x9F00)
        #expect(m.cpu.eflags == 0x0004_0000 | EFLAGS.cf | 2)
    }

    struct IretCase: Sendable, CustomTestStringConvertible {
        let what: String
        let cpl: UInt8
        let cs: UInt32
        var eip: UInt32 = 0x2000
        var ss: UInt32 = 0x43
        var access: UInt8? = nil       // GDT 13
        let expected: CPUException
        var testDescription: String { what }
    }
    static let iretCases: [IretCase] = [
        IretCase(what: "to an inner level", cpl: 3, cs: 0x08, expected: .gp(0x08)),
        IretCase(what: "CS null", cpl: 0, cs: 0, expected: .gp(0)),
        IretCase(what: "CS is data", cpl: 0, cs: 0x10, expected: .gp(0x10)),
        IretCase(what: "CS beyond the GDT", cpl: 0, cs: 0x403, expected: .gp(0x400)),
        IretCase(what: "non-conforming DPL != RPL", cpl: 0, cs: 0x0B, expected: .gp(0x08)),
        IretCase(what: "CS not present", cpl: 0, cs: 0x6B, access: Acc.code(3) & 0x7F, expected: .np(0x68)),
        IretCase(what: "EIP beyond the CS limit", cpl: 0, cs: 0x68, eip: 0x10000, access: Acc.code(0), expected: .gp(0)),
        IretCase(what: "outer: SS null", cpl: 0, cs: 0x3B, ss: 0x3, expected: .gp(0)),
        IretCase(what: "outer: SS RPL != CS RPL", cpl: 0, cs: 0x3B, ss: 0x40, expected: .gp(0x40)),
        IretCase(what: "outer: SS DPL != RPL", cpl: 0, cs: 0x3B, ss: 0x13, expected: .gp(0x10)),
        IretCase(what: "outer: SS is code", cpl: 0, cs: 0x3B, ss: 0x3B, expected: .gp(0x38)),
        IretCase(what: "outer: SS not present", cpl: 0, cs: 0x3B, ss: 0x6B, access: Acc.data(3) & 0x7F, expected: .ss(0x68)),
    ]

    @Test(arguments: iretCases)
    func iretChecks(_ c: IretCase) {
        let m = SysMachine()
        if let a = c.access { m.segment(13, limit: 0xFFFF, access: a, flags: 0x4) }
        m.enter(cpl: c.cpl)
        let esp = m.cpu.esp - 20
        m.cpu.esp = esp
        for (k, v) in [c.eip, c.cs, 2, 0x7700, c.ss].enumerated() { m.w32(esp + 4 * UInt32(k), v) }
        // nasm:
        //     iret
        expectFault(m, m.run([0xCF], limit: 1), c.expected, eip: 0x1000)
        #expect(m.cpu.cpl == c.cpl && m.cpu.esp == esp)
    }

    /// IRET with NT = 1 is a task return: not modeled, the run stops (issue text).
    @Test func iretWithNTStopsUnsupported() {
        let m = SysMachine()
        m.cpu.setEFLAGS(EFLAGS.nt | 2)
        // nasm:
        //     iret
        guard case .unsupported = m.run([0xCF], limit: 1) else { Issue.record("expected an unsupported stop"); return }
    }

    /// Round trip: IRET to ring 3, INT 0x80 back; the ring-0 frame holds what ring 3 had.
    @Test func iretToRing3AndInterruptBack() {
        let m = SysMachine()
        m.setIDT(0x80, offset: m.handlerAddress(0x80), access: Acc.intGate(3))
        // nasm:
        //     push dword 0x43        ; SS
        //     push dword 0x7700      ; ESP
        //     push dword 0x202       ; EFLAGS: IF
        //     push dword 0x3B        ; CS
        //     push dword ring3
        //     iret
        // ring3:
        //     mov eax, 0x1234
        //     int 0x80
        let stop = m.run([
            0x6A, 0x43, 0x68, 0x00, 0x77, 0x00, 0x00, 0x68, 0x02, 0x02, 0x00, 0x00, 0x6A, 0x3B,
            0x68, 0x14, 0x10, 0x00, 0x00, 0xCF, 0xB8, 0x34, 0x12, 0x00, 0x00, 0xCD, 0x80,
        ], limit: 20)
        #expect(stop == .halted && m.cpu.eip == m.haltedIn(0x80) && m.cpu.cpl == 0)
        #expect(m.cpu.eax == 0x1234)
        #expect(m.dwords(0xB000 - 20, 5) == [0x101B, 0x3B, 0x202, 0x7700, 0x43])
    }
}
