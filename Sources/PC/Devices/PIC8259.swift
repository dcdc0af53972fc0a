// The two 8259A programmable interrupt controllers of a PC/AT (Intel 8259A
// datasheet, order no. 231468): the master at ports 0x20/0x21, the slave at
// 0xA0/0xA1 cascaded on the master's IR2.  IRQ 0–7 are master inputs 0–7,
// IRQ 8–15 slave inputs 0–7.
//
// Programming (datasheet "Programming the 8259A"):
// - A write to the even port with D4 = 1 is ICW1 (D3 LTIM level/edge, D1 SNGL,
//   D0 IC4).  It starts the initialization sequence and resets the chip: IMR
//   cleared, ISR cleared, IR7 lowest priority, special mask mode off, status
//   read set to IRR, and the edge-sense latches reset, so a line that is
//   already high must fall and rise again before it requests.
// - The odd port then takes ICW2 (vector base: T7–T3, the low 3 bits come from
//   the level), ICW3 when SNGL = 0 (master: a bit per input with a slave;
//   slave: its ID), and ICW4 when IC4 = 1 (D1 AEOI, D4 SFNM; D0 µPM is taken as
//   8086 mode whatever its value — a PC has no 8080).
// - After that, the odd port is OCW1 (IMR); the even port is OCW2 (D4 = D3 = 0)
//   or OCW3 (D4 = 0, D3 = 1).
//
// OCW2 (datasheet "Operation Command Words", Table 2): R SL EOI L2 L1 L0
//   001 non-specific EOI          011 specific EOI (level L)
//   101 rotate on non-specific EOI 111 rotate on specific EOI (L becomes lowest)
//   100 set rotate in auto-EOI    000 clear rotate in auto-EOI
//   110 set priority (L lowest)   010 no operation
// OCW3: D6 ESMM + D5 SMM (special mask mode), D2 P (poll), D1 RR + D0 RIS
// (next read of the even port returns IRR or ISR).
//
// Priority (datasheet "Fully Nested Mode", "Automatic Rotation", "Special
// Mask Mode", "Special Fully Nested Mode"): fixed, IR0 highest, until a rotate
// command moves the lowest-priority level.  A request is granted only if its
// level has a higher priority than every level in service; in special mask
// mode a masked level in service does not block; with SFNM on the master, the
// slave's level is not blocked by itself being in service.  IRQ 8–15 thus sit
// at the master's level 2, between IRQ 1 and IRQ 3.
//
// The INTA cycle (datasheet "Interrupt Sequence", "Edge and Level Triggered
// Modes", "Cascade Mode"): the highest request moves from IRR to ISR (unless
// auto-EOI) and its vector is returned.  If the selected level is a cascade
// input, the slave resolves its own requests and returns its vector; the
// master's ISR bit 2 is set either way.
//
// Edge-triggered requests — the choice made here, following the datasheet:
// a rising edge on IRn sets the IRR bit, which stays set (and reads as set
// through OCW3) until the INTA cycle.  But the datasheet requires the IR
// input to "remain high until after the falling edge of the first INTA
// pulse": a request whose line has fallen by then is not a request any more.
// So at INTA the chip drops IRR bits whose lines are low, and if no request
// is left it answers with the spurious "default IR7": vector base+7 without
// setting ISR.  For a slave request that vanished, the master has already
// committed to the cascade: its ISR bit 2 is set and the slave supplies its
// own base+7 (the classic spurious IRQ 15, which needs an EOI to the master
// only).  Consequently a device must hold its line high until the interrupt
// is taken — the UART's INTR and the PIT's OUT0 do; an `IRQLine.pulse()`
// (rise then fall at once) yields a spurious IRQ 7 here, as a glitch would on
// the real chip.  `latchDroppedRequests = true` switches to QEMU's i8259
// behaviour, where a latched edge is delivered even if its line fell.
//
// Level-triggered mode (ICW1 LTIM) is modelled too: IRR follows the line and
// INTA does not clear it (ISR keeps the level from re-entering until EOI).
//
// The slave's INT output drives the master's IR2 like any device line.  It
// falls during the INTA sequence, so if the slave still has a request after
// being acknowledged (e.g. in auto-EOI), the master sees a fresh edge.
// A device given IRQ 2 (`irqLine(2)`) is routed to IRQ 9, as the PC/AT bus
// redirects it.  Only IR2 has a slave: other ICW3 bits on the master are
// stored but answered by the master itself, and the slave's ICW3 ID is not
// checked.  Buffered mode (ICW4 BUF, M/S) has no effect on a bus model.

