// The 16550A UART (National Semiconductor PC16550D datasheet, "Universal
// Asynchronous Receiver/Transmitter with FIFOs"), as COM1 of a PC: ports
// 0x3F8–0x3FF, IRQ 4.
//
// Register map (datasheet Table II, "Summary of Registers"), offset from base:
//
//   +0  DLAB=0  read RBR (receiver buffer)   write THR (transmitter holding)
//   +0  DLAB=1  DLL (divisor latch, low byte)
//   +1  DLAB=0  IER (interrupt enable)       DLAB=1  DLM (divisor latch, high)
//   +2  read IIR (interrupt identification)  write FCR (FIFO control)
//   +3  LCR (line control; bit 7 = DLAB, the divisor latch access bit)
//   +4  MCR (modem control)    +5  LSR (line status)
//   +6  MSR (modem status)     +7  SCR (scratch)
//
// Interrupts (datasheet "Interrupt Identification Register", Table IV
// "Interrupt Control Functions"), highest priority first:
//
//   IIR  source                          enabled by   reset by
//   0x06 receiver line status (OE)       IER bit 2    reading LSR
//   0x04 received data available         IER bit 0    reading RBR (below the trigger level)
//   0x0C character timeout (FIFO mode)   IER bit 0    reading RBR
//   0x02 THR empty                       IER bit 1    reading IIR (when it is the source) or writing THR
//   0x00 modem status                    IER bit 3    reading MSR
//
// IIR bit 0 is 0 while an interrupt is pending; bits 7:6 read 11 when the
// FIFOs are enabled (FCR bit 0).  On a PC the chip's INTR pin reaches the
// 8259A through a buffer enabled by the OUT2 output, so the IRQ line is high
// only while an enabled source is pending AND MCR bit 3 (OUT2) is set.  In
// loopback mode (MCR bit 4) the datasheet forces the OUT pins inactive, so a
// PC sees no IRQ then (the interrupt sources themselves still work, and IIR
// still reports them).
//
// Modelling choices (all deterministic, on virtual time only):
// - Transmission is instantaneous: a byte written to THR is handed to the host
//   at once, so LSR.THRE and LSR.TEMT are always 1.  Per the datasheet the
//   THR-empty interrupt is still raised each time THR "becomes empty" (that
//   is, after every THR write) and when ETBEI (IER bit 1) is switched on
//   while THR is empty; reading IIR while it reports THRE clears it.
// - The receiver FIFO is 16 bytes with FCR bit 0 set, a single holding
//   register otherwise.  A byte arriving when it is full sets LSR.OE: in FIFO
//   mode the byte is lost (the FIFO is untouched); in 16450 mode it overwrites
//   the holding register (the datasheet: "destroying the previous character").
// - The character timeout (FIFO mode) fires when at least one byte has waited
//   for four character times with no byte received or read; a character time
//   follows from LCR and the divisor (1.8432 MHz crystal, 16 clocks per bit),
//   so a driver with a trigger level of 8 or 14 still sees single keystrokes.
//   This is the only reason the UART is `Clocked`.
// - The host side of the modem lines defaults to CTS, DSR and DCD asserted
//   (MSR = 0xB0, a connected terminal, as QEMU's default); RI is off.
// - Divisor 0 (which the datasheet leaves undefined) is timed as 65536.
// - Writes to LSR and MSR (factory test on the real part) are ignored.

/// The 16550A UART.  Give it the IRQ line (IRQ 4 for COM1) from the PIC.
public final class UART16550: PortDevice, Clocked {
    public let base: UInt16
    public var ports: [ClosedRange<UInt16>] { [base...(base &+ 7)] }

    /// Called with each byte the guest transmits (writes to THR outside loopback).
    /// When nil, transmitted bytes collect in `transmitted` for the machine to drain.
    public var onTransmit: ((UInt8) -> Void)?
    /// Bytes transmitted while `onTransmit` was nil.
    public private(set) var transmitted: [UInt8] = []
    /// When true (a PC), MCR.OUT2 gates the IRQ line; when false, the line
    /// follows INTR directly (what QEMU's 16550 model does).
    public var out2GatesIRQ = true
    /// The host's modem-status inputs, in MSR bit positions 7:4 (DCD, RI, DSR, CTS).
    public var hostModemLines: UInt8 = 0xB0 {
        didSet { modemInputsChanged(from: Self.modemInputs(mcr: mcr, host: oldValue)) }
    }

    let irq: IRQLine?

    // Registers (names from the datasheet).
    private var rxFIFO: [UInt8] = []
    private var rbr: UInt8 = 0          // the last byte read (what an empty RBR returns)
    private var ier: UInt8 = 0
    private var lcr: UInt8 = 0
    private var mcr: UInt8 = 0
    private var lsrErrors: UInt8 = 0    // OE (bit 1); PE/FE/BI never occur on a virtual line
    private var msrDeltas: UInt8 = 0    // DCTS, DDSR, TERI, DDCD (bits 3:0)
    private var scr: UInt8 = 0
    private var dll: UInt8 = 0x0C       // 9600 baud until the guest says otherwise
    private var dlm: UInt8 = 0
    private var fifoEnabled = false
    private var fcr: UInt8 = 0          // FCR bits 7:6 (trigger) and 3 (DMA mode) as last programmed
    private var threPending = false
    private var timeoutPending = false

