// 16550A behaviour a driver relies on (PC16550D datasheet: register summary,
// LSR, IIR/Table IV "Interrupt Control Functions", FCR, MCR loopback, MSR).
// Every test runs on virtual time only.

import Testing
@testable import PC

private let base: UInt16 = 0x3F8
private let RBR = base, THR = base, DLL = base, IER = base + 1, DLM = base + 1
private let IIR = base + 2, FCR = base + 2, LCR = base + 3, MCR = base + 4
private let LSR = base + 5, MSR = base + 6, SCR = base + 7

extension UART16550 {
    func r(_ port: UInt16) -> UInt8 { UInt8(read(port: port, size: 1)) }
    func w(_ port: UInt16, _ v: UInt8) { write(port: port, size: 1, value: UInt32(v)) }
}

private func makeUART() -> (UART16550, LineProbe, Box<[UInt8]>) {
    let probe = LineProbe()
    let uart = UART16550(irq: probe.line)
    let out = Box<[UInt8]>([])
    uart.onTransmit = { out.value.append($0) }
    return (uart, probe, out)
}

@Suite("UART 16550A")
struct UART16550Tests {

    @Test("Reset values: IER 0, IIR 0x01 (no interrupt), LCR 0, MCR 0, LSR 0x60 (THRE|TEMT), MSR 0xB0 (host CTS/DSR/DCD)")
    func resetValues() {
        let (u, probe, _) = makeUART()
        #expect(u.r(IER) == 0)
        #expect(u.r(IIR) == 0x01)
        #expect(u.r(LCR) == 0)
        #expect(u.r(MCR) == 0)
        #expect(u.r(LSR) == 0x60)
        #expect(u.r(MSR) == 0xB0)
        #expect(u.ports == [0x3F8...0x3FF])
        #expect(!probe.level)
    }

    @Test("LCR bit 7 (DLAB) maps DLL/DLM over RBR/THR and IER; clearing it restores them")
    func dlabSwitching() {
        let (u, _, out) = makeUART()
        u.w(IER, 0x05)
        u.w(LCR, 0x83)                 // DLAB=1, 8N1
        u.w(DLL, 0x01)
        u.w(DLM, 0x02)
        #expect(u.r(DLL) == 0x01)
        #expect(u.r(DLM) == 0x02)
        #expect(out.value.isEmpty)     // the DLL write did not transmit
        u.w(LCR, 0x03)                 // DLAB=0
        #expect(u.r(IER) == 0x05)      // IER untouched by the DLM write
        u.w(THR, 0x41)
        #expect(out.value == [0x41])
        u.w(LCR, 0x83)
        #expect(u.r(DLL) == 0x01 && u.r(DLM) == 0x02)   // divisor kept
        #expect(u.state["divisor"] == "513")
        #expect(u.r(LCR) == 0x83)
    }

    @Test("A 16-bit write with DLAB=1 sets DLL and DLM (byte registers, low byte first)")
    func wideAccess() {
        let (u, _, _) = makeUART()
        u.w(LCR, 0x80)
        u.write(port: DLL, size: 2, value: 0x0C01)
        #expect(u.r(DLL) == 0x01 && u.r(DLM) == 0x0C)
        #expect(u.read(port: DLL, size: 2) == 0x0C01)
    }

    @Test("IER keeps only bits 3:0; MCR only bits 4:0; SCR holds any byte")
    func registerWidths() {
        let (u, _, _) = makeUART()
        u.w(IER, 0xFF)
        #expect(u.r(IER) == 0x0F)
        u.w(MCR, 0xFF)
        #expect(u.r(MCR) == 0x1F)
        u.w(SCR, 0xA5)
        #expect(u.r(SCR) == 0xA5)
    }

    @Test("THR writes go to the host at once: LSR keeps THRE and TEMT (0x60) after every write")
    func transmit() {
        let (u, _, out) = makeUART()
        for b in Array("Hello\n".utf8) {
            u.w(THR, b)
            #expect(u.r(LSR) == 0x60)
        }
        #expect(out.value == Array("Hello\n".utf8))
    }

    @Test("Without onTransmit, transmitted bytes collect until drained")
    func transmitBuffer() {
        let u = UART16550(irq: nil)
        u.w(THR, 1); u.w(THR, 2)
        #expect(u.drainTransmitted() == [1, 2])
        #expect(u.drainTransmitted().isEmpty)
    }

