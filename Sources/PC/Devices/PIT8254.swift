// The 8254 programmable interval timer (Intel 8254 datasheet, order no.
// 231164) at ports 0x40–0x43, plus the PC's system control port B (0x61)
// for channel 2's gate.  The input clock is the PC's 1.193182 MHz
// (14.31818 MHz / 12), derived here from virtual nanoseconds:
// tick(t) = floor(t · 1193182 / 10⁹).
//
// Control word at 0x43 (datasheet "Control Word Format"):
//   SC1 SC0 RW1 RW0 M2 M1 M0 BCD
//   SC = 0–2 selects a counter, 3 is the read-back command;
//   RW = 00 counter latch command, 01 LSB only, 10 MSB only, 11 LSB then MSB;
//   M  = mode 0–5 (110 and 111 are modes 2 and 3); BCD = count in decimal.
// Writing a control word resets the counter's logic: the mode is set, OUT
// takes its initial state (low in mode 0, high otherwise), the count is
// undefined until written, NULL COUNT reads 1.
//
// Counter latch (RW = 00): the count is frozen in the output latch until
// read; a second latch before the read is ignored.  Read-back (0xC0 | …,
// datasheet "Read-Back Command"): bit 5 = 0 latches the count and bit 4 = 0
// the status of each counter whose bit (1 = counter 0, 2 = 1, 3 = 2) is set;
// with both latched, the first read returns the status.  Status byte:
// OUT, NULL COUNT, RW1 RW0, M2 M1 M0, BCD.  With RW = 11 reads and writes go
// LSB then MSB, each with its own flip-flop.
//
// Modes (datasheet "Mode Definitions"), for a count N (0 means 65536, or
// 10000 in BCD).  A count is loaded into the counting element on the clock
// after it is written, so the first period is N + 1 ticks after the write.
//   0  interrupt on terminal count: OUT low, goes high when the count reaches
//      0 and stays high; the counter wraps and keeps counting.  Writing the
//      LSB of a two-byte count stops counting (OUT low); the MSB restarts it.
//      Gate low pauses counting.
//   2  rate generator: OUT high, low for one clock when the count reaches 1,
//      then high as N is reloaded — a rising edge every N ticks.
//   3  square wave: OUT high for ⌈N/2⌉ ticks, low for ⌊N/2⌋; counts by two.
//      In modes 2 and 3 gate low forces OUT high and stops counting; gate
//      high reloads.  A new count written while counting takes effect at the
//      next reload.
//   1  hardware-retriggerable one-shot, 5 hardware-triggered strobe: start on
//      a rising gate edge (only channel 2's gate moves on a PC, so on
//      channels 0 and 1 they never start).  4 software-triggered strobe: OUT
//      low for one clock N ticks after the load.  Modes 1, 4, 5 are modelled
//      from the datasheet but approximately (the exact clock of a trigger
//      relative to the gate, and mode 4's gate are simplified).
// Approximations, documented: in mode 3 a new count takes effect at the end
// of the current full period (not half-cycle); counter values read in mode
// 3 with an odd count follow the datasheet's decrement pattern only
// roughly; count 1 in modes 2 and 3 (illegal per the datasheet) produces no
// edges.  BCD counting is supported (count modulus 10000, values read back
// in BCD).  A count resumed after gate low restarts on the same clock.
//
// Channel 0's OUT drives IRQ 0 as a level: the PIC latches its rising edges
// (each reload in mode 2, each period in mode 3, terminal count in mode 0),
// and the line stays high while OUT does, as the 8259A's edge mode requires.
// `advance(to:)` finds OUT's transitions in closed form, one step per edge,
// and skips whole periods when a call spans many (the PIC keeps one request
// per line anyway), so a jump over hours costs O(1).  `nextEvent` is the time
// of OUT0's next transition (either edge).  Port reads and writes act at the
// time of the last `advance(to:)`: the machine brings the PIT up to date
// before a port access.
//
// Port 0x61 (PC/AT system control port B): bit 0 = channel 2 gate, bit 1 =
// speaker data enable, bits 2–3 stored; reads add bit 4 (refresh request,
// toggling every 18 ticks ≈ 15 µs) and bit 5 (channel 2 OUT).