import X86

/// The master/slave 8259A pair; the machine's interrupt source for the CPU.
public final class PIC8259: PortDevice, InterruptSource {

    /// One 8259A's registers and modes.
    public struct Chip: Equatable, Sendable {
        /// Interrupt request register (latched requests).
        public internal(set) var irr: UInt8 = 0
        /// In-service register.
        public internal(set) var isr: UInt8 = 0
        /// Interrupt mask register (OCW1).
        public internal(set) var imr: UInt8 = 0
        /// The current level of each IR input.
        public internal(set) var inputs: UInt8 = 0
        /// ICW2: the vector of IR0 (multiple of 8).
        public internal(set) var vectorBase: UInt8 = 0
        /// ICW3 as written.
        public internal(set) var icw3: UInt8 = 0
        public internal(set) var levelTriggered = false
        public internal(set) var single = false
        public internal(set) var autoEOI = false
        public internal(set) var rotateOnAutoEOI = false
        public internal(set) var specialMask = false
        public internal(set) var specialFullyNested = false
        /// The level with the lowest priority (7 in fixed priority).
        public internal(set) var lowestPriority: UInt8 = 7
        /// OCW3 RIS: the even port reads ISR (true) or IRR (false).
        public internal(set) var readISR = false
        /// 0 when ready for OCWs; 2, 3 or 4 while expecting that ICW.
        public internal(set) var initStep = 0
        var expectICW4 = false
        var pollPending = false

        /// Priority rank of a level: 0 is the highest.
        func rank(_ level: Int) -> Int { (level - Int(lowestPriority) - 1) & 7 }
        func level(ofRank r: Int) -> Int { (r + Int(lowestPriority) + 1) & 7 }

        /// The highest-priority level set in `bits`.
        func highest(_ bits: UInt8) -> Int? {
            guard bits != 0 else { return nil }
            for r in 0..<8 {
                let l = level(ofRank: r)
                if bits & (1 << l) != 0 { return l }
            }
            return nil
        }

        /// What the priority resolver grants among `requests`: the highest unmasked
        /// request of higher priority than everything in service, or nil.
        func resolve(_ requests: UInt8, cascade: UInt8) -> Int? {
            let pending = requests & ~imr
            guard pending != 0 else { return nil }
            let blocking = specialMask ? isr & ~imr : isr
            let inService = highest(blocking).map(rank) ?? 8
            guard let l = highest(pending) else { return nil }
            let r = rank(l)
            if r < inService { return l }
            if r == inService && specialFullyNested && cascade & (1 << l) != 0 { return l }
            return nil
        }

        mutating func setInput(_ n: Int, _ high: Bool) {
            let bit = UInt8(1) << n
            if high {
                if inputs & bit == 0 {
                    inputs |= bit
                    irr |= bit          // the rising edge (or the level) requests
                }
            } else {
                inputs &= ~bit
                if levelTriggered { irr &= ~bit }
            }
        }

        /// The INTA cycle for level `l`: IRR to ISR (or auto-EOI).
        mutating func acknowledge(_ l: Int) {
            let bit = UInt8(1) << l
            if !levelTriggered { irr &= ~bit }
            if autoEOI {
                if rotateOnAutoEOI { lowestPriority = UInt8(l) }
            } else {
                isr |= bit
            }
        }

