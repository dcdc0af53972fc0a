import Testing
@testable import X86

/// Port I/O protection: IN, OUT, INS, OUTS are allowed when CPL <= IOPL;
/// otherwise every port byte's bit in the TSS I/O permission bitmap must be
/// clear, the bitmap's two bytes must lie within the TSS limit, and ports
/// beyond the bitmap are denied.  A denied access is #GP(0) and never
/// reaches the bus (SDM Vol. 1 §19.5 "Protected-mode I/O", §19.5.1 IOPL,
/// §19.5.2 "I/O permission bit map"; Vol. 2 IN, OUT, INS, OUTS).
@Suite struct SystemIOTests {
    /// A TSS whose bitmap (at offset 0x68) covers ports 0-0x3FF plus the
    /// trailing 0xFF byte (TSS limit 0x68 + 0x80): everything allowed except `deny`.
    static func machine(deny: [UInt16], cpl: UInt8 = 3, iopl: UInt8 = 0, tssLimit: UInt32 = 0x68 + 0x80) -> SysMachine {
        let m = SysMachine()
        m.setIOBitmap(base: 0x68, tssLimit: tssLimit, deny: deny, allowAllUpTo: 0x3FF)
        m.enter(cpl: cpl, iopl: iopl)
        return m
    }

    // nasm:
    //     in al, 0x60            ; 0x1000
    //     in al, dx              ; 0x1002
    //     in ax, dx              ; 0x1003
    //     in eax, dx             ; 0x1005
    //     out dx, al             ; 0x1006
    //     out dx, ax             ; 0x1007
    //     out dx, eax            ; 0x1009
    //     out 0x80, al           ; 0x100A
    static let io: [UInt8] = [0xE4, 0x60, 0xEC, 0x66, 0xED, 0xED, 0xEE, 0x66, 0xEF, 0xEF, 0xE6, 0x80]
    enum Form: UInt32, CaseIterable { case inImm = 0x1000, inB = 0x1002, inW = 0x1003, inD = 0x1005, outB = 0x1006, outW = 0x1007, outD = 0x1009, outImm = 0x100A }

    /// Runs one form at EIP `f` with DX = `port`; returns the stop.
    static func run(_ m: SysMachine, _ f: Form, port: UInt16) -> StopReason {
        m.load(io, at: 0x1000)
        m.cpu.edx = UInt32(port)
        m.cpu.eax = 0x1122_3344
        return m.resume(at: f.rawValue, limit: 1)
    }

    /// CPL <= IOPL: no bitmap needed (the default TSS has none).
    @Test func allowedWhenCPLAtMostIOPL() {
        for (cpl, iopl) in [(UInt8(0), UInt8(0)), (1, 1), (1, 3), (3, 3)] {
            let m = SysMachine()
            m.enter(cpl: cpl, iopl: iopl)
            #expect(Self.run(m, .outD, port: 0x3F8) == .limit)
            #expect(m.bus.accesses.count == 1 && m.bus.accesses[0].port == 0x3F8 && m.bus.accesses[0].size == 4)
            #expect(m.bus.accesses[0].value == 0x1122_3344)
        }
    }

    /// CPL > IOPL without a bitmap (map base beyond the TSS limit): every port is #GP(0).
    @Test func deniedWithoutBitmap() {
        for (cpl, iopl) in [(UInt8(3), UInt8(0)), (3, 2), (1, 0), (2, 1)] {
            let m = SysMachine()
            m.enter(cpl: cpl, iopl: iopl)
            expectFault(m, Self.run(m, .inImm, port: 0), .gp(0), eip: 0x1000)
            #expect(m.bus.accesses.isEmpty)
            #expect(m.cpu.eax == 0x1122_3344)
        }
    }

    /// Each port byte of the access has its own bit: a dword at 0x3F8 needs 0x3F8-0x3FB clear.
    @Test func bitmapAllowsAndDeniesPerByte() {
        let cases: [(Form, UInt16, Bool)] = [
            (.inImm, 0x60, true), (.inB, 0x61, false), (.inB, 0x3F8, true), (.outB, 0x3FA, true),
            (.outD, 0x3F8, false), (.outW, 0x3FA, false), (.outW, 0x3F9, true), (.inW, 0x3FB, false),
            (.inD, 0x3F4, true), (.inD, 0x3F9, false), (.outB, 0x3FB, false), (.outB, 0x3FC, true),
        ]
        for (form, port, ok) in cases {
            let m = Self.machine(deny: [0x61, 0x3FB])
            if form == .inImm { m.cpu.edx = 0 }
            let stop = Self.run(m, form, port: port)
            if ok {
                #expect(stop == .limit, "\(form) port \(hex(port, digits: 4))")
                #expect(m.bus.accesses.count == 1 && m.bus.accesses[0].port == (form == .inImm ? 0x60 : port))
            } else {
                expectFault(m, stop, .gp(0), eip: form.rawValue)
                #expect(m.bus.accesses.isEmpty, "\(form) port \(hex(port, digits: 4)): nothing reaches the bus")
            }
        }
    }

