import Testing
@testable import X86

/// System instructions: the privileged ones are #GP(0) at CPL > 0 (SDM
/// Vol. 3 §5.9 "Privileged instructions"), CR4.TSD makes RDTSC privileged,
/// CR4.UMIP makes SGDT/SIDT/SLDT/SMSW/STR privileged (Vol. 3 §2.5), and each
/// one's effect at CPL 0 (Vol. 2: LGDT/LIDT, SGDT/SIDT, LLDT, SLDT, LTR, STR,
/// LMSW, SMSW, CLTS, MOV CRn, MOV DRn, INVLPG, RDTSC, RDMSR/WRMSR).
@Suite struct SystemInstructionTests {
    /// The system registers a privileged instruction could change.
    struct SystemState: Equatable {
        var gdtr, idtr: TableRegister
        var ldtr, tr: SegmentCache
        var cr: [UInt32], dr: [UInt32], msr: UInt32
        init(_ c: CPU) {
            gdtr = c.gdtr; idtr = c.idtr; ldtr = c.ldtr; tr = c.tr
            cr = [c.cr0, c.cr2, c.cr3, c.cr4]; dr = c.dr; msr = c.sysenterCS
        }
    }

    struct Priv: Sendable, CustomTestStringConvertible {
        let what: String
        let code: [UInt8]
        var testDescription: String { what }
    }
    static let privileged: [Priv] = [
        // nasm:
        //     lgdt [0x8000]
        Priv(what: "LGDT", code: [0x0F, 0x01, 0x15, 0x00, 0x80, 0x00, 0x00]),
        // nasm:
        //     lidt [0x8000]
        Priv(what: "LIDT", code: [0x0F, 0x01, 0x1D, 0x00, 0x80, 0x00, 0x00]),
        // nasm:
        //     lldt ax
        Priv(what: "LLDT", code: [0x0F, 0x00, 0xD0]),
        // nasm:
        //     ltr ax
        Priv(what: "LTR", code: [0x0F, 0x00, 0xD8]),
        // nasm:
        //     lmsw ax
        Priv(what: "LMSW", code: [0x0F, 0x01, 0xF0]),
        // nasm:
        //     clts
        Priv(what: "CLTS", code: [0x0F, 0x06]),
        // nasm:
        //     mov eax, cr0
        Priv(what: "MOV from CR0", code: [0x0F, 0x20, 0xC0]),
        // nasm:
        //     mov cr0, eax
        Priv(what: "MOV to CR0", code: [0x0F, 0x22, 0xC0]),
        // nasm:
        //     mov eax, cr2
        Priv(what: "MOV from CR2", code: [0x0F, 0x20, 0xD0]),
        // nasm:
        //     mov cr3, eax
        Priv(what: "MOV to CR3", code: [0x0F, 0x22, 0xD8]),
        // nasm:
        //     mov cr4, eax
        Priv(what: "MOV to CR4", code: [0x0F, 0x22, 0xE0]),
        // nasm:
        //     mov eax, dr7
        Priv(what: "MOV from DR7", code: [0x0F, 0x21, 0xF8]),
        // nasm:
        //     mov dr0, eax
        Priv(what: "MOV to DR0", code: [0x0F, 0x23, 0xC0]),
        // nasm:
        //     invlpg [0x8000]
        Priv(what: "INVLPG", code: [0x0F, 0x01, 0x3D, 0x00, 0x80, 0x00, 0x00]),
        // nasm:
        //     hlt
        Priv(what: "HLT", code: [0xF4]),
        // nasm:
        //     wbinvd
        Priv(what: "WBINVD", code: [0x0F, 0x09]),
        // nasm:
        //     invd
        Priv(what: "INVD", code: [0x0F, 0x08]),
        // nasm:
        //     rdmsr
        Priv(what: "RDMSR", code: [0x0F, 0x32]),
        // nasm:
        //     wrmsr
        Priv(what: "WRMSR", code: [0x0F, 0x30]),
    ]