    // Virtual time, for the character timeout.
    private var now: UInt64 = 0
    private var lastRxActivity: UInt64 = 0

    /// Bytes lost to overrun since reset (for `info`).
    public private(set) var overruns: UInt64 = 0

    public init(base: UInt16 = 0x3F8, irq: IRQLine?) {
        self.base = base
        self.irq = irq
    }

    // MARK: Host side

    /// Puts host bytes on the receive line, as if they had just arrived.  Bytes that
    /// find the receiver full set LSR.OE (see the file comment).  In loopback mode
    /// the receiver is disconnected from the line and the bytes are dropped.
    public func feed(_ bytes: [UInt8]) {
        guard !loopback else { return }
        for b in bytes { receive(b) }
        updateIRQ()
    }

    /// How many bytes the receiver can take before it overruns (for a host that paces its input).
    public var receiveSpace: Int { max(0, rxCapacity - rxFIFO.count) }

    /// Returns and forgets the bytes collected in `transmitted`.
    public func drainTransmitted() -> [UInt8] {
        defer { transmitted.removeAll(keepingCapacity: true) }
        return transmitted
    }

    // MARK: PortDevice

    public func read(port: UInt16, size: Int) -> UInt32 {
        readBytes(port, size) { readRegister($0) }
    }

    public func write(port: UInt16, size: Int, value: UInt32) {
        writeBytes(port, size, value) { writeRegister($0, $1) }
    }

    func readRegister(_ port: UInt16) -> UInt8 {
        guard port >= base && port <= base &+ 7 else { return 0xFF }
        defer { updateIRQ() }
        switch port - base {
        case 0:
            if dlab { return dll }
            if !rxFIFO.isEmpty {
                rbr = rxFIFO.removeFirst()
                lastRxActivity = now
            }
            timeoutPending = false
            return rbr
        case 1:
            return dlab ? dlm : ier
        case 2:
            let id = pendingInterrupt()
            if id == 0x02 { threPending = false }
            return (fifoEnabled ? 0xC0 : 0x00) | (id ?? 0x01)
        case 3:
            return lcr
        case 4:
            return mcr
        case 5:
            let v = lsr
            lsrErrors = 0
            return v
        case 6:
            let v = msrDeltas | modemInputs
            msrDeltas = 0
            return v
        default:
            return scr
        }
    }

    func writeRegister(_ port: UInt16, _ value: UInt8) {
        guard port >= base && port <= base &+ 7 else { return }
        defer { updateIRQ() }
        switch port - base {
        case 0:
            if dlab { dll = value; checkTimeout(); return }
            transmit(value)
        case 1:
            if dlab { dlm = value; checkTimeout(); return }
            let old = ier
            ier = value & 0x0F
            if ier & 0x02 != 0 && old & 0x02 == 0 {
                threPending = true      // ETBEI switched on while THR is empty
            } else if ier & 0x02 == 0 {
                threPending = false
            }
        case 2:
            writeFCR(value)
        case 3:
            lcr = value
            checkTimeout()
        case 4:
            let oldInputs = modemInputs
            mcr = value & 0x1F
            modemInputsChanged(from: oldInputs)
        case 5, 6:
            break
        default:
            scr = value
        }
    }

    // MARK: Clocked

    public func advance(to now: UInt64) {
        guard now > self.now else { return }
        self.now = now
        checkTimeout()
        updateIRQ()
    }

    public var nextEvent: UInt64? {
        guard let deadline = timeoutDeadline, !timeoutPending else { return nil }
        return max(deadline, now &+ 1)
    }

    // MARK: Registers, derived

    private var dlab: Bool { lcr & 0x80 != 0 }
    private var loopback: Bool { mcr & 0x10 != 0 }
    private var rxCapacity: Int { fifoEnabled ? 16 : 1 }

    /// The receiver FIFO trigger level (FCR bits 7:6): 1, 4, 8 or 14 bytes.
    private var triggerLevel: Int { [1, 4, 8, 14][Int(fcr >> 6)] }

    /// LSR: DR (0), OE (1), THRE (5), TEMT (6).  Bit 7 (error in FIFO) stays 0: no
    /// parity, framing or break errors occur on a virtual line.
    private var lsr: UInt8 {
        (rxFIFO.isEmpty ? 0 : 0x01) | lsrErrors | 0x20 | 0x40
    }

    /// MSR bits 7:4: the host's lines, or in loopback DCD=OUT2, RI=OUT1, DSR=DTR, CTS=RTS.
    private var modemInputs: UInt8 { Self.modemInputs(mcr: mcr, host: hostModemLines) }

