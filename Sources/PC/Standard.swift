// The standard PC of DESIGN.md "Guest machine contract": COM1 16550A on
// IRQ 4, the 8259A pair, the 8254 on IRQ 0, isa-debug-exit at 0xF4, the POST
// port 0x80 and the keyboard controller's reset line.
//
// Two defaults follow QEMU rather than the datasheets, so that a guest
// behaves exactly as under `qemu-system-i386`: the PIC delivers an edge
// request even if its line has dropped again before the acknowledge, and the
// UART's interrupt is not gated by MCR.OUT2.  Both switches are on the devices.

extension Machine {
    public static func standardPC(memoryMiB: Int = 32, guestBase: UInt32 = 0) -> Machine {
        let m = Machine(memoryMiB: memoryMiB, guestBase: guestBase)
        let pic = PIC8259(biosState: true)
        pic.latchDroppedRequests = true
        let uart = UART16550(base: 0x3F8, irq: pic.irqLine(4))
        uart.out2GatesIRQ = false
        let pit = PIT8254(irq0: pic.irqLine(0), biosState: true)
        uart.onTransmit = { [unowned m] byte in m.onSerialOutput?(byte) }
        let exit = DebugExit { [unowned m] status in
            m.pendingStop = .debugExit(Int32(truncatingIfNeeded: status))
        }
        let keyboard = KeyboardController { [unowned m] in m.pendingStop = .reset }
        for d in [pic, uart, pit, exit, POSTPort(), keyboard] as [PortDevice] { m.attach(d) }
        m.pic = pic
        m.uart = uart
        m.pit = pit
        m.cpu.interrupts = pic
        return m
    }

    /// Feeds bytes to the guest's serial port (COM1's receiver).
    public func serialInput(_ bytes: [UInt8]) { uart?.feed(bytes) }
}
