import Testing
@testable import X86

/// Directed tests per instruction family, each citing the Intel SDM Vol. 2
/// page (or Vol. 3 section) whose rule it checks.  The random sequences of
/// DifferentialTests cover breadth; these pin down the rules by name.
@Suite struct InstructionTests {
    /// Runs a snippet from InstructionSnippets.swift to its HLT (or first exception).
    func run(_ name: String, setup: (TestMachine) -> Void = { _ in }) -> (TestMachine, StopReason) {
        let m = TestMachine()
        setup(m)
        let stop = m.run(snippets[name]!.bytes)
        return (m, stop)
    }
    func flag(_ m: TestMachine, _ f: UInt32) -> Bool { m.cpu.eflags & f != 0 }

    // ---- ADD, ADC, INC, NEG: SDM "Flags Affected" of each ----
    @Test func addSetsOverflowSignAndAdjust() {   // ADD: OF on signed overflow, AF on carry out of bit 3
        let (m, _) = run("addOverflow")
        #expect(m.cpu.eax == 0x8000_0000)
        #expect(flag(m, EFLAGS.of) && flag(m, EFLAGS.sf) && flag(m, EFLAGS.af))
        #expect(!flag(m, EFLAGS.cf) && !flag(m, EFLAGS.zf))
    }
    @Test func adcCarriesIntoTheHighWord() {      // ADC: DEST + SRC + CF
        let (m, _) = run("adcChain")
        #expect(m.cpu.eax == 0 && m.cpu.edx == 2 && !flag(m, EFLAGS.cf))
    }
    @Test func incLeavesCarryAlone() {            // INC: "The CF flag is not affected"
        let (m, _) = run("incKeepsCF")
        #expect(m.cpu.eax == 0 && flag(m, EFLAGS.zf) && flag(m, EFLAGS.cf))
    }
    @Test func negOfZeroClearsCarryNegOfMinOverflows() { // NEG: CF = 0 iff source 0; -(-2^31) overflows
        let (m, _) = run("negZeroAndMin")
        #expect(m.cpu.ebx & 0xFF == 0)            // setc after neg 0
        #expect(m.cpu.ebx >> 8 & 0xFF == 1)       // seto after neg 0x80000000
        #expect(m.cpu.ecx == 0x8000_0000)
    }
    @Test func lockedNegSetsTheSignOfItsResult() { // NEG + LOCK: same flags as NEG (Unicorn gets this wrong)
        let (m, _) = run("lockNeg") { $0.load([0x8A, 0x32, 0xA1, 0x56], at: 0x8000) }
        #expect(m.u32(0x8000) == 0xA95E_CD76)
        #expect(flag(m, EFLAGS.sf) && flag(m, EFLAGS.cf) && !flag(m, EFLAGS.zf))
    }

    // ---- Shifts and rotates: SDM SAL/SAR/SHL/SHR, RCL/RCR/ROL/ROR ----
    @Test func shiftCountIsMaskedToFiveBits() {   // "The count is masked to 5 bits"
        let (m, _) = run("shiftMasked")
        #expect(m.cpu.eax == 2)
    }
    @Test func maskedCountOfZeroChangesNoFlag() { // "If the count is 0, the flags are not affected"
        let (m, _) = run("shiftZeroKeepsFlags")
        #expect(m.cpu.eax == 5 && flag(m, EFLAGS.cf))
    }
    @Test func sarFillsWithTheSign() {
        let (m, _) = run("sarSignFill")
        #expect(m.cpu.eax == 0xFFFF_FFFF && !flag(m, EFLAGS.cf))
    }
    @Test func rolSetsCarryFromTheBitRotatedIn() { // ROL: CF = LSB of the result; OF = MSB XOR CF for count 1
        let (m, _) = run("rolCarry")
        #expect(m.cpu.eax & 0xFF == 0x03 && flag(m, EFLAGS.cf) && flag(m, EFLAGS.of))
    }