    @Test("16450 mode: one holding register; LSR.DR set on receive, cleared by reading RBR")
    func receiveHoldingRegister() {
        let (u, _, _) = makeUART()
        u.feed([0x61])
        #expect(u.r(LSR) == 0x61)      // DR|THRE|TEMT
        #expect(u.receiveSpace == 0)
        #expect(u.r(RBR) == 0x61)
        #expect(u.r(LSR) == 0x60)
        #expect(u.receiveSpace == 1)
    }

    @Test("16450 mode overrun: a second byte sets LSR.OE and overwrites RBR; reading LSR clears OE")
    func overrunWithoutFIFO() {
        let (u, _, _) = makeUART()
        u.feed([0x01, 0x02])
        #expect(u.r(LSR) == 0x63)      // DR|OE|THRE|TEMT
        #expect(u.r(LSR) == 0x61)      // OE cleared by the read
        #expect(u.r(RBR) == 0x02)
        #expect(u.overruns == 1)
    }

    @Test("FIFO mode: 16 bytes in order; the 17th sets OE and is lost; FIFO contents kept")
    func fifoAndOverrun() {
        let (u, _, _) = makeUART()
        u.w(FCR, 0x01)
        #expect(u.r(IIR) & 0xC0 == 0xC0)          // FIFOs enabled
        u.feed(Array(0..<16))
        #expect(u.r(LSR) & 0x02 == 0)              // no overrun yet
        u.feed([99])
        #expect(u.r(LSR) & 0x02 == 0x02)
        var got: [UInt8] = []
        while u.r(LSR) & 0x01 != 0 { got.append(u.r(RBR)) }
        #expect(got == Array(0..<16))
    }

    @Test("FCR bit 1 clears the receive FIFO; changing FCR bit 0 resets the FIFOs; IIR bits 7:6 follow FCR bit 0")
    func fifoClear() {
        let (u, _, _) = makeUART()
        u.w(FCR, 0x01)
        u.feed([1, 2, 3])
        u.w(FCR, 0x03)
        #expect(u.r(LSR) & 0x01 == 0)
        u.feed([4, 5])
        u.w(FCR, 0x00)
        #expect(u.r(LSR) & 0x01 == 0)
        #expect(u.r(IIR) == 0x01)
        #expect(u.receiveSpace == 1)
    }

    @Test("THRE interrupt: raised when ETBEI is enabled with THR empty, cleared by reading IIR, raised again by a THR write")
    func threInterrupt() {
        let (u, probe, _) = makeUART()
        u.w(MCR, 0x08)                 // OUT2
        u.w(IER, 0x02)
        #expect(probe.level)
        #expect(u.r(IIR) == 0x02)      // reading IIR when it reports THRE clears it
        #expect(!probe.level)
        #expect(u.r(IIR) == 0x01)
        u.w(THR, 0x41)                 // THR empties again at once
        #expect(probe.level)
        #expect(u.r(IIR) == 0x02)
        u.w(THR, 0x42)
        u.w(IER, 0x00)                 // disabling ETBEI drops the source
        #expect(!probe.level)
        #expect(u.r(IIR) == 0x01)
        u.w(IER, 0x02)                 // re-enabling with THR empty raises it again
        #expect(u.r(IIR) == 0x02)
    }

    @Test("IIR priority: line status (0x06) > received data (0x04) > THRE (0x02) > modem status (0x00), each cleared by its own action")
    func interruptPriorities() {
        let (u, probe, _) = makeUART()
        u.w(MCR, 0x08)
        u.w(IER, 0x0F)                 // all four sources; THRE pending at once
        u.feed([1, 2])                 // data + overrun (16450 mode)
        u.hostModemLines = 0xA0        // CTS dropped: DCTS
        #expect(u.r(IIR) == 0x06)
        _ = u.r(LSR)                   // clears OE
        #expect(u.r(IIR) == 0x04)
        _ = u.r(RBR)
        #expect(u.r(IIR) == 0x02)      // this read clears THRE
        #expect(u.r(IIR) == 0x00)      // modem status
        #expect(u.r(MSR) == 0xA1)      // DCTS, with DSR and DCD
        #expect(u.r(IIR) == 0x01)
        #expect(!probe.level)
    }

    @Test("IRQ line = enabled source pending AND MCR.OUT2; loopback forces OUT2 inactive; QEMU mode ignores OUT2")
    func irqGatedByOut2() {
        let (u, probe, _) = makeUART()
        u.w(IER, 0x01)
        u.feed([7])
        #expect(u.r(IIR) == 0x04)
        #expect(!probe.level)          // OUT2 = 0: the PC's IRQ buffer is off
        u.w(MCR, 0x08)
        #expect(probe.level)
        u.w(MCR, 0x18)                 // loopback: OUT pins inactive
        #expect(!probe.level)
        u.w(MCR, 0x00)
        u.out2GatesIRQ = false
        u.w(SCR, 0)                    // any access re-evaluates the line
        #expect(probe.level)
        _ = u.r(RBR)
        #expect(!probe.level)
    }

