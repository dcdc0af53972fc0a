import Testing
@testable import X86

/// First end-to-end checks of the executor on hand-assembled NASM code.
@Suite struct SmokeTests {
    @Test func arithmeticLoopSumsOneToTen() {
        // mov ecx,10 ; xor eax,eax ; l: add eax,ecx ; loop l ; hlt
        let m = TestMachine()
        let stop = m.run([0xB9, 10, 0, 0, 0, 0x31, 0xC0, 0x01, 0xC8, 0xE2, 0xFC])
        #expect(stop == .halted)
        #expect(m.cpu.eax == 55)
        #expect(m.cpu.ecx == 0)
    }

    @Test func callAndReturnThroughTheStack() {
        // call f ; hlt ; f: mov eax,0x2a ; ret
        let m = TestMachine()
        m.run([0xE8, 1, 0, 0, 0, 0xF4, 0xB8, 0x2A, 0, 0, 0, 0xC3])
        #expect(m.cpu.eax == 0x2A)
        #expect(m.cpu.esp == 0x9F00)
        #expect(m.cpu.eip == 0x1006)   // stopped after the HLT at 0x1005
    }

    @Test func divideByZeroIsAFaultAtTheDivide() {
        // xor ecx,ecx ; div ecx  (SDM DIV: #DE, EIP of the DIV)
        let m = TestMachine()
        let stop = m.run([0x31, 0xC9, 0xF7, 0xF1])
        #expect(stop == .exception(CPUException(Vector.de)))
        #expect(m.cpu.eip == 0x1002)
    }

    @Test func repMovsdCopiesAndCountsDown() {
        // mov esi,0x8000 ; mov edi,0x9000 ; mov ecx,4 ; cld ; rep movsd
        let m = TestMachine()
        m.load([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], at: 0x8000)
        m.run([0xBE, 0, 0x80, 0, 0, 0xBF, 0, 0x90, 0, 0, 0xB9, 4, 0, 0, 0, 0xFC, 0xF3, 0xA5])
        #expect(m.u32(0x9000) == 0x0403_0201)
        #expect(m.u32(0x900C) == 0x100F_0E0D)
        #expect(m.cpu.ecx == 0 && m.cpu.esi == 0x8010 && m.cpu.edi == 0x9010)
    }

    @Test func selfModifyingCodeSeesItsOwnWrite() {
        // mov byte [0x1008], 0x2a ; mov al, 0 (patched to mov al,0x2a) ; hlt
        // The store hits the page of the block being executed: the block must be dropped.
        let m = TestMachine()
        m.run([0xC6, 0x05, 0x08, 0x10, 0, 0, 0x2A, 0xB0, 0x00])
        #expect(m.cpu.eax & 0xFF == 0x2A)
    }

    @Test func breakpointStopsEveryIterationOfAChainedLoop() {
        // mov ecx,5 ; l: inc eax ; dec ecx ; jnz l ; hlt — breakpoint at l (0x1005).
        // Blocks chain without returning to the run loop; one that starts at a
        // breakpoint must still stop the run, on every iteration.
        let m = TestMachine()
        m.load([0xB9, 5, 0, 0, 0, 0x40, 0x49, 0x75, 0xFC, 0xF4], at: 0x1000)
        m.cpu.eip = 0x1000
        m.cpu.breakpoints = [0x1005]
        var stops: [UInt32] = []
        while true {
            let r = m.cpu.run(maxInstructions: 1000)
            guard case .breakpoint(let a) = r else { #expect(r == .halted); break }
            stops.append(m.cpu.eax)
            #expect(a == 0x1005 && m.cpu.eip == 0x1005)
            m.cpu.resumeAddress = a
        }
        #expect(stops == [0, 1, 2, 3, 4])
        #expect(m.cpu.eax == 5)
    }
}