    /// #GP(0) at CPL 1, 2 and 3 with EIP at the instruction; no system register changes.
    @Test(arguments: privileged)
    func privilegedInstructionFaultsAboveRing0(_ p: Priv) {
        for cpl: UInt8 in 1...3 {
            let m = SysMachine()
            m.w16(0x8000, 0x17); m.w32(0x8002, 0x4000)
            m.cpu.eax = 0x58; m.cpu.ecx = 0x174; m.cpu.edx = 0
            m.enter(cpl: cpl, iopl: 3)       // IOPL 3 does not matter for privileged instructions
            let before = SystemState(m.cpu)
            let stop = m.run(p.code, limit: 1)
            expectFault(m, stop, .gp(0), eip: 0x1000)
            #expect(m.cpu.eax == 0x58 && !m.cpu.halted)
            #expect(before == SystemState(m.cpu), "\(p.what) at CPL \(cpl)")
        }
    }

    /// At CPL 0 the same instructions run (HLT halts).
    @Test(arguments: privileged)
    func privilegedInstructionRunsAtRing0(_ p: Priv) {
        let m = SysMachine()
        m.w16(0x8000, 0x17); m.w32(0x8002, 0x4000)
        m.cpu.eax = ["LTR": 0x70, "LLDT": 0x50, "MOV to CR4": CR4.pse][p.what] ?? 0x33; m.cpu.ecx = 0x174; m.cpu.edx = 0
        m.segment(14, base: Layout.tss, limit: 0x67, access: Acc.tss32, flags: 0)
        let stop = m.run(p.code, limit: p.what == "HLT" ? 2 : 1)     // a HLT reports .halted on the next step
        #expect(stop == (p.what == "HLT" ? .halted : .limit), "\(p.what)")
    }

    // MARK: LGDT/LIDT/SGDT/SIDT (SDM LGDT/LIDT, SGDT, SIDT)

    @Test func lgdtLidtAndStoreBack() {
        let m = SysMachine()
        m.w16(0x8000, 0x1234); m.w32(0x8002, 0xABCD_EF01)
        m.w16(0x8010, 0x07FF); m.w32(0x8012, 0x0001_1000)
        // nasm:
        //     sgdt [0x8020]
        //     lgdt [0x8000]
        //     sgdt [0x8030]
        //     lidt [0x8010]
        //     sidt [0x8040]
        //     o16 lgdt [0x8000]      ; 16-bit operand size: 24-bit base
        let stop = m.run([
            0x0F, 0x01, 0x05, 0x20, 0x80, 0x00, 0x00, 0x0F, 0x01, 0x15, 0x00, 0x80, 0x00, 0x00,
            0x0F, 0x01, 0x05, 0x30, 0x80, 0x00, 0x00, 0x0F, 0x01, 0x1D, 0x10, 0x80, 0x00, 0x00,
            0x0F, 0x01, 0x0D, 0x40, 0x80, 0x00, 0x00, 0x66, 0x0F, 0x01, 0x15, 0x00, 0x80, 0x00,
            0x00,
        ], limit: 6)
        #expect(stop == .limit)
        #expect(m.u16(0x8020) == 64 * 8 - 1 && m.u32(0x8022) == Layout.gdt)
        #expect(m.u16(0x8030) == 0x1234 && m.u32(0x8032) == 0xABCD_EF01)
        #expect(m.u16(0x8040) == 0x07FF && m.u32(0x8042) == 0x0001_1000)
        #expect(m.cpu.idtr == TableRegister(base: 0x11000, limit: 0x7FF))
        #expect(m.cpu.gdtr == TableRegister(base: 0x00CD_EF01, limit: 0x1234))
    }

    // MARK: UMIP (SDM Vol. 3 §2.5 CR4.UMIP; SGDT/SIDT/SLDT/SMSW/STR "#GP(0) if CR4.UMIP = 1 and CPL > 0")

    static let umipForms: [Priv] = [
        // nasm:
        //     sgdt [0x8000]
        Priv(what: "SGDT", code: [0x0F, 0x01, 0x05, 0x00, 0x80, 0x00, 0x00]),
        // nasm:
        //     sidt [0x8000]
        Priv(what: "SIDT", code: [0x0F, 0x01, 0x0D, 0x00, 0x80, 0x00, 0x00]),
        // nasm:
        //     sldt [0x8000]
        Priv(what: "SLDT", code: [0x0F, 0x00, 0x05, 0x00, 0x80, 0x00, 0x00]),
        // nasm:
        //     smsw [0x8000]
        Priv(what: "SMSW", code: [0x0F, 0x01, 0x25, 0x00, 0x80, 0x00, 0x00]),
        // nasm:
        //     str [0x8000]
        Priv(what: "STR", code: [0x0F, 0x00, 0x0D, 0x00, 0x80, 0x00, 0x00]),
    ]