    private static func modemInputs(mcr: UInt8, host: UInt8) -> UInt8 {
        guard mcr & 0x10 != 0 else { return host & 0xF0 }
        var v: UInt8 = 0
        if mcr & 0x02 != 0 { v |= 0x10 }   // RTS -> CTS
        if mcr & 0x01 != 0 { v |= 0x20 }   // DTR -> DSR
        if mcr & 0x04 != 0 { v |= 0x40 }   // OUT1 -> RI
        if mcr & 0x08 != 0 { v |= 0x80 }   // OUT2 -> DCD
        return v
    }

    /// Sets the MSR delta bits for the inputs that changed (RI: trailing edge only).
    private func modemInputsChanged(from old: UInt8) {
        let new = modemInputs
        let d = old ^ new
        if d & 0x10 != 0 { msrDeltas |= 0x01 }
        if d & 0x20 != 0 { msrDeltas |= 0x02 }
        if old & 0x40 != 0 && new & 0x40 == 0 { msrDeltas |= 0x04 }
        if d & 0x80 != 0 { msrDeltas |= 0x08 }
        updateIRQ()
    }

    /// The highest-priority enabled pending source as its IIR code, or nil.
    private func pendingInterrupt() -> UInt8? {
        if ier & 0x04 != 0 && lsrErrors != 0 { return 0x06 }
        if ier & 0x01 != 0 {
            if rxFIFO.count >= (fifoEnabled ? triggerLevel : 1) { return 0x04 }
            if timeoutPending { return 0x0C }
        }
        if ier & 0x02 != 0 && threPending { return 0x02 }
        if ier & 0x08 != 0 && msrDeltas != 0 { return 0x00 }
        return nil
    }

    private func updateIRQ() {
        let gate = !out2GatesIRQ || (mcr & 0x08 != 0 && !loopback)
        irq?.set(gate && pendingInterrupt() != nil)
    }

    // MARK: Transmit and receive

    private func transmit(_ byte: UInt8) {
        if loopback {
            receive(byte)
        } else if let onTransmit {
            onTransmit(byte)
        } else {
            transmitted.append(byte)
        }
        // THR is empty again at once: that is a new THRE interrupt condition.
        threPending = true
    }

    private func receive(_ byte: UInt8) {
        if rxFIFO.count < rxCapacity {
            rxFIFO.append(byte)
        } else {
            lsrErrors |= 0x02
            overruns &+= 1
            if !fifoEnabled { rxFIFO[0] = byte }
        }
        lastRxActivity = now
    }

    private func writeFCR(_ value: UInt8) {
        let enable = value & 0x01 != 0
        if enable != fifoEnabled {
            // Changing FCR bit 0 resets both FIFOs.
            rxFIFO.removeAll()
            timeoutPending = false
            fifoEnabled = enable
        }
        // The other bits are programmed only together with FCR bit 0 = 1.
        guard enable else { return }
        if value & 0x02 != 0 {
            rxFIFO.removeAll()
            timeoutPending = false
        }
        // Bit 2 (clear the transmitter FIFO) has nothing to clear: transmission is instantaneous.
        fcr = value & 0xC8
    }

    // MARK: Character timeout

    /// One character time in nanoseconds: start bit, 5–8 data bits, parity, 1 or 2
    /// stop bits (1.5 counted as 2), 16 clocks per bit of the 1.8432 MHz crystal / divisor.
    var characterTime: UInt64 {
        let bits = 1 + 5 + UInt64(lcr & 0x03) + (lcr & 0x08 != 0 ? 1 : 0) + (lcr & 0x04 != 0 ? 2 : 1)
        let raw = UInt64(dlm) << 8 | UInt64(dll)
        let divisor = raw == 0 ? 65536 : raw
        let num = bits * 16 * divisor * 1_000_000_000
        return (num + 1_843_199) / 1_843_200
    }

    private var timeoutDeadline: UInt64? {
        guard fifoEnabled, !rxFIFO.isEmpty else { return nil }
        return lastRxActivity &+ 4 &* characterTime
    }

    private func checkTimeout() {
        if let d = timeoutDeadline, now >= d { timeoutPending = true }
    }

    // MARK: Inspection

    /// Register values and a few facts, for `info serial`.
    public var state: [String: String] {
        let divisor = UInt16(dlm) << 8 | UInt16(dll)
        return [
            "base": hex4(base),
            "IER": hex2(ier), "IIR": hex2((fifoEnabled ? 0xC0 : 0) | (pendingInterrupt() ?? 0x01)),
            "FCR": hex2(fcr | (fifoEnabled ? 1 : 0)), "LCR": hex2(lcr), "MCR": hex2(mcr),
            "LSR": hex2(lsr), "MSR": hex2(msrDeltas | modemInputs), "SCR": hex2(scr),
            "divisor": String(divisor),
            "baud": divisor == 0 ? "-" : String(115_200 / Int(divisor)),
            "rx": String(rxFIFO.count), "overruns": String(overruns),
            "irq": (irq?.level ?? false) ? "high" : "low",
        ]
    }
}
