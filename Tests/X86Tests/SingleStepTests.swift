import Testing
@testable import X86

/// A run of one instruction is a debugger's single step (Run.swift): an
/// exception or interrupt delivered through the IDT is the step, and the run
/// ends at the handler's first instruction, as QEMU's gdbstub stops there.
/// And a monitor running an instruction again from inside an intercept does
/// not meet the breakpoint the outer run already passed.
@Suite struct SingleStepTests {
    @Test func aFaultingInstructionStepsToItsHandler() {
        let m = SysMachine()
        m.deliverExceptions = true
        // nasm:
        //     ud2
        #expect(m.run([0x0F, 0x0B], limit: 1) == .limit)
        #expect(m.cpu.eip == m.handlerAddress(Vector.ud), "at the handler's HLT, not after it")
        #expect(!m.cpu.halted && m.cpu.instructions == 0, "nothing retired")
        #expect(m.u32(Layout.workingStack[0] - 12) == 0x1000, "the frame names the faulting instruction")
        // The next step runs the handler's first instruction.
        #expect(m.cpu.run(maxInstructions: 1) == .limit && m.cpu.halted && m.cpu.eip == m.haltedIn(Vector.ud))
        // A longer run goes on into the handler, as before.
        let n = SysMachine()
        n.deliverExceptions = true
        #expect(n.run([0x0F, 0x0B], limit: 2) == .halted && n.cpu.eip == n.haltedIn(Vector.ud))
    }

    @Test func aPendingInterruptIsTheStep() {
        let m = SysMachine()
        let pic = OneShotPIC(0x30)
        m.cpu.interrupts = pic
        m.cpu.setEFLAGS(EFLAGS.reserved1 | EFLAGS.if)
        // nasm:
        //     inc ebx
        #expect(m.run([0x43], limit: 1) == .limit)
        #expect(pic.acknowledged == 1 && m.cpu.eip == m.handlerAddress(0x30))
        #expect(m.cpu.ebx == 0, "the interrupted instruction did not run")
    }

    /// Trap-and-emulate runs a CPL-3 CLI again with IOPL granted, from the #GP
    /// intercept (TrapEmulation's withIOPrivilege).  Resuming from a
    /// breakpoint on the CLI must pass it in the inner run too.
    @Test func aNestedRunDoesNotStopAtThePassedBreakpoint() {
        let m = SysMachine()
        m.enter(cpl: 3)
        m.cpu.exceptionIntercept = { cpu, e in
            guard e.vector == Vector.gp else { return .deliver }
            let saved = cpu.eflags
            cpu.setEFLAGS(saved | EFLAGS.iopl)
            let stop = cpu.run(maxInstructions: 1)
            cpu.setEFLAGS((cpu.eflags & ~EFLAGS.iopl) | (saved & EFLAGS.iopl))
            return stop == .limit ? .handled : .stop(stop)
        }
        m.cpu.breakpoints = [0x1000]
        // nasm:
        //     cli
        //     inc ebx
        //     jmp $
        m.load([0xFA, 0x43, 0xEB, 0xFE], at: 0x1000)
        m.cpu.eip = 0x1000
        #expect(m.cpu.run(maxInstructions: 100) == .breakpoint(0x1000))
        m.cpu.resumeAddress = 0x1000
        #expect(m.cpu.run(maxInstructions: 100) == .limit)
        #expect(m.cpu.ebx == 1 && m.cpu.eip == 0x1002 && !m.cpu.interruptsEnabled)
    }
}