    @Test(arguments: umipForms)
    func umipFaultsOutsideRing0(_ p: Priv) {
        for (cpl, umip) in [(UInt8(3), true), (1, true), (3, false), (0, true)] {
            let m = SysMachine()
            try! m.cpu.loadLDT(Sel.ldt)
            if umip { m.cpu.cr4 = CR4.umip }
            m.w32(0x8000, 0xEEEE_EEEE); m.w32(0x8004, 0xEEEE_EEEE)
            m.enter(cpl: cpl)
            let stop = m.run(p.code, limit: 1)
            if umip && cpl > 0 {
                expectFault(m, stop, .gp(0), eip: 0x1000)
                #expect(m.u32(0x8000) == 0xEEEE_EEEE, "nothing stored")
                continue
            }
            #expect(stop == .limit, "\(p.what) CPL \(cpl) UMIP \(umip)")
            let want: [String: (UInt32, UInt32)] = [
                "SGDT": (UInt32(64 * 8 - 1) | Layout.gdt << 16, 0xEEEE_0000 | Layout.gdt >> 16),
                "SIDT": (0x7FF | Layout.idt << 16, 0xEEEE_0000 | Layout.idt >> 16),
                "SLDT": (0xEEEE_0000 | UInt32(Sel.ldt), 0xEEEE_EEEE),
                "SMSW": (0xEEEE_0000 | (m.cpu.cr0 & 0xFFFF), 0xEEEE_EEEE),
                "STR": (0xEEEE_0000 | UInt32(Sel.tss), 0xEEEE_EEEE),
            ]
            #expect((m.u32(0x8000), m.u32(0x8004)) == want[p.what]!, "\(p.what): 16-bit stores write only the word")
        }
    }

    /// SMSW r16 stores CR0[15:0]; LMSW loads PE, MP, EM, TS and cannot clear PE; CLTS clears TS (SDM SMSW, LMSW, CLTS).
    @Test func msw() {
        let m = SysMachine()
        m.cpu.ebx = 0xFFFF_0000
        // nasm:
        //     mov ax, 0xFFFE         ; PE clear, MP EM TS set, and bits above 3
        //     lmsw ax
        //     smsw bx
        //     mov esi, cr0
        //     clts
        //     mov edi, cr0
        let stop = m.run([
            0x66, 0xB8, 0xFE, 0xFF, 0x0F, 0x01, 0xF0, 0x66, 0x0F, 0x01, 0xE3, 0x0F, 0x20, 0xC6,
            0x0F, 0x06, 0x0F, 0x20, 0xC7,
        ], limit: 6)
        #expect(stop == .limit)
        let cr0 = CR0.pe | CR0.et | CR0.mp | CR0.em | CR0.ts
        #expect(m.cpu.esi == cr0, "PE stays set, only bits 0-3 are loaded")
        #expect(m.cpu.ebx == 0xFFFF_0000 | cr0, "SMSW r16 writes only BX")
        #expect(m.cpu.edi == cr0 & ~CR0.ts)
    }

    // MARK: MOV CRn / DRn (SDM MOV—Move to/from Control Registers, Debug Registers)

    @Test func movToControlRegisterChecks() {
        let cases: [(String, UInt32, UInt32, CPUException?)] = [
            ("CR4.PAE is not supported", 4, CR4.pae, .gp(0)),
            ("CR4.VME is not supported", 4, CR4.vme, .gp(0)),
            ("CR4 reserved bit 12", 4, 1 << 12, .gp(0)),
            ("CR4 PSE|PGE|TSD|UMIP|DE|PCE", 4, CR4.pse | CR4.pge | CR4.tsd | CR4.umip | CR4.de | CR4.pce, nil),
            ("CR0.PG without PE", 0, CR0.pg | CR0.et, .gp(0)),
            ("CR0.NW without CD", 0, CR0.pe | CR0.nw, .gp(0)),
            ("CR0.CD|NW", 0, CR0.pe | CR0.cd | CR0.nw, nil),
            ("CR2 is plain storage", 2, 0xDEAD_B000, nil),
            ("CR3", 3, 0x0002_0000, nil),
        ]
        for (what, n, v, e) in cases {
            let m = SysMachine()
            m.cpu.eax = v; m.cpu.ebx = n
            // nasm:
            //     mov cr0, eax
            //     mov cr2, eax
            //     mov cr3, eax
            //     mov cr4, eax
            let code: [UInt8] = [0x0F, 0x22, 0xC0, 0x0F, 0x22, 0xD0, 0x0F, 0x22, 0xD8, 0x0F, 0x22, 0xE0]
            m.load(code, at: 0x1000)
            let at = 0x1000 + 3 * (n == 0 ? 0 : n - 1)
            let stop = m.resume(at: at, limit: 1)
            let read = [m.cpu.cr0, 0, m.cpu.cr2, m.cpu.cr3, m.cpu.cr4][Int(n)]
            if let e {
                expectFault(m, stop, e, eip: at)
                #expect(read == [CR0.pe | CR0.et, 0, 0, 0, 0][Int(n)], "\(what)")
            } else {
                #expect(stop == .limit, "\(what)")
                #expect(read == v | (n == 0 ? CR0.et : 0), "\(what)")
            }
        }
    }

