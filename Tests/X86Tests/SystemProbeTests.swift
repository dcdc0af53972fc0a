import Testing
@testable import X86

/// LAR, LSL, VERR, VERW and ARPL: exact results at every CPL and RPL, and
/// never a fault for a failed check (SDM Vol. 2 LAR, LSL, VERR/VERW, ARPL;
/// Vol. 3 §5.10.1 "Checking access rights", §5.10.3 "Checking that the
/// pointer offset is within limits", §5.10.4 "Checking caller access privileges").
@Suite struct SystemProbeTests {
    /// One descriptor of the probe GDT and what the SDM tables say about it.
    struct Row: Sendable {
        let what: String
        let access: UInt8
        var limit: UInt32 = 0xFFFFF
        var flags: UInt8 = 0xC
        /// LAR's valid-type table (SDM LAR Table 3-52): code, data, TSS (16/32, busy or not), LDT, call gates, task gate.
        let larType: Bool
        /// LSL's valid-type table (SDM LSL Table 3-63): code, data, TSS, LDT; no gates.
        let lslType: Bool
        var readable = false, writable = false, conformingCode = false
        /// The byte-granular limit LSL reports.
        var byteLimit: UInt32 = 0xFFFF_FFFF
        var dpl: UInt8 { (access >> 5) & 3 }
    }
    // GDT index 12 + k.
    static let rows: [Row] = [
        Row(what: "code DPL 0, G=1", access: 0x9B, larType: true, lslType: true, readable: true),
        Row(what: "data DPL 3, byte limit 0x12345", access: 0xF3, limit: 0x12345, flags: 0x4, larType: true, lslType: true,
            readable: true, writable: true, byteLimit: 0x12345),
        Row(what: "data DPL 0, G=1 limit 0xF", access: 0x93, limit: 0xF, larType: true, lslType: true,
            readable: true, writable: true, byteLimit: 0xFFFF),
        Row(what: "conforming readable code DPL 0", access: 0x9F, larType: true, lslType: true, readable: true, conformingCode: true),
        Row(what: "execute-only code DPL 3", access: 0xF9, larType: true, lslType: true),
        Row(what: "read-only data DPL 3", access: 0xF1, larType: true, lslType: true, readable: true),
        Row(what: "data DPL 1", access: 0xB3, larType: true, lslType: true, readable: true, writable: true),
        Row(what: "data DPL 2", access: 0xD3, larType: true, lslType: true, readable: true, writable: true),
        Row(what: "not-present data DPL 3 (P is not checked)", access: 0x73, larType: true, lslType: true, readable: true, writable: true),
        Row(what: "available 32-bit TSS DPL 3", access: 0xE9, limit: 0x67, flags: 0, larType: true, lslType: true, byteLimit: 0x67),
        Row(what: "busy 32-bit TSS DPL 3", access: 0xEB, limit: 0x67, flags: 0, larType: true, lslType: true, byteLimit: 0x67),
        Row(what: "LDT DPL 3", access: 0xE2, limit: 0xFF, flags: 0, larType: true, lslType: true, byteLimit: 0xFF),
        Row(what: "32-bit call gate DPL 3", access: 0xEC, larType: true, lslType: false),
        Row(what: "task gate DPL 3", access: 0xE5, larType: true, lslType: false),
        Row(what: "32-bit interrupt gate DPL 3", access: 0xEE, larType: false, lslType: false),
        Row(what: "32-bit trap gate DPL 3", access: 0xEF, larType: false, lslType: false),
        Row(what: "reserved system type 0 DPL 3", access: 0xE0, larType: false, lslType: false),
        Row(what: "reserved system type 8 DPL 3", access: 0xE8, larType: false, lslType: false),
        Row(what: "available 16-bit TSS DPL 3", access: 0xE1, limit: 0x2B, flags: 0, larType: true, lslType: true, byteLimit: 0x2B),
        Row(what: "16-bit call gate DPL 3", access: 0xE4, larType: true, lslType: false),
        Row(what: "16-bit interrupt gate DPL 3", access: 0xE6, larType: false, lslType: false),
        Row(what: "conforming execute-only code DPL 3", access: 0xFD, larType: true, lslType: true, conformingCode: true),
        Row(what: "code DPL 1", access: 0xBB, larType: true, lslType: true, readable: true),
        Row(what: "conforming readable code DPL 2", access: 0xDF, larType: true, lslType: true, readable: true, conformingCode: true),
    ]