    @Test("IER bit 0 off: data arrives without an interrupt; IIR stays 0x01 while LSR.DR is set")
    func dataWithoutInterrupt() {
        let (u, probe, _) = makeUART()
        u.w(MCR, 0x08)
        u.feed([1])
        #expect(u.r(IIR) == 0x01)
        #expect(u.r(LSR) & 1 == 1)
        #expect(!probe.level)
    }

    @Test("Loopback (MCR bit 4): THR bytes come back in RBR, nothing is transmitted, host input is disconnected")
    func loopbackData() {
        let (u, _, out) = makeUART()
        u.w(MCR, 0x10)
        u.w(THR, 0x5A)
        #expect(out.value.isEmpty)
        #expect(u.r(LSR) & 1 == 1)
        #expect(u.r(RBR) == 0x5A)
        u.feed([1, 2, 3])
        #expect(u.r(LSR) & 1 == 0)
    }

    @Test("Loopback MSR: CTS=RTS, DSR=DTR, RI=OUT1, DCD=OUT2, with delta bits for changes")
    func loopbackModemStatus() {
        let (u, _, _) = makeUART()
        u.w(MCR, 0x10)
        #expect(u.r(MSR) == 0x0B)      // CTS, DSR, DCD fell: DCTS|DDSR|DDCD, inputs now 0
        u.w(MCR, 0x1F)
        #expect(u.r(MSR) == 0xFB)      // all inputs up; no TERI on a rising RI
        u.w(MCR, 0x1B)                 // OUT1 off: RI trailing edge
        #expect(u.r(MSR) == 0xB4)      // TERI; inputs DCD, DSR, CTS
        u.w(MCR, 0x1B)
        #expect(u.r(MSR) == 0xB0)      // deltas cleared by the read
    }

    @Test("FIFO trigger level (FCR bits 7:6 = 14): no data interrupt below it, one at it")
    func triggerLevel() {
        let (u, probe, _) = makeUART()
        u.w(MCR, 0x08)
        u.w(FCR, 0xC1)
        u.w(IER, 0x01)
        u.feed(Array(repeating: 0x30, count: 13))
        #expect(u.r(IIR) == 0xC1)
        #expect(!probe.level)
        u.feed([0x31])
        #expect(u.r(IIR) == 0xC4)
        #expect(probe.level)
        _ = u.r(RBR)                   // 13 left: below the trigger
        #expect(u.r(IIR) == 0xC1)
    }

    @Test("Character timeout (IIR 0x0C): fires four character times after the last byte, cleared by reading RBR")
    func characterTimeout() {
        let (u, probe, _) = makeUART()
        u.w(LCR, 0x80); u.w(DLL, 1); u.w(DLM, 0); u.w(LCR, 0x03)   // 115200 8N1
        u.w(MCR, 0x08)
        u.w(FCR, 0x81)                 // trigger 8
        u.w(IER, 0x01)
        #expect(u.characterTime == 86_806)   // 10 bits x 16 / 1.8432 MHz, rounded up
        u.advance(to: 1_000_000)
        u.feed([0x41, 0x42])
        let deadline: UInt64 = 1_000_000 + 4 * 86_806
        #expect(u.nextEvent == deadline)
        u.advance(to: deadline - 1)
        #expect(u.r(IIR) == 0xC1)
        u.advance(to: deadline)
        #expect(probe.level)
        #expect(u.r(IIR) == 0xCC)
        #expect(u.r(RBR) == 0x41)      // clears the timeout, restarts the timer
        #expect(u.r(IIR) == 0xC1)
        #expect(u.nextEvent == deadline + 4 * 86_806)
        u.advance(to: deadline + 4 * 86_806)
        #expect(u.r(IIR) == 0xCC)
        #expect(u.r(RBR) == 0x42)
        #expect(u.nextEvent == nil)    // FIFO empty: nothing to time out
    }

    @Test("No character timeout in 16450 mode (FIFO disabled)")
    func noTimeoutWithoutFIFO() {
        let (u, _, _) = makeUART()
        u.w(IER, 0x01)
        u.feed([1])
        #expect(u.nextEvent == nil)
    }

    @Test("state lists the registers for info commands")
    func inspection() {
        let (u, _, _) = makeUART()
        u.w(LCR, 0x03)
        let s = u.state
        #expect(s["LCR"] == "0x03")
        #expect(s["LSR"] == "0x60")
        #expect(s["base"] == "0x03f8")
    }
}