    /// CR1, CR5-CR7 do not exist: #UD (SDM MOV CRn "#UD If an attempt is made to access CR1, CR5, CR6, or CR7").
    @Test func reservedControlRegistersAreUD() {
        // nasm:
        //     mov eax, cr1
        //     mov cr5, eax
        let code: [UInt8] = [0x0F, 0x20, 0xC8, 0x0F, 0x22, 0xE8]
        for at: UInt32 in [0x1000, 0x1003] {
            let m = SysMachine()
            m.load(code, at: 0x1000)
            expectFault(m, m.resume(at: at, limit: 1), CPUException(Vector.ud), eip: at)
        }
    }

    /// DR4/DR5 alias DR6/DR7 when CR4.DE = 0 and are #UD when CR4.DE = 1 (SDM MOV DRn).
    @Test func debugRegisterAliases() {
        let m = SysMachine()
        m.cpu.eax = 0x0000_0400
        // nasm:
        //     mov dr5, eax
        //     mov ebx, dr7
        //     mov ecx, dr4
        let stop = m.run([0x0F, 0x23, 0xE8, 0x0F, 0x21, 0xFB, 0x0F, 0x21, 0xE1], limit: 3)
        #expect(stop == .limit && m.cpu.ebx == 0x400 && m.cpu.dr[7] == 0x400 && m.cpu.ecx == m.cpu.dr[6])
        m.cpu.cr4 = CR4.de
        // nasm:
        //     mov eax, dr4
        expectFault(m, m.run([0x0F, 0x21, 0xE0], limit: 1), CPUException(Vector.ud), eip: 0x1000)
    }

    // MARK: RDTSC, RDMSR, WRMSR

    /// CR4.TSD = 1 makes RDTSC #GP(0) at CPL > 0 (SDM RDTSC); at CPL 0 it always runs.
    @Test func rdtscAndTSD() {
        for (cpl, tsd, ok) in [(UInt8(3), false, true), (3, true, false), (1, true, false), (0, true, true)] {
            let m = SysMachine()
            if tsd { m.cpu.cr4 = CR4.tsd }
            m.cpu.tscOffset = 0x1_0000_0000
            m.enter(cpl: cpl)
            // nasm:
            //     nop
            //     rdtsc
            let stop = m.run([0x90, 0x0F, 0x31], limit: 2)
            if ok {
                #expect(stop == .limit)
                #expect(m.cpu.edx == 1 && m.cpu.eax == 1, "instructions retired before RDTSC + offset")
            } else {
                expectFault(m, stop, .gp(0), eip: 0x1001)
            }
        }
    }

    /// RDMSR/WRMSR: implemented MSRs read back; any other is #GP(0) (SDM RDMSR, WRMSR).
    @Test func msrAccess() {
        let m = SysMachine()
        m.cpu.ecx = 0x174; m.cpu.eax = 0x0000_0008; m.cpu.edx = 0
        // nasm:
        //     wrmsr
        //     xor eax, eax
        //     rdmsr
        #expect(m.run([0x0F, 0x30, 0x31, 0xC0, 0x0F, 0x32], limit: 3) == .limit)
        #expect(m.cpu.sysenterCS == 8 && m.cpu.eax == 8 && m.cpu.edx == 0)
        for msr: UInt32 in [0x1B, 0xC000_0080, 0x277, 0x175 + 0x100] {
            m.cpu.ecx = msr
            // nasm:
            //     rdmsr
            //     wrmsr
            let code: [UInt8] = [0x0F, 0x32, 0x0F, 0x30]
            m.load(code, at: 0x1000)
            expectFault(m, m.resume(at: 0x1000, limit: 1), .gp(0), eip: 0x1000)
            expectFault(m, m.resume(at: 0x1002, limit: 1), .gp(0), eip: 0x1002)
        }
    }