    static func machine() -> SysMachine {
        let m = SysMachine()
        for (k, r) in rows.enumerated() {
            m.setGDT(12 + k, Desc.segment(base: 0x0012_3456, limit: r.limit, access: r.access, flags: r.flags))
        }
        m.cpu.gdtr.limit = UInt16((12 + rows.count) * 8 - 1)
        return m
    }

    // nasm:
    //     lar eax, bx
    //     setz byte [0x8000]
    //     lsl edx, bx
    //     setz byte [0x8001]
    //     verr bx
    //     setz byte [0x8002]
    //     verw bx
    //     setz byte [0x8003]
    static let probe: [UInt8] = [
        0x0F, 0x02, 0xC3, 0x0F, 0x94, 0x05, 0x00, 0x80, 0x00, 0x00, 0x0F, 0x03, 0xD3, 0x0F,
        0x94, 0x05, 0x01, 0x80, 0x00, 0x00, 0x0F, 0x00, 0xE3, 0x0F, 0x94, 0x05, 0x02, 0x80,
        0x00, 0x00, 0x0F, 0x00, 0xEB, 0x0F, 0x94, 0x05, 0x03, 0x80, 0x00, 0x00,
    ]

    struct Result: Equatable, CustomStringConvertible {
        var lar: Bool, lsl: Bool, verr: Bool, verw: Bool, eax: UInt32, edx: UInt32
        var description: String { "LAR \(lar) \(hex(eax)) LSL \(lsl) \(hex(edx)) VERR \(verr) VERW \(verw)" }
    }

    static func run(_ m: SysMachine, selector: UInt16, cpl: UInt8) -> (StopReason, Result) {
        m.enter(cpl: cpl)
        m.cpu.eax = 0xDEAD_BEEF; m.cpu.edx = 0xDEAD_BEEF; m.cpu.ebx = UInt32(selector)
        m.w32(0x8000, 0xFFFF_FFFF)
        let stop = m.run(probe, limit: 8)
        let r = Result(lar: m.u8(0x8000) == 1, lsl: m.u8(0x8001) == 1, verr: m.u8(0x8002) == 1, verw: m.u8(0x8003) == 1,
                       eax: m.cpu.eax, edx: m.cpu.edx)
        return (stop, r)
    }

    /// Every descriptor kind × CPL 0-3 × RPL 0-3.  The privilege rule (SDM
    /// LAR/LSL/VERR/VERW operation): unless the descriptor is conforming code,
    /// DPL must be >= CPL and >= RPL, else ZF = 0 and the destination is unchanged.
    @Test(arguments: [UInt8(0), 1, 2, 3])
    func probeTableAtCPL(_ cpl: UInt8) {
        let m = Self.machine()
        for (k, row) in Self.rows.enumerated() {
            for rpl: UInt8 in 0...3 {
                let sel = UInt16(12 + k) << 3 | UInt16(rpl)
                let (stop, r) = Self.run(m, selector: sel, cpl: cpl)
                #expect(stop == .limit, "never faults: \(row.what)")
                let visible = row.conformingCode || (row.dpl >= cpl && row.dpl >= rpl)
                let lar = row.larType && visible, lsl = row.lslType && visible
                let hi = m.gdtHigh(12 + k)
                var want = Result(lar: lar, lsl: lsl, verr: row.readable && visible,
                                  verw: row.writable && visible, eax: 0xDEAD_BEEF, edx: 0xDEAD_BEEF)
                if lar { want.eax = hi & 0x00F0_FF00 }
                if lsl { want.edx = row.byteLimit }
                // LAR bits 19:16 are undefined (SDM LAR: "masked by 00FxFF00H"); compare the rest.
                var got = r
                if lar { got.eax &= ~0x000F_0000 }
                #expect(got == want, "\(row.what), CPL \(cpl), RPL \(rpl)")
            }
        }
    }