/// The 8254 PIT.  Give it IRQ 0 from the PIC.
public final class PIT8254: PortDevice, Clocked {
    /// The PIT input clock of a PC, Hz.
    public static let inputHz: UInt64 = 1_193_182

    /// The tick count (PIT input clocks) at virtual time `ns`.
    public static func ticks(atNanoseconds ns: UInt64) -> UInt64 {
        let (hi, lo) = ns.multipliedFullWidth(by: inputHz)
        return UInt64(1_000_000_000).dividingFullWidth((hi, lo)).quotient
    }

    /// The first virtual nanosecond at which the tick count reaches `tick`.
    public static func nanoseconds(atTick tick: UInt64) -> UInt64 {
        let (hi, lo) = tick.multipliedFullWidth(by: 1_000_000_000)
        let (q, r) = inputHz.dividingFullWidth((hi, lo))
        return r == 0 ? q : q + 1
    }

    /// One counter.
    public struct Channel: Equatable, Sendable {
        /// The mode, 0–5 (6 and 7 are stored as 2 and 3).
        public internal(set) var mode: UInt8 = 0
        /// M2 M1 M0 as written (for the status byte).
        public internal(set) var modeBits: UInt8 = 0
        /// RW: 1 = LSB, 2 = MSB, 3 = LSB then MSB.
        public internal(set) var access: UInt8 = 3
        public internal(set) var bcd = false
        /// The count register N, 1…65536 (1…10000 in BCD).
        public internal(set) var reload: UInt32 = 65_536
        public internal(set) var gate = true
        /// Whether a count has been written since the control word.
        public internal(set) var countWritten = false

        // The counting element is a closed form of the tick: from tick `start`
        // it holds `initial` (modes 0, 1, 4, 5) or runs periods of `reload`.
        var start: UInt64? = nil
        var initial: UInt32 = 0
        /// Mode 0/1: terminal count already passed; mode 4/5: strobe already given.
        var done = false
        /// The count and OUT while not counting (or before `start`).
        var frozenCE: UInt32 = 0
        var frozenOut = false
        /// A count written while counting in mode 2/3, loaded at tick `pendingAt`.
        var pendingCount: UInt32? = nil
        var pendingAt: UInt64 = 0
        /// NULL COUNT reads 1 before this tick.
        var loadTick: UInt64 = .max
        var writeHiNext = false
        var lowByte: UInt8 = 0
        var readHiNext = false
        var latchedCount: UInt16? = nil
        var latchedStatus: UInt8? = nil

        var modulus: UInt64 { bcd ? 10_000 : 65_536 }

        /// The counting element at tick `t` (0…modulus-1; 0 stands for the full count).
        func ce(at t: UInt64) -> UInt32 {
            guard let s = start, t >= s else { return frozenCE }
            let d = t - s, n = UInt64(reload), m = modulus
            switch mode {
            case 2:
                return UInt32((n - d % n) % m)
            case 3:
                let p = d % n, h = n - n / 2
                if n % 2 == 0 { return UInt32((n - 2 * (p < h ? p : p - h)) % m) }
                if p < h { return UInt32(n - 1 - 2 * p) }
                return UInt32(n >= 3 ? n - 3 - 2 * (p - h) : 0)
            default:
                return UInt32((UInt64(initial) % m + m - d % m) % m)
            }
        }

        /// OUT at tick `t`, ignoring a pending count.
        func out(at t: UInt64) -> Bool {
            guard let s = start, t >= s else { return frozenOut }
            let d = t - s, n = UInt64(reload)
            switch mode {
            case 0, 1: return done || d >= UInt64(initial)
            case 2: return n < 2 || d % n != n - 1
            case 3: return n < 2 || d % n < n - n / 2
            default: return done || d != UInt64(initial)
            }
        }

        /// The first tick after `t` at which OUT changes, ignoring a pending count.
        func nextChangeIgnoringPending(after t: UInt64) -> UInt64? {
            guard let s = start else { return nil }
            if t < s {
                if out(at: s) != frozenOut { return s }
                return change(after: s, start: s)
            }
            return change(after: t, start: s)
        }