    // ---- MUL, IMUL, DIV, IDIV ----
    @Test func mulSpillsIntoEDXAndSetsCFOF() {    // MUL: CF = OF = 1 when the upper half is non-zero
        let (m, _) = run("mulHigh")
        #expect(m.cpu.eax == 0 && m.cpu.edx == 1 && flag(m, EFLAGS.cf) && flag(m, EFLAGS.of))
    }
    @Test func threeOperandImulTruncatesAndFlags() { // IMUL: CF = OF = 1 when the result was truncated
        let (m, _) = run("imul3Overflow")
        #expect(m.cpu.eax == 0 && flag(m, EFLAGS.cf) && flag(m, EFLAGS.of))
    }
    @Test func divideOverflowIsADivideErrorFault() { // DIV: #DE when the quotient does not fit; EIP at DIV
        let (m, stop) = run("divOverflow")
        #expect(stop == .exception(CPUException(Vector.de)))
        #expect(m.cpu.eip == 0x100F && m.cpu.edx == 5 && m.cpu.eax == 0)
    }
    @Test func idivOfMinByMinusOneFaults() {      // IDIV: -2^31 / -1 does not fit: #DE
        let (m, stop) = run("idivMin")
        #expect(stop == .exception(CPUException(Vector.de)))
        #expect(m.cpu.eax == 0x8000_0000)
    }

    // ---- Strings: SDM MOVS/STOS/CMPS with REP prefixes ----
    @Test func stdMakesStringsRunDownward() {     // DF = 1: EDI decrements
        let (m, _) = run("stdRepStosb")
        #expect(m.u32(0x8000) == 0xAAAA_AAAA && m.cpu.edi == 0x7FFF && m.cpu.ecx == 0)
    }
    @Test func repeCmpsStopsAtTheFirstDifference() { // REPE: repeat while ZF = 1 and ECX != 0
        let (m, _) = run("repeCmpsb") { m in
            m.load([1, 2, 3, 4, 5, 6, 7, 8], at: 0x8000)
            m.load([1, 2, 3, 9, 5, 6, 7, 8], at: 0x8100)
        }
        #expect(m.cpu.ecx == 4 && m.cpu.esi == 0x8004 && !flag(m, EFLAGS.zf))
    }

    // ---- Stack: SDM PUSH, POP, PUSHA/POPA, ENTER/LEAVE ----
    @Test func pushEspPushesTheOldValue() {       // PUSH: "pushes the value of ESP as it existed before the instruction"
        let (m, _) = run("pushEsp")
        #expect(m.cpu.eax == 0x9000)
    }
    @Test func popEspLoadsThePoppedValue() {      // POP ESP: ESP receives the value from the stack
        let (m, _) = run("popEsp")
        #expect(m.cpu.esp == 0x1234)
    }
    @Test func pushaPopaRestoreAllButESP() {
        let (m, _) = run("pushaPopa")
        #expect([m.cpu.eax, m.cpu.ecx, m.cpu.edx, m.cpu.ebx, m.cpu.ebp, m.cpu.esi, m.cpu.edi] == [1, 2, 3, 4, 6, 7, 8])
    }
    @Test func enterBuildsAFrameLeaveRemovesIt() { // ENTER 8,0: push EBP; EBP = ESP; ESP -= 8
        let (m, _) = run("enterLeave")
        #expect(m.cpu.eax == 0x8FFC && m.cpu.ebx == 0x8FF4)
        #expect(m.cpu.ebp == 0x1111 && m.cpu.esp == 0x9000)
    }

    // ---- Bits: SDM BT, BSF; BCD: DAA ----
    @Test func btWithANegativeRegisterOffsetReachesBackwards() { // BT: bit offset -1 from [ebx] is bit 31 of [ebx-4]
        let (m, _) = run("btNegative")
        #expect(flag(m, EFLAGS.cf))
    }
    @Test func bsfOfZeroSetsZFAndKeepsTheDestination() {
        let (m, _) = run("bsfZero")
        #expect(flag(m, EFLAGS.zf) && m.cpu.eax == 0x1234)
    }
    @Test func daaAdjustsThePackedSum() {         // DAA example in the SDM: 79h + 35h = AEh → 14h, CF = 1
        let (m, _) = run("daaExample")
        #expect(m.cpu.eax & 0xFF == 0x14 && flag(m, EFLAGS.cf))
    }

