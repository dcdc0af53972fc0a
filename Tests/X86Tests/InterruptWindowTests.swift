import Testing
@testable import X86

/// When the CPU recognizes an external interrupt (SDM Vol. 3A §6.8.3) and
/// the hooks a VMM uses to take requests whatever IF is (VMX external-
/// interrupt exiting, Vol. 3C §25.4.1).
@Suite struct InterruptWindowTests {
    /// STI; NOP; CLI with a request pending: STI blocks interrupts for one
    /// instruction only, so the interrupt is taken after the NOP — the frame
    /// holds the CLI's address — even though NOP and CLI share a block.
    @Test func stiOpensAWindowOfOneInstruction() {
        let m = SysMachine()
        let pic = OneShotPIC(0x40)
        m.cpu.interrupts = pic
        m.cpu.setEFLAGS(2)
        // nasm: sti / nop / cli / hlt
        let stop = m.run([0xFB, 0x90, 0xFA, 0xF4], limit: 10)
        #expect(stop == .halted && m.cpu.eip == m.haltedIn(0x40) && pic.acknowledged == 1)
        #expect(m.dwords(0x9F00 - 12, 3) == [Layout.code + 2, 0x08, EFLAGS.if | 2], "return to the CLI")
        withExtendedLifetime(pic) {}
    }

    /// MOV SS blocks for one instruction the same way: with IF = 1 the
    /// request waits for the instruction after MOV SS, then is taken.
    @Test func movSSBlocksForOneInstruction() {
        let m = SysMachine()
        let pic = OneShotPIC(nil)
        m.cpu.interrupts = pic
        m.cpu.setEFLAGS(2 | EFLAGS.if)
        // nasm: mov ax, 0x10 / mov ss, ax / nop / nop / hlt   (the request rises right after MOV SS)
        m.load([0x66, 0xB8, 0x10, 0x00, 0x8E, 0xD0, 0x90, 0x90, 0xF4], at: Layout.code)
        #expect(m.resume(at: Layout.code, limit: 2) == .limit && m.cpu.interruptShadow)
        pic.pending = 0x41
        #expect(m.cpu.run(maxInstructions: 10) == .halted && m.cpu.eip == m.haltedIn(0x41))
        #expect(m.u32(0x9F00 - 12) == Layout.code + 7, "taken after the NOP that follows MOV SS")
        withExtendedLifetime(pic) {}
    }

    /// A source that takes every request and delivers none (as a VMM holding it for later).
    final class Withholding: InterruptSource {
        unowned let cpu: CPU
        var pending = true
        var acknowledgedWithIF: [Bool] = []
        init(_ cpu: CPU) { self.cpu = cpu }
        var interruptPending: Bool { pending }
        func acknowledgeInterrupt() -> UInt8 {
            acknowledgedWithIF.append(cpu.interruptsEnabled)
            pending = false
            cpu.interruptWithheld = true
            return 0x40
        }
    }

    /// With `interruptsIgnoreIF` the CPU asks the source at IF = 0 too; a
    /// source that withholds the vector gets nothing delivered, and the guest
    /// runs on.  Without it, IF = 0 keeps the source from being asked.
    @Test func interruptsIgnoringIF() {
        for ignore in [false, true] {
            let m = SysMachine()
            let source = Withholding(m.cpu)
            m.cpu.interrupts = source
            m.cpu.setEFLAGS(2)
            m.cpu.interruptsIgnoreIF = ignore
            // nasm: nop / nop / hlt
            let stop = m.run([0x90, 0x90, 0xF4], limit: 10)
            #expect(stop == .halted && m.cpu.eip == Layout.code + 3, "nothing delivered (ignoreIF \(ignore))")
            #expect(source.acknowledgedWithIF == (ignore ? [false] : []))
            #expect(!m.cpu.interruptWithheld)
            withExtendedLifetime(source) {}
        }
    }
}