        private func change(after t: UInt64, start s: UInt64) -> UInt64? {
            let d = t - s, n = UInt64(reload), i = UInt64(initial)
            switch mode {
            case 0, 1:
                return done || d >= i ? nil : s + i
            case 2:
                guard n >= 2 else { return nil }
                let p = d % n
                return p < n - 1 ? t + (n - 1 - p) : t + 1
            case 3:
                guard n >= 2 else { return nil }
                let h = n - n / 2, p = d % n
                return p < h ? t + (h - p) : t + (n - p)
            default:
                if done || d > i { return nil }
                return d < i ? s + i : t + 1
            }
        }

        /// The first tick after `t` at which OUT changes.
        func nextChange(after t: UInt64) -> UInt64? {
            let k = nextChangeIgnoringPending(after: t)
            guard pendingCount != nil, pendingAt > t else { return k }
            if let k, k < pendingAt { return k }
            let before = out(at: pendingAt - 1)
            var c = self
            c.promote()
            if c.out(at: pendingAt) != before { return pendingAt }
            return c.nextChangeIgnoringPending(after: pendingAt)
        }

        /// Loads the pending count at its reload tick.
        mutating func promote() {
            guard let p = pendingCount else { return }
            reload = p
            initial = p
            start = pendingAt
            pendingCount = nil
        }

        /// Brings a pending count in if its reload tick has come.
        mutating func normalize(_ t: UInt64) {
            if pendingCount != nil && t >= pendingAt { promote() }
        }

        func status(at t: UInt64) -> UInt8 {
            (out(at: t) ? 0x80 : 0) | (t < loadTick ? 0x40 : 0) | access << 4 | modeBits << 1 | (bcd ? 1 : 0)
        }

        func encoded(_ v: UInt32) -> UInt16 {
            guard bcd else { return UInt16(truncatingIfNeeded: v) }
            let x = v % 10_000
            return UInt16(x / 1000 << 12 | (x / 100 % 10) << 8 | (x / 10 % 10) << 4 | x % 10)
        }

        func decoded(_ raw: UInt32) -> UInt32 {
            guard bcd else { return raw }
            return ((raw >> 12 & 0xF) * 1000 + (raw >> 8 & 0xF) * 100 + (raw >> 4 & 0xF) * 10 + (raw & 0xF)) % 10_000
        }

        mutating func control(_ v: UInt8, at t: UInt64) {
            normalize(t)
            let current = ce(at: t)
            let m = (v >> 1) & 7
            mode = m > 5 ? m - 4 : m
            modeBits = m
            access = (v >> 4) & 3
            bcd = v & 1 != 0
            start = nil
            frozenCE = current
            frozenOut = mode != 0
            done = false
            pendingCount = nil
            loadTick = .max
            countWritten = false
            writeHiNext = false
            readHiNext = false
            latchedCount = nil
            latchedStatus = nil
        }

        mutating func latchCount(at t: UInt64) {
            normalize(t)
            if latchedCount == nil { latchedCount = encoded(ce(at: t)) }
        }

        mutating func latchStatus(at t: UInt64) {
            normalize(t)
            if latchedStatus == nil { latchedStatus = status(at: t) }
        }

        mutating func readByte(at t: UInt64) -> UInt8 {
            if let s = latchedStatus {
                latchedStatus = nil
                return s
            }
            normalize(t)
            let v = latchedCount ?? encoded(ce(at: t))
            let lo = UInt8(v & 0xFF), hi = UInt8(v >> 8)
            switch access {
            case 1: latchedCount = nil; return lo
            case 2: latchedCount = nil; return hi
            default:
                if !readHiNext { readHiNext = true; return lo }
                readHiNext = false
                latchedCount = nil
                return hi
            }
        }

