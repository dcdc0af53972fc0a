import Testing
@testable import X86

/// The silent flag rules and the IOPL-sensitive instructions: POPF and IRET
/// at CPL 0, 1 and 3 with IOPL 0 and 3 never fault, change IOPL only at
/// CPL 0 and IF only at CPL <= IOPL; CLI/STI need CPL <= IOPL
/// (SDM Vol. 2 POPF, IRET, CLI, STI, PUSHF; Vol. 3 §2.3 EFLAGS;
/// Robin & Irvine 2000, virtualization.md §1.2).
@Suite struct SystemFlagsTests {
    struct Level: Sendable, CustomTestStringConvertible {
        let cpl: UInt8, iopl: UInt8
        var testDescription: String { "CPL \(cpl), IOPL \(iopl)" }
    }
    static let levels: [Level] = [UInt8(0), 1, 3].flatMap { c in [UInt8(0), 3].map { Level(cpl: c, iopl: $0) } }

    /// Bits POPF may never set from the image: RF, VM, VIF, VIP (SDM POPF:
    /// "VIP, VIF, VM and all reserved bits are unaffected; RF is cleared").
    static let never: UInt32 = EFLAGS.rf | EFLAGS.vm | EFLAGS.vif | EFLAGS.vip
    /// Bits every POPF loads: the status flags, DF, AC, NT (TF left out: single-step is another topic).
    static let always: UInt32 = EFLAGS.arith | EFLAGS.df | EFLAGS.ac | EFLAGS.nt

    /// The expected EFLAGS after loading `image` over `old` at this level.
    static func expected(old: UInt32, image: UInt32, _ l: Level) -> UInt32 {
        var mask = always
        if l.cpl == 0 { mask |= EFLAGS.iopl }          // IOPL only at CPL 0
        if l.cpl <= l.iopl { mask |= EFLAGS.if }       // IF only at CPL <= IOPL
        return (old & ~mask) | (image & mask) | 2
    }

    @Test(arguments: levels)
    func popfAtEveryLevel(_ l: Level) {
        // Two images: one that sets IF and flips IOPL, one that clears IF.
        for (startIF, imageIF) in [(false, true), (true, false)] {
            let m = SysMachine()
            let old = (startIF ? EFLAGS.if : 0) | EFLAGS.zf
            m.enter(cpl: l.cpl, iopl: l.iopl, eflags: old)
            let oldFlags = m.cpu.eflags
            let image = (imageIF ? EFLAGS.if : 0) | (UInt32(3 - l.iopl) << 12) | Self.always & ~EFLAGS.zf | Self.never
            m.cpu.esp -= 4
            m.w32(m.cpu.esp, image)
            // nasm:
            //     popfd
            let stop = m.run([0x9D], limit: 1)
            #expect(stop == .limit, "POPF never faults")
            #expect(m.cpu.eflags == Self.expected(old: oldFlags, image: image, l), "IF \(startIF)->\(imageIF)")
            #expect(m.cpu.esp == Layout.workingStack[Int(l.cpl)])
        }
    }

    /// POPF with a 16-bit operand size loads only FLAGS[15:0]: AC (bit 18) stays.
    @Test func popf16LoadsLowWordOnly() {
        let m = SysMachine()
        m.cpu.setEFLAGS(EFLAGS.ac | 2)
        m.cpu.esp -= 2
        m.w16(m.cpu.esp, UInt16(EFLAGS.cf | EFLAGS.if | 0x3000 | 2))
        // nasm:
        //     popfw
        #expect(m.run([0x66, 0x9D], limit: 1) == .limit)
        #expect(m.cpu.eflags == EFLAGS.ac | EFLAGS.cf | EFLAGS.if | 0x3000 | 2)
        #expect(m.cpu.esp == 0x9F00)
    }

