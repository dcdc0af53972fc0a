import Testing
@testable import X86

/// The CPU's intercept points — `exceptionIntercept`, `instructionIntercept`
/// with `interceptTraits`, `systemRegisterObserver` — fire where documented
/// (CPU.swift), and when nothing is installed, or what is installed declines,
/// the CPU behaves exactly as without them.
@Suite struct SystemInterceptTests {

    // MARK: exceptionIntercept

    /// Called before delivery with the exception (vector, error code), CS:EIP at the
    /// faulting instruction and CR2 already written for #PF; `.deliver` goes on through the IDT.
    @Test func exceptionInterceptSeesTheFaultBeforeDelivery() {
        let m = SysMachine()
        m.deliverExceptions = true
        m.enablePaging()
        m.setPTE(0x8000, 0)
        var seen: [(CPUException, UInt32, UInt8, UInt32)] = []
        m.cpu.exceptionIntercept = { c, e in seen.append((e, c.eip, c.cpl, c.cr2)); return .deliver }
        m.enter(cpl: 3)
        // nasm:
        //     nop
        //     mov eax, [0x8000]
        #expect(m.run([0x90, 0xA1, 0x00, 0x80, 0x00, 0x00], limit: 10) == .halted)
        #expect(seen.count == 1)
        #expect(seen.first.map { $0.0 == CPUException(Vector.pf, 4) && $0.1 == 0x1001 && $0.2 == 3 && $0.3 == 0x8000 } == true)
        #expect(m.cpu.eip == m.haltedIn(Vector.pf) && m.dwords(0xB000 - 24, 2) == [4, 0x1001])
    }

    /// `.handled`: nothing is delivered; execution resumes at the EIP the intercept left.
    @Test func exceptionInterceptHandled() {
        let m = SysMachine()
        m.cpu.exceptionIntercept = { c, e in
            guard e == .gp(0) else { return .stop(.requested) }
            c.eip += 1          // "emulate" the HLT by skipping it
            return .handled
        }
        m.enter(cpl: 3)
        // nasm:
        //     hlt
        //     mov eax, 5
        #expect(m.run([0xF4, 0xB8, 0x05, 0x00, 0x00, 0x00], limit: 1) == .limit)
        #expect(m.cpu.eax == 5 && m.cpu.cpl == 3 && m.cpu.eip == 0x1006)
        #expect(m.cpu.esp == 0x7800 && m.u32(0xB000 - 4) == 0, "no frame anywhere")
    }

    /// `.stop(reason)` ends the run with that reason, state at the fault.
    @Test func exceptionInterceptStops() {
        let m = SysMachine()
        m.deliverExceptions = true
        m.cpu.exceptionIntercept = { _, _ in .stop(.requested) }
        // nasm:
        //     ud2
        #expect(m.run([0x0F, 0x0B], limit: 10) == .requested)
        #expect(m.cpu.eip == 0x1000 && m.cpu.esp == 0x9F00)
    }

    /// An installed intercept takes precedence over `stopOnException`.
    @Test func exceptionInterceptOverridesStopOnException() {
        let m = SysMachine()
        #expect(m.cpu.stopOnException)
        var calls = 0
        m.cpu.exceptionIntercept = { _, _ in calls += 1; return .deliver }
        // nasm:
        //     ud2
        #expect(m.run([0x0F, 0x0B], limit: 10) == .halted)
        #expect(calls == 1 && m.cpu.eip == m.haltedIn(Vector.ud))
    }

    // MARK: instructionIntercept + interceptTraits

    // nasm:
    //     mov eax, cr0           ; 0x1000 privileged
    //     nop                    ; 0x1003
    //     in al, 0x60            ; 0x1004 io
    //     mov cr3, eax           ; 0x1006 privileged
    //     cli                    ; 0x1009 iopl-sensitive
    //     hlt                    ; 0x100A privileged
    static let mixed: [UInt8] = [0x0F, 0x20, 0xC0, 0x90, 0xE4, 0x60, 0x0F, 0x22, 0xD8, 0xFA, 0xF4]