    // ---- Conditional moves, exchange ----
    @Test func cmovMovesOnlyWhenTheConditionHolds() {
        let (m, _) = run("cmov")
        #expect(m.cpu.ecx == 2 && m.cpu.edx == 0)
    }
    @Test func xaddAndCmpxchg() {                 // XADD: SRC = old DEST; CMPXCHG: ZF = 0 loads EAX from DEST
        let (m, _) = run("xaddCmpxchg")
        #expect(m.cpu.eax == 99 && m.cpu.ebx == 5 && m.cpu.edx == 99 && !flag(m, EFLAGS.zf))
    }
    @Test func cmpxchg8bStoresECXEBXOnAMatch() {
        let (m, _) = run("cmpxchg8b") { $0.load([0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x22, 0x22], at: 0x8000) }
        #expect(m.u32(0x8000) == 0x3333_3333 && m.u32(0x8004) == 0x4444_4444 && flag(m, EFLAGS.zf))
    }

    // ---- No FPU: SDM Vol. 3 §2.5 (CR0.EM, CR0.TS) and Table 2-2 ----
    @Test func x87IsUndefinedWithoutAnFPU() {
        let (_, stop) = run("x87")
        #expect(stop == .exception(.ud))
    }
    @Test func x87WithTSSetIsDeviceNotAvailable() {
        let (_, stop) = run("x87") { $0.cpu.cr0 |= CR0.ts }
        #expect(stop == .exception(.nm))
    }
    @Test func waitFaultsWhenMPAndTSAreSet() {
        let (_, stop) = run("wait") { $0.cpu.cr0 |= CR0.ts | CR0.mp }
        #expect(stop == .exception(.nm))
    }
    @Test func cpuidReportsNoFPU() {              // CPUID leaf 1 EDX bit 0 (FPU) clear; leaf 0 vendor
        let (m, _) = run("cpuid")
        #expect(m.cpu.esi == 1)
        #expect(m.cpu.edx & 1 == 0 && m.cpu.edx & (1 << 8) != 0)   // no FPU, CX8
    }

    // ---- Invalid encodings ----
    @Test func ud2IsAnInvalidOpcodeAtItsAddress() {
        let (m, stop) = run("ud2")
        #expect(stop == .exception(.ud) && m.cpu.eip == 0x1001)
    }
    @Test func lockOnARegisterDestinationIsUndefined() { // LOCK: #UD unless a memory RMW of the listed forms
        #expect(run("lockReg").1 == .exception(.ud))
        #expect(run("lockMov").1 == .exception(.ud))
    }
    @Test func moreThanFifteenBytesIsAGeneralProtectionFault() { // SDM Vol. 2 §2.3.11
        let m = TestMachine()
        let stop = m.run([UInt8](repeating: 0x66, count: 15) + [0x90])
        #expect(stop == .exception(.gp(0)) && m.cpu.eip == 0x1000)
    }

    // ---- Operand and address size ----
    @Test func operandSizePrefixKeepsTheHighHalf() {
        let (m, _) = run("opsize16")
        #expect(m.cpu.eax == 0x1234_FFFF)
    }
    @Test func sixteenBitAddressingWrapsAt64K() { // 0x67: [bx+si] is (BX + SI) mod 2^16
        let (m, _) = run("addr16") { $0.load([0xEF, 0xBE, 0xAD, 0xDE], at: 0x8100) }
        #expect(m.cpu.eax == 0xDEAD_BEEF)
    }
    @Test func loopWithAddressSize16CountsInCX() { // LOOP: the address size picks CX or ECX
        let (m, _) = run("loopw")
        #expect(m.cpu.ecx == 0x10000)
    }
    @Test func movzxAndMovsx() {
        let (m, _) = run("movzxsx")
        #expect(m.cpu.eax == 0x80 && m.cpu.ecx == 0xFFFF_FF80 && m.cpu.edx == 0xFFFF_8001)
    }
    @Test func xlatIndexesTheTableAtEBX() {
        let (m, _) = run("xlat") { $0.load([10, 11, 12, 13], at: 0x8000) }
        #expect(m.cpu.eax & 0xFF == 13)
    }

    // ---- Decoding across a page boundary (paging off: physical = linear) ----
    @Test func anInstructionStraddlingAPageExecutes() {
        let m = TestMachine()
        m.load([0xB8, 0x78, 0x56, 0x34, 0x12, 0xF4], at: 0x1FFD)  // mov eax,0x12345678 across 0x2000
        m.cpu.eip = 0x1FFD
        #expect(m.cpu.run(maxInstructions: 10) == .halted)
        #expect(m.cpu.eax == 0x1234_5678)
    }
}