        mutating func writeByte(_ b: UInt8, at t: UInt64) {
            switch access {
            case 1: load(UInt32(b), at: t)
            case 2: load(UInt32(b) << 8, at: t)
            case 3:
                if !writeHiNext {
                    writeHiNext = true
                    lowByte = b
                    if mode == 0 {
                        // Writing the first byte stops counting and sets OUT low.
                        normalize(t)
                        frozenCE = ce(at: t)
                        frozenOut = false
                        start = nil
                        done = false
                    }
                } else {
                    writeHiNext = false
                    load(UInt32(b) << 8 | UInt32(lowByte), at: t)
                }
            default: break      // RW = 00 never reaches here
            }
        }

        /// A complete count was written at tick `t`.
        mutating func load(_ raw: UInt32, at t: UInt64) {
            normalize(t)
            let value = decoded(raw)
            let n = value == 0 ? UInt32(modulus) : value
            countWritten = true
            switch mode {
            case 0, 4:
                frozenCE = ce(at: t)
                frozenOut = mode == 4
                reload = n
                initial = n
                done = false
                pendingCount = nil
                loadTick = t + 1
                if gate { start = t + 1 } else { start = nil; frozenCE = n }
            case 1, 5:
                reload = n      // used at the next trigger
            default:
                if let s = start, t >= s {
                    let old = UInt64(reload)
                    pendingCount = n
                    pendingAt = s + old * ((t - s) / old + 1)
                    loadTick = pendingAt
                } else {
                    reload = n
                    initial = n
                    frozenOut = true
                    if gate {
                        frozenCE = ce(at: t)
                        start = t + 1
                        loadTick = t + 1
                    }
                }
            }
        }

        mutating func setGate(_ high: Bool, at t: UInt64) {
            normalize(t)
            guard high != gate else { return }
            gate = high
            switch mode {
            case 0, 4:
                if !high {
                    if let s = start {
                        if t >= s {
                            let o = out(at: t)
                            done = done || (mode == 0 ? o : t - s > UInt64(initial))
                            frozenCE = ce(at: t)
                            frozenOut = o
                        } else {
                            frozenCE = initial
                        }
                        start = nil
                    }
                } else if countWritten && start == nil {
                    initial = frozenCE
                    start = t
                }
            case 2, 3:
                if !high {
                    frozenCE = ce(at: t)
                    frozenOut = true
                    start = nil
                } else if countWritten {
                    if let p = pendingCount { reload = p; pendingCount = nil }
                    initial = reload
                    start = t + 1
                    loadTick = min(loadTick, t + 1)
                }
            default:
                if high && countWritten {
                    frozenOut = out(at: t)
                    frozenCE = ce(at: t)
                    initial = reload
                    start = t + 1
                    done = false
                    loadTick = t + 1
                }
            }
        }
    }

    public private(set) var channels = [Channel](repeating: Channel(), count: 3)
    /// Rising edges of OUT0 (IRQ 0 requests) since reset.
    public private(set) var irq0Edges: UInt64 = 0
    /// The current tick (as of the last `advance(to:)`).
    public private(set) var tick: UInt64 = 0

    let irq0: IRQLine?
    private var nowNS: UInt64 = 0
    private var portB: UInt8 = 0
    private var out0 = false

    public var ports: [ClosedRange<UInt16>] { [0x40...0x43, 0x61...0x61] }

    /// With `biosState`, channel 0 runs as the PC BIOS leaves it (mode 2, count
    /// 65536: 18.2 Hz, started at time 0) and channel 1 as the DRAM refresh
    /// timer (mode 2, count 18).  Without it, every channel waits in mode 0 for
    /// a count, OUT low.
    public init(irq0: IRQLine?, biosState: Bool = true) {
        self.irq0 = irq0
        if biosState {
            for (port, value) in [(0x43, 0x34), (0x40, 0x00), (0x40, 0x00), (0x43, 0x54), (0x41, 18)] {
                writeRegister(UInt16(port), UInt8(value))
            }
        }
        sync()
    }

    // MARK: Clocked