        mutating func writeEven(_ v: UInt8) {
            if v & 0x10 != 0 {
                // ICW1
                levelTriggered = v & 0x08 != 0
                single = v & 0x02 != 0
                expectICW4 = v & 0x01 != 0
                initStep = 2
                imr = 0
                isr = 0
                irr = levelTriggered ? inputs : 0
                lowestPriority = 7
                specialMask = false
                readISR = false
                pollPending = false
                rotateOnAutoEOI = false
                if !expectICW4 { autoEOI = false; specialFullyNested = false }
            } else if v & 0x08 != 0 {
                // OCW3
                if v & 0x02 != 0 { readISR = v & 0x01 != 0 }
                if v & 0x04 != 0 { pollPending = true }
                if v & 0x40 != 0 { specialMask = v & 0x20 != 0 }
            } else {
                // OCW2
                let l = Int(v & 7)
                switch v >> 5 {
                case 0b001: if let h = highest(isr) { isr &= ~(1 << h) }
                case 0b011: isr &= ~(1 << l)
                case 0b101:
                    if let h = highest(isr) { isr &= ~(1 << h); lowestPriority = UInt8(h) }
                case 0b111: isr &= ~(1 << l); lowestPriority = UInt8(l)
                case 0b100: rotateOnAutoEOI = true
                case 0b000: rotateOnAutoEOI = false
                case 0b110: lowestPriority = UInt8(l)
                default: break      // 010: no operation
                }
            }
        }

        mutating func writeOdd(_ v: UInt8) {
            switch initStep {
            case 2:
                vectorBase = v & 0xF8
                initStep = single ? (expectICW4 ? 4 : 0) : 3
            case 3:
                icw3 = v
                initStep = expectICW4 ? 4 : 0
            case 4:
                autoEOI = v & 0x02 != 0
                specialFullyNested = v & 0x10 != 0
                initStep = 0
            default:
                imr = v
            }
        }

        /// Reads the even (`odd == false`) or odd port.  A pending poll command
        /// makes this read the poll word (and an INTA) whichever port it is.
        mutating func read(odd: Bool, dropFallen: Bool) -> UInt8 {
            if pollPending {
                pollPending = false
                if dropFallen { irr &= inputs }
                guard let l = resolve(irr, cascade: 0) else { return 0 }
                acknowledge(l)
                return 0x80 | UInt8(l)
            }
            if odd { return imr }
            return readISR ? isr : irr
        }
    }

    public private(set) var master = Chip()
    public private(set) var slave = Chip()
    /// QEMU's behaviour instead of the datasheet's: see the file comment.
    public var latchDroppedRequests = false
    private var lines = [IRQLine?](repeating: nil, count: 16)

    public var ports: [ClosedRange<UInt16>] { [0x20...0x21, 0xA0...0xA1] }

    /// With `biosState`, the chips are programmed as the PC BIOS (SeaBIOS, under
    /// QEMU) leaves them for a multiboot kernel: master vectors 0x08–0x0F, slave
    /// 0x70–0x77, cascade on IR2, 8086 mode, edge-triggered, IRQ 0, 1, 2, 6 and 8
    /// unmasked.  Without it, the chips are as at power-up, waiting for ICW1.
    public init(biosState: Bool = true) {
        guard biosState else { return }
        for (port, value) in [(0x20, 0x11), (0x21, 0x08), (0x21, 0x04), (0x21, 0x01), (0x21, 0xB8),
                              (0xA0, 0x11), (0xA1, 0x70), (0xA1, 0x02), (0xA1, 0x01), (0xA1, 0xFE)] {
            writeRegister(UInt16(port), UInt8(value))
        }
    }

    /// The request line for IRQ `n` (0–15) to hand to a device.  IRQ 2 is the
    /// cascade; a device given line 2 is wired to IRQ 9, as on the PC/AT bus.
    public func irqLine(_ n: Int) -> IRQLine {
        precondition((0..<16).contains(n), "IRQ \(n) out of range")
        if let l = lines[n] { return l }
        let line = IRQLine(irq: n) { [weak self] irq, level in self?.setIRQ(irq, level) }
        lines[n] = line
        return line
    }