    /// Null selectors and selectors beyond the GDT or LDT limit: ZF = 0, no fault (SDM LAR: "IF Offset(SRC) > descriptor table limit").
    @Test func nullAndOutOfRangeSelectors() {
        let m = Self.machine()
        for cpl: UInt8 in [0, 3] {
            for sel: UInt16 in [0, 3, UInt16((12 + Self.rows.count) * 8), 0xFFF8, 0x0004, 0x0107] {
                let (stop, r) = Self.run(m, selector: sel, cpl: cpl)
                #expect(stop == .limit)
                #expect(r == Result(lar: false, lsl: false, verr: false, verw: false, eax: 0xDEAD_BEEF, edx: 0xDEAD_BEEF),
                        "selector \(sel) at CPL \(cpl)")
            }
        }
    }

    /// TI = 1 selectors are looked up in the LDT (SDM LAR: "IF SRC(TI) = 1 ... LDT").
    @Test func ldtSelectorsAreProbedInTheLDT() {
        let m = Self.machine()
        m.setLDT(2, Desc.segment(base: 0, limit: 0x777, access: Acc.data(3), flags: 0x4))
        try! m.cpu.loadLDT(Sel.ldt)
        let (stop, r) = Self.run(m, selector: 0x17, cpl: 3)
        #expect(stop == .limit)
        #expect(r == Result(lar: true, lsl: true, verr: true, verw: true, eax: 0x0040_F300, edx: 0x777))
    }

    /// 16-bit operand size: LAR stores bits 15:8 of the access rights (hi & 0xFF00),
    /// LSL the low 16 bits of the limit; the upper halves of the registers stay (SDM LAR, LSL).
    /// A memory source operand works the same way.
    @Test func sixteenBitFormsAndMemoryOperand() {
        let m = Self.machine()
        m.enter(cpl: 3)
        m.w16(0x8010, 0x6B)          // row 1: data DPL 3, limit 0x12345
        m.cpu.eax = 0xAAAA_AAAA; m.cpu.edx = 0xBBBB_BBBB; m.cpu.ecx = 0xCCCC_CCCC; m.cpu.ebx = 0x6B
        // nasm:
        //     lar ax, bx
        //     lsl dx, bx
        //     lsl ecx, [0x8010]
        let stop = m.run([0x66, 0x0F, 0x02, 0xC3, 0x66, 0x0F, 0x03, 0xD3, 0x0F, 0x03, 0x0D, 0x10, 0x80, 0x00, 0x00], limit: 3)
        #expect(stop == .limit)
        #expect(m.cpu.eax == 0xAAAA_F300)
        #expect(m.cpu.edx == 0xBBBB_2345)
        #expect(m.cpu.ecx == 0x12345)
    }

    // MARK: ARPL (SDM ARPL: "IF DEST[RPL] < SRC[RPL] THEN ZF <- 1; DEST[RPL] <- SRC[RPL] ELSE ZF <- 0")

    @Test(arguments: [UInt8(0), 3])
    func arplAdjustsRPLUpwardOnly(_ cpl: UInt8) {
        for dst: UInt32 in 0...3 {
            for src: UInt32 in 0...3 {
                let m = SysMachine()
                m.enter(cpl: cpl)
                m.cpu.eax = 0x1234_5678 & ~3 | dst
                m.cpu.ebx = 0xFFFF_FFF8 | src
                m.w32(0x8000, 0x9999_0040 | dst)
                // nasm:
                //     arpl ax, bx
                //     setz byte [0x8010]
                //     arpl [0x8000], bx
                //     setz byte [0x8011]
                let stop = m.run([
                    0x63, 0xD8, 0x0F, 0x94, 0x05, 0x10, 0x80, 0x00, 0x00, 0x63, 0x1D, 0x00, 0x80, 0x00,
                    0x00, 0x0F, 0x94, 0x05, 0x11, 0x80, 0x00, 0x00,
                ], limit: 4)
                #expect(stop == .limit, "never faults")
                let want = max(dst, src)
                #expect(m.cpu.eax == 0x1234_5678 & ~3 | want, "register form \(dst) \(src)")
                #expect(m.u32(0x8000) == 0x9999_0040 | want, "memory form writes only the word")
                #expect(m.u8(0x8010) == (dst < src ? 1 : 0) && m.u8(0x8011) == (dst < src ? 1 : 0), "ZF")
            }
        }
    }
}