    /// Fires before each instruction whose traits meet the mask, with EIP at it and
    /// nextEIP after it; returning false lets the CPU execute it.
    @Test func instructionInterceptFiresOnMatchingTraits() {
        for (traits, want) in [(Traits.privileged, [0x1000, 0x1006, 0x100A] as [UInt32]), (.io, [0x1004]),
                               ([.io, .ioplSensitive], [0x1004, 0x1009]), ([], [])] {
            let m = SysMachine()
            var seen: [UInt32] = []
            m.cpu.instructionIntercept = { c, i in
                #expect(c.nextEIP == c.eip &+ UInt32(i.length))
                seen.append(c.eip)
                return false
            }
            m.cpu.interceptTraits = traits
            m.cpu.cr3 = 0
            #expect(m.run(Self.mixed, limit: 10) == .halted)
            #expect(seen == want, "traits \(traits.rawValue)")
            #expect(m.cpu.cr3 == m.cpu.cr0 & ~0xFF | 0xA5, "the instructions executed: CR3 = CR0 with AL from the port")
            #expect(m.bus.accesses.count == 1)
        }
    }

    /// Returning true means "emulated": the CPU skips the instruction; EIP
    /// becomes the intercept's nextEIP (preset to the next instruction).
    @Test func instructionInterceptEmulates() {
        let m = SysMachine()
        m.cpu.interceptTraits = .io
        m.cpu.instructionIntercept = { c, i in
            if i.op == .in { c.setReg8(0, 0x42); return true }
            c.nextEIP = 0x1009         // OUT: emulate as a jump to the HLT
            return true
        }
        // nasm:
        //     in al, 0x60
        //     mov bl, al
        //     out 0x80, al
        //     mov bl, 0
        //     nop
        //     hlt                    ; 0x1009
        #expect(m.run([0xE4, 0x60, 0x88, 0xC3, 0xE6, 0x80, 0xB3, 0x00, 0x90, 0xF4], limit: 10) == .halted)
        #expect(m.bus.accesses.isEmpty)
        #expect(m.cpu.ebx & 0xFF == 0x42, "MOV BL, 0 after the emulated jump must not run")
        #expect(m.cpu.eip == 0x100A)
    }

    /// An intercept may raise an exception for the instruction: it is reported at that instruction.
    @Test func instructionInterceptThrows() {
        let m = SysMachine()
        m.cpu.interceptTraits = .io
        m.cpu.instructionIntercept = { _, _ throws(CPUException) in throw .gp(0) }
        // nasm:
        //     nop
        //     out 0x80, al
        expectFault(m, m.run([0x90, 0xE6, 0x80], limit: 5), .gp(0), eip: 0x1001)
        #expect(m.bus.accesses.isEmpty)
    }