    /// A word at port 0x3F7 checks bit 7 of one byte and bit 0 of the next.
    @Test func accessAcrossABitmapByteBoundary() {
        for (deny, ok) in [([UInt16]()   , true), ([0x3F8], false), ([0x3F7], false), ([0x3F6], true)] {
            let m = Self.machine(deny: deny)
            let stop = Self.run(m, .inW, port: 0x3F7)
            if ok { #expect(stop == .limit) } else { expectFault(m, stop, .gp(0), eip: 0x1003) }
        }
    }

    /// Ports beyond the bitmap are denied: with the map ending at port 0x3FF
    /// (plus the 0xFF byte), port 0x400 is #GP(0), and a word at 0x3FF reaches
    /// the trailing all-ones byte.  The processor reads two bytes, so without
    /// that trailing byte the last eight ports are denied too (SDM Vol. 1 §19.5.2).
    @Test func portsBeyondTheBitmap() {
        let cases: [(UInt32, Form, UInt16, Bool)] = [
            (0x68 + 0x80, .inB, 0x3FF, true), (0x68 + 0x80, .inB, 0x400, false), (0x68 + 0x80, .inW, 0x3FF, false),
            (0x68 + 0x80, .inB, 0xFFFF, false), (0x68 + 0x7F, .inB, 0x3F8, false), (0x68 + 0x7F, .inB, 0x3F7, true),
        ]
        for (limit, form, port, ok) in cases {
            let m = Self.machine(deny: [], tssLimit: limit)
            let stop = Self.run(m, form, port: port)
            if ok { #expect(stop == .limit, "limit \(limit) port \(port)") }
            else { expectFault(m, stop, .gp(0), eip: form.rawValue); #expect(m.bus.accesses.isEmpty) }
        }
    }

    /// An I/O map base at or beyond the TSS limit means no bitmap: all denied.
    @Test func mapBaseBeyondTheLimit() {
        let m = Self.machine(deny: [])
        m.w16(Layout.tss + 0x66, 0xFFFF)
        expectFault(m, Self.run(m, .outImm, port: 0), .gp(0), eip: 0x100A)
    }

    /// The bitmap applies at CPL 1 with IOPL 0 as well, and not at all once CPL <= IOPL.
    @Test func bitmapAppliesAtEveryCPLAboveIOPL() {
        let m1 = Self.machine(deny: [0x80], cpl: 1, iopl: 0)
        expectFault(m1, Self.run(m1, .outImm, port: 0), .gp(0), eip: 0x100A)
        let m2 = Self.machine(deny: [0x80], cpl: 3, iopl: 3)
        #expect(Self.run(m2, .outImm, port: 0) == .limit, "IOPL 3: the bitmap is not consulted")
        #expect(m2.bus.accesses.count == 1 && m2.bus.accesses[0].port == 0x80)
    }

    /// INS and OUTS are checked once, before any transfer: a denied REP OUTSB
    /// moves nothing and leaves ECX/ESI; an allowed REP INSB runs all iterations (SDM INS, OUTS).
    @Test func stringIOUsesTheBitmap() {
        let m = Self.machine(deny: [0x61])
        m.load([1, 2, 3], at: 0x8000)
        m.cpu.esi = 0x8000; m.cpu.edi = 0x8100; m.cpu.ecx = 3; m.cpu.edx = 0x61
        // nasm:
        //     rep outsb
        //     rep insb
        let code: [UInt8] = [0xF3, 0x6E, 0xF3, 0x6C]
        m.load(code, at: 0x1000)
        expectFault(m, m.resume(at: 0x1000, limit: 1), .gp(0), eip: 0x1000)
        #expect(m.bus.accesses.isEmpty && m.cpu.ecx == 3 && m.cpu.esi == 0x8000)
        m.cpu.edx = 0x60
        #expect(m.resume(at: 0x1000, limit: 1) == .limit)
        #expect(m.bus.accesses.map(\.value) == [1, 2, 3] && m.cpu.ecx == 0 && m.cpu.esi == 0x8003)
        m.cpu.ecx = 2
        #expect(m.resume(at: 0x1002, limit: 1) == .limit)
        #expect(m.bus.accesses.count == 5 && m.u8(0x8100) == 0xA5 && m.u8(0x8101) == 0xA5 && m.cpu.edi == 0x8102)
        m.cpu.edx = 0x61; m.cpu.ecx = 2
        expectFault(m, m.resume(at: 0x1002, limit: 1), .gp(0), eip: 0x1002)
        #expect(m.cpu.edi == 0x8102 && m.bus.accesses.count == 5)
    }

    /// Without a 32-bit TSS in TR the bitmap cannot be consulted: #GP(0) (SDM Vol. 1 §19.5.2).
    @Test func sixteenBitTSSHasNoBitmap() {
        let m = Self.machine(deny: [])
        m.cpu.tr.access = 0x83          // busy 16-bit TSS
        expectFault(m, Self.run(m, .inImm, port: 0), .gp(0), eip: 0x1000)
    }
}