    public func advance(to now: UInt64) {
        guard now > nowNS else { return }
        nowNS = now
        let target = Self.ticks(atNanoseconds: now)
        guard target > tick else { return }
        var c = channels[0]
        var t = tick
        while true {
            var limit = target
            if c.pendingCount != nil && c.pendingAt <= target { limit = c.pendingAt - 1 }
            emitEdges(&c, after: t, through: limit)
            if limit == target { break }
            c.promote()
            t = limit + 1
            drive(c.out(at: t))
        }
        channels[0] = c
        channels[1].normalize(target)
        channels[2].normalize(target)
        tick = target
    }

    /// Drives IRQ 0 through OUT0's transitions in (t, end].
    private func emitEdges(_ c: inout Channel, after t: UInt64, through end: UInt64) {
        var t = t
        while let next = c.nextChangeIgnoringPending(after: t), next <= end {
            var k = next
            if c.mode == 2 || c.mode == 3, let s = c.start, k >= s {
                let n = UInt64(c.reload)
                if end - k >= 2 * n {
                    // Whole periods the PIC cannot tell apart: one rising edge each.
                    let periods = (end - k) / n - 1
                    irq0Edges &+= periods
                    k += periods * n
                }
            }
            drive(c.out(at: k))
            t = k
        }
    }

    public var nextEvent: UInt64? {
        guard irq0 != nil, let k = channels[0].nextChange(after: tick) else { return nil }
        return Self.nanoseconds(atTick: k)
    }

    private func drive(_ level: Bool) {
        guard level != out0 else { return }
        out0 = level
        if level { irq0Edges &+= 1 }
        irq0?.set(level)
    }

    private func sync() { drive(channels[0].out(at: tick)) }

    // MARK: PortDevice

    public func read(port: UInt16, size: Int) -> UInt32 {
        readBytes(port, size) { readRegister($0) }
    }

    public func write(port: UInt16, size: Int, value: UInt32) {
        writeBytes(port, size, value) { writeRegister($0, $1) }
    }

    func readRegister(_ port: UInt16) -> UInt8 {
        switch port {
        case 0x40...0x42:
            return channels[Int(port - 0x40)].readByte(at: tick)
        case 0x61:
            let refresh: UInt8 = (tick / 18) & 1 != 0 ? 0x10 : 0
            return portB | refresh | (channels[2].out(at: tick) ? 0x20 : 0)
        default:
            return 0xFF     // the control word register cannot be read
        }
    }

    func writeRegister(_ port: UInt16, _ value: UInt8) {
        switch port {
        case 0x40...0x42:
            channels[Int(port - 0x40)].writeByte(value, at: tick)
        case 0x43:
            let sc = Int(value >> 6)
            if sc == 3 {
                for i in 0..<3 where value & (2 << i) != 0 {
                    if value & 0x20 == 0 { channels[i].latchCount(at: tick) }
                    if value & 0x10 == 0 { channels[i].latchStatus(at: tick) }
                }
            } else if value & 0x30 == 0 {
                channels[sc].latchCount(at: tick)
            } else {
                channels[sc].control(value, at: tick)
            }
        case 0x61:
            portB = value & 0x0F
            channels[2].setGate(value & 1 != 0, at: tick)
        default:
            break
        }
        sync()
    }

    /// Sets a channel's gate (channel 2's is port 0x61 bit 0; 0 and 1 are tied high on a PC).
    public func setGate(channel: Int, _ high: Bool) {
        channels[channel].setGate(high, at: tick)
        sync()
    }

    // MARK: Inspection

    /// Each channel's mode, count and OUT, for `info pit`.
    public var state: [String: String] {
        var s: [String: String] = ["tick": String(tick), "irq0Edges": String(irq0Edges)]
        for (i, c) in channels.enumerated() {
            s["ch\(i).mode"] = String(c.mode)
            s["ch\(i).access"] = ["latch", "lsb", "msb", "lsb/msb"][Int(c.access)]
            s["ch\(i).bcd"] = c.bcd ? "yes" : "no"
            s["ch\(i).reload"] = c.countWritten ? String(c.reload) : "-"
            s["ch\(i).count"] = String(c.ce(at: tick))
            s["ch\(i).out"] = c.out(at: tick) ? "high" : "low"
            s["ch\(i).gate"] = c.gate ? "high" : "low"
        }
        return s
    }
}