    /// The intercept runs before the instruction's own privilege check: at CPL 3
    /// it sees a privileged instruction, and can emulate it so that no #GP occurs.
    @Test func instructionInterceptPrecedesPrivilegeChecks() {
        for emulate in [false, true] {
            let m = SysMachine()
            var calls = 0
            m.cpu.interceptTraits = .privileged
            m.cpu.instructionIntercept = { _, _ in calls += 1; return emulate }
            m.enter(cpl: 3)
            // nasm:
            //     mov cr3, eax
            let stop = m.run([0x0F, 0x22, 0xD8], limit: 1)
            #expect(calls == 1)
            if emulate { #expect(stop == .limit && m.cpu.eip == 0x1003) }
            else { expectFault(m, stop, .gp(0), eip: 0x1000) }
        }
    }

    /// A block decoded before the intercept was installed is still checked afterwards.
    @Test func interceptInstalledAfterTheBlockWasDecoded() {
        let m = SysMachine()
        #expect(m.run(Self.mixed, limit: 10) == .halted)
        var seen: [UInt32] = []
        m.cpu.instructionIntercept = { c, _ in seen.append(c.eip); return false }
        m.cpu.interceptTraits = .io
        #expect(m.resume(at: 0x1000, limit: 10) == .halted)
        #expect(seen == [0x1004])
        m.cpu.interceptTraits = []
        #expect(m.resume(at: 0x1000, limit: 10) == .halted)
        #expect(seen == [0x1004], "not called once the traits are cleared")
    }

    // MARK: systemRegisterObserver

    /// Called after each load of CR0, CR3, CR4, GDTR, IDTR, LDTR, TR (the new value
    /// already in place); not for reads, CR2, or loads that fault.
    @Test func systemRegisterObserverSeesEachLoad() {
        let m = SysMachine()
        m.segment(14, base: Layout.tss, limit: 0x67, access: Acc.tss32, flags: 0)
        m.w16(0x8000, 0x1FF); m.w32(0x8002, Layout.gdt)
        m.w16(0x8010, 0x7FF); m.w32(0x8012, Layout.idt)
        var seen: [SystemRegister] = []
        var cr3AtCall: UInt32 = 0
        m.cpu.systemRegisterObserver = { c, r in seen.append(r); if r == .cr3 { cr3AtCall = c.cr3 } }
        // nasm:
        //     lgdt [0x8000]
        //     lidt [0x8010]
        //     mov ax, 0x50
        //     lldt ax
        //     mov ax, 0x70
        //     ltr ax
        //     mov eax, cr0
        //     mov cr0, eax
        //     mov ecx, 0x20000
        //     mov cr3, ecx
        //     mov cr2, ecx
        //     mov ecx, 0x10
        //     mov cr4, ecx
        //     clts
        //     lmsw ax
        //     mov eax, cr4
        //     sgdt [0x8020]
        //     mov ecx, 0x20
        //     mov cr4, ecx           ; PAE: #GP(0), no notification
        let code: [UInt8] = [
            0x0F, 0x01, 0x15, 0x00, 0x80, 0x00, 0x00, 0x0F, 0x01, 0x1D, 0x10, 0x80, 0x00, 0x00,
            0x66, 0xB8, 0x50, 0x00, 0x0F, 0x00, 0xD0, 0x66, 0xB8, 0x70, 0x00, 0x0F, 0x00, 0xD8,
            0x0F, 0x20, 0xC0, 0x0F, 0x22, 0xC0, 0xB9, 0x00, 0x00, 0x02, 0x00, 0x0F, 0x22, 0xD9,
            0x0F, 0x22, 0xD1, 0xB9, 0x10, 0x00, 0x00, 0x00, 0x0F, 0x22, 0xE1, 0x0F, 0x06, 0x0F,
            0x01, 0xF0, 0x0F, 0x20, 0xE0, 0x0F, 0x01, 0x05, 0x20, 0x80, 0x00, 0x00, 0xB9, 0x20,
            0x00, 0x00, 0x00, 0x0F, 0x22, 0xE1,
        ]
        let stop = m.run(code, limit: 40)
        #expect(stop == .exception(.gp(0)))
        #expect(seen == [.gdtr, .idtr, .ldtr, .tr, .cr0, .cr3, .cr4, .cr0, .cr0])
        #expect(cr3AtCall == 0x20000)
    }

    // MARK: nothing installed, or installed and declining: no change

    /// A program with port I/O, privileged instructions, an exception and a
    /// software interrupt that both return through IRET, and a fault at ring 3.
    // nasm:
    //     mov eax, 0x1234
    //     out 0x80, al
    //     in al, 0x60
    //     mov ebx, cr0
    //     ud2                    ; #UD handler at 0x2000 skips it
    //     int 0x30               ; handler at 0x2010: inc ecx
    //     mov edx, cr3
    //     push dword 0x43
    //     push dword 0x7800
    //     push dword 0x202
    //     push dword 0x3B
    //     push dword ring3
    //     iret
    // ring3:
    //     mov esi, 0x77
    //     hlt                    ; #GP(0) at CPL 3: handler at 0x2020 stops
    static let program: [UInt8] = [
        0xB8, 0x34, 0x12, 0x00, 0x00, 0xE6, 0x80, 0xE4, 0x60, 0x0F, 0x20, 0xC3, 0x0F, 0x0B,
        0xCD, 0x30, 0x0F, 0x20, 0xDA, 0x6A, 0x43, 0x68, 0x00, 0x78, 0x00, 0x00, 0x68, 0x02,
        0x02, 0x00, 0x00, 0x6A, 0x3B, 0x68, 0x27, 0x10, 0x00, 0x00, 0xCF, 0xBE, 0x77, 0x00,
        0x00, 0x00, 0xF4,
    ]
    static func programMachine() -> SysMachine {
        let m = SysMachine()
        m.deliverExceptions = true
        // nasm org 0x2000:
        //     add dword [esp], 2     ; #UD: step over the UD2
        //     iret
        m.load([0x83, 0x04, 0x24, 0x02, 0xCF], at: 0x2000)
        // nasm org 0x2010:
        //     inc ecx                ; INT 0x30
        //     iret
        m.load([0x41, 0xCF], at: 0x2010)
        m.load([0xF4], at: 0x2020)
        m.setIDT(Vector.ud, offset: 0x2000, access: Acc.intGate(0))
        m.setIDT(0x30, offset: 0x2010, access: Acc.trapGate(0))
        m.setIDT(Vector.gp, offset: 0x2020, access: Acc.intGate(0))
        return m
    }

    struct Snapshot: Equatable {
        var regs: [UInt32], eip: UInt32, eflags: UInt32, cpl: UInt8, segs: [SegmentCache]
        var cr: [UInt32], instructions: UInt64, memory: [UInt32], ports: [String]
        init(_ m: SysMachine) {
            let c = m.cpu
            regs = (0..<8).map { c.regs[$0] }; eip = c.eip; eflags = c.eflags; cpl = c.cpl
            segs = (0..<6).map { c.segs[$0] }; cr = [c.cr0, c.cr2, c.cr3, c.cr4]; instructions = c.instructions
            memory = stride(from: UInt32(0), to: 0x40000, by: 4).map { m.u32($0) }
            ports = m.bus.accesses.map { "\($0.port) \($0.size) \($0.write) \($0.value)" }
        }
    }

    @Test func nothingInstalledMeansNothingChanges() {
        let plain = Self.programMachine()
        #expect(plain.run(Self.program, limit: 100) == .halted)
        // The program's own results, checked against the SDM: these make the comparison below meaningful.
        #expect(plain.cpu.eip == 0x2021 && plain.cpu.cpl == 0)
        #expect(plain.cpu.eax == 0x12A5 && plain.cpu.ebx == plain.cpu.cr0 && plain.cpu.ecx == 1 && plain.cpu.esi == 0x77)
        #expect(plain.dwords(0xB000 - 24, 6) == [0, 0x102C, 0x3B, 0x202, 0x7800, 0x43])
        #expect(plain.cpu.exceptionCounts[Int(Vector.ud)] == 1 && plain.cpu.exceptionCounts[Int(Vector.gp)] == 1)

        let hooked = Self.programMachine()
        var exceptions = 0, instructions = 0, registers = 0
        hooked.cpu.exceptionIntercept = { _, _ in exceptions += 1; return .deliver }
        hooked.cpu.instructionIntercept = { _, _ in instructions += 1; return false }
        hooked.cpu.interceptTraits = Traits(rawValue: 0xFFFF)
        hooked.cpu.systemRegisterObserver = { _, _ in registers += 1 }
        #expect(hooked.run(Self.program, limit: 100) == .halted)
        #expect(Snapshot(hooked) == Snapshot(plain))
        #expect(exceptions == 2 && instructions > 10)

        let traitsOnly = Self.programMachine()
        traitsOnly.cpu.interceptTraits = Traits(rawValue: 0xFFFF)      // a mask but no hook
        #expect(traitsOnly.run(Self.program, limit: 100) == .halted)
        #expect(Snapshot(traitsOnly) == Snapshot(plain))
    }
}