    func setIRQ(_ n: Int, _ high: Bool) {
        switch n {
        case 2: slave.setInput(1, high)
        case 0..<8: master.setInput(n, high)
        default: slave.setInput(n - 8, high)
        }
        if n >= 8 || n == 2 { updateCascade() }
    }

    /// The slave's INT output drives the master's IR2.
    private func updateCascade() {
        master.setInput(2, slave.resolve(slave.irr, cascade: 0) != nil)
    }

    /// Master inputs that have a slave behind them (only IR2 does).
    private var cascadeMask: UInt8 { master.single ? 0 : master.icw3 & 0x04 }

    // MARK: InterruptSource

    /// The master's INT output.
    public var interruptPending: Bool {
        guard master.irr & ~master.imr != 0 else { return false }
        return master.resolve(master.irr, cascade: cascadeMask) != nil
    }

    /// The INTA cycle.  Returns the vector, or base+7 of the chip that found its
    /// request gone (spurious IRQ 7 / 15; see the file comment).
    public func acknowledgeInterrupt() -> UInt8 {
        if !latchDroppedRequests { master.irr &= master.inputs }
        let cascade = cascadeMask
        guard let l = master.resolve(master.irr, cascade: cascade) else {
            return master.vectorBase | 7
        }
        master.acknowledge(l)
        guard cascade & (1 << l) != 0 else { return master.vectorBase | UInt8(l) }
        if !latchDroppedRequests { slave.irr &= slave.inputs }
        let vector: UInt8
        if let s = slave.resolve(slave.irr, cascade: 0) {
            slave.acknowledge(s)
            vector = slave.vectorBase | UInt8(s)
        } else {
            vector = slave.vectorBase | 7
        }
        // The slave's INT falls during INTA and rises again if it still has a request.
        master.setInput(2, false)
        updateCascade()
        return vector
    }

    // MARK: PortDevice

    public func read(port: UInt16, size: Int) -> UInt32 {
        readBytes(port, size) { readRegister($0) }
    }

    public func write(port: UInt16, size: Int, value: UInt32) {
        writeBytes(port, size, value) { writeRegister($0, $1) }
    }

    func readRegister(_ port: UInt16) -> UInt8 {
        let drop = !latchDroppedRequests
        switch port {
        case 0x20, 0x21: return master.read(odd: port & 1 != 0, dropFallen: drop)
        case 0xA0, 0xA1:
            defer { updateCascade() }
            return slave.read(odd: port & 1 != 0, dropFallen: drop)
        default: return 0xFF
        }
    }

    func writeRegister(_ port: UInt16, _ value: UInt8) {
        switch port {
        case 0x20: master.writeEven(value)
        case 0x21: master.writeOdd(value)
        case 0xA0: slave.writeEven(value); updateCascade()
        case 0xA1: slave.writeOdd(value); updateCascade()
        default: break
        }
    }

    // MARK: Inspection

    /// Register values of both chips, for `info pic`.
    public var state: [String: String] {
        var s: [String: String] = [:]
        for (name, c) in [("master", master), ("slave", slave)] {
            s["\(name).IRR"] = hex2(c.irr)
            s["\(name).ISR"] = hex2(c.isr)
            s["\(name).IMR"] = hex2(c.imr)
            s["\(name).inputs"] = hex2(c.inputs)
            s["\(name).base"] = hex2(c.vectorBase)
            s["\(name).ICW3"] = hex2(c.icw3)
            var modes = [c.levelTriggered ? "level" : "edge"]
            if c.autoEOI { modes.append("auto-EOI") }
            if c.specialMask { modes.append("special-mask") }
            if c.specialFullyNested { modes.append("SFNM") }
            if c.lowestPriority != 7 { modes.append("lowest=\(c.lowestPriority)") }
            if c.initStep != 0 { modes.append("awaiting ICW\(c.initStep)") }
            s["\(name).mode"] = modes.joined(separator: " ")
        }
        s["INT"] = interruptPending ? "high" : "low"
        return s
    }
}