    /// IRET at the same level follows the same rules (SDM IRET: "IF CPL <= IOPL THEN
    /// EFLAGS(IF) <- tempEFLAGS; IF CPL = 0 THEN EFLAGS(IOPL) <- tempEFLAGS").
    @Test(arguments: levels)
    func iretSameLevelAtEveryLevel(_ l: Level) {
        for (startIF, imageIF) in [(false, true), (true, false)] {
            let m = SysMachine()
            m.enter(cpl: l.cpl, iopl: l.iopl, eflags: startIF ? EFLAGS.if : 0)
            let oldFlags = m.cpu.eflags
            let image = (imageIF ? EFLAGS.if : 0) | (UInt32(3 - l.iopl) << 12) | Self.always | EFLAGS.vif | EFLAGS.vip
            let esp = m.cpu.esp - 12
            m.cpu.esp = esp
            for (k, v) in [UInt32(0x2000), UInt32(Sel.code(l.cpl)), image].enumerated() { m.w32(esp + 4 * UInt32(k), v) }
            // nasm:
            //     iretd
            let stop = m.run([0xCF], limit: 1)
            #expect(stop == .limit && m.cpu.eip == 0x2000, "IRET never faults on the flags")
            #expect(m.cpu.eflags == Self.expected(old: oldFlags, image: image, l))
        }
    }

    /// IRET from CPL 0 to ring 3 loads IOPL and IF (the rules of the CPL IRET runs at);
    /// from CPL 1 to ring 3 IOPL stays and IF follows CPL 1 <= IOPL.
    @Test func iretToOuterLevelUsesTheOldCPLRules() {
        for (cpl, iopl) in [(UInt8(0), UInt8(0)), (1, 0), (1, 1)] {
            let m = SysMachine()
            m.enter(cpl: cpl, iopl: iopl)
            let esp = m.cpu.esp - 20
            m.cpu.esp = esp
            for (k, v) in [UInt32(0x2000), 0x3B, EFLAGS.if | 0x3000 | 2, 0x7700, 0x43].enumerated() { m.w32(esp + 4 * UInt32(k), v) }
            // nasm:
            //     iretd
            #expect(m.run([0xCF], limit: 1) == .limit)
            #expect(m.cpu.cpl == 3 && m.cpu.eip == 0x2000)
            #expect(m.cpu.iopl == (cpl == 0 ? 3 : iopl), "CPL \(cpl) IOPL \(iopl)")
            #expect(m.cpu.interruptsEnabled == (cpl <= iopl))
        }
    }

    /// CLI and STI: #GP(0) when CPL > IOPL, with EIP at the instruction and IF unchanged (SDM CLI, STI Table 3-7 / 4-21).
    @Test(arguments: levels + [Level(cpl: 1, iopl: 1), Level(cpl: 2, iopl: 1), Level(cpl: 3, iopl: 2)])
    func cliStiNeedCPLAtMostIOPL(_ l: Level) {
        // nasm:
        //     cli
        let cli: [UInt8] = [0xFA]
        // nasm:
        //     sti
        let sti: [UInt8] = [0xFB]
        for (isSTI, code) in [(false, cli), (true, sti)] {
            let m = SysMachine()
            m.enter(cpl: l.cpl, iopl: l.iopl, eflags: isSTI ? 0 : EFLAGS.if)
            m.load([0x90], at: 0x1001)
            let stop = m.run(code, limit: 1)
            if l.cpl > l.iopl {
                expectFault(m, stop, .gp(0), eip: 0x1000)
                #expect(m.cpu.interruptsEnabled == !isSTI)
            } else {
                #expect(stop == .limit)
                #expect(m.cpu.interruptsEnabled == isSTI)
            }
        }
    }

    /// PUSHF stores the real EFLAGS with VM and RF cleared, at any CPL
    /// (SDM PUSHF): ring 3 sees the true IF and IOPL.
    @Test func pushfShowsRealFlagsAtRing3() {
        let m = SysMachine()
        m.enter(cpl: 3, iopl: 2, eflags: EFLAGS.if | EFLAGS.rf | EFLAGS.cf | EFLAGS.ac)
        // nasm:
        //     pushfd
        //     pushfw
        #expect(m.run([0x9C, 0x66, 0x9C], limit: 2) == .limit)
        #expect(m.u32(0x7800 - 4) == EFLAGS.if | 0x2000 | EFLAGS.cf | EFLAGS.ac | 2)
        #expect(m.u16(0x7800 - 6) == EFLAGS.if | 0x2000 | EFLAGS.cf | 2)
    }
}