    // MARK: LTR / STR / LLDT / SLDT (SDM LTR, LLDT, STR, SLDT)

    @Test func ltrChecks() {
        let m = SysMachine()
        m.segment(14, base: Layout.tss, limit: 0x67, access: Acc.tss32, flags: 0)            // 0x70: available
        m.segment(15, base: Layout.tss, limit: 0x67, access: Acc.tss32 & 0x7F, flags: 0)     // 0x78: not present
        m.segment(16, base: Layout.tss, limit: 0x2B, access: 0x81, flags: 0)                 // 0x80: 16-bit TSS
        let cases: [(UInt16, CPUException?)] = [
            (0x70, nil), (0x70, .gp(0x70)), (Sel.tss, .gp(UInt32(Sel.tss))), (0, .gp(0)), (0x78, .np(0x78)),
            (Sel.ldt, .gp(UInt32(Sel.ldt))), (0x10, .gp(0x10)), (0x74, .gp(0x74)), (0x400, .gp(0x400)), (0x80, nil),
        ]
        for (sel, e) in cases {
            m.cpu.eax = UInt32(sel)
            // nasm:
            //     ltr ax
            //     str ebx
            let stop = m.run([0x0F, 0x00, 0xD8, 0x0F, 0x00, 0xCB], limit: 2)
            if let e {
                expectFault(m, stop, e, eip: 0x1000)
            } else {
                #expect(stop == .limit && m.cpu.tr.selector == sel && m.cpu.ebx == UInt32(sel), "STR reads the selector back")
                #expect(m.gdtHigh(Int(sel >> 3)) & 0x200 != 0, "LTR marks the TSS busy")
            }
        }
    }

    @Test func lldtChecks() {
        let m = SysMachine()
        m.segment(14, base: Layout.ldt, limit: 0xFF, access: Acc.ldt & 0x7F, flags: 0)       // 0x70: not present
        let cases: [(UInt16, CPUException?)] = [
            (Sel.ldt, nil), (0, nil), (3, nil), (Sel.tss, .gp(UInt32(Sel.tss))), (0x70, .np(0x70)),
            (Sel.ldt | 4, .gp(UInt32(Sel.ldt | 4))), (0x10, .gp(0x10)), (0x400, .gp(0x400)),
        ]
        for (sel, e) in cases {
            m.cpu.eax = UInt32(sel); m.cpu.ebx = 0xFFFF_FFFF
            // nasm:
            //     lldt ax
            //     sldt ebx
            let stop = m.run([0x0F, 0x00, 0xD0, 0x0F, 0x00, 0xC3], limit: 2)
            if let e {
                expectFault(m, stop, e, eip: 0x1000)
            } else {
                #expect(stop == .limit && m.cpu.ebx == UInt32(sel), "SLDT r32 zero-extends the selector")
                #expect(m.cpu.ldtr.usable == (sel & 0xFFFC != 0), "a null selector disables the LDT")
            }
        }
    }

    // MARK: sensitive but unprivileged (Robin & Irvine; virtualization.md §1.2)

    /// PUSH CS/SS and MOV r, CS/SS never fault and reveal the CPL in the RPL bits.
    @Test func segmentReadsRevealCPL() {
        for cpl: UInt8 in 0...3 {
            let m = SysMachine()
            m.enter(cpl: cpl)
            // nasm:
            //     push cs
            //     push ss
            //     mov eax, cs
            //     mov bx, ss
            #expect(m.run([0x0E, 0x16, 0x8C, 0xC8, 0x66, 0x8C, 0xD3], limit: 4) == .limit)
            let esp = Layout.workingStack[Int(cpl)]
            #expect(m.cpu.eax & 3 == UInt32(cpl) && m.cpu.ebx & 3 == UInt32(cpl))
            #expect(m.u16(esp - 4) == UInt32(Sel.code(cpl)) && m.u16(esp - 8) == UInt32(Sel.data(cpl)))
            #expect(m.cpu.esp == esp - 8)
        }
    }
}
