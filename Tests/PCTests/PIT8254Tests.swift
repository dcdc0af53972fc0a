// 8254 behaviour a kernel relies on (Intel 8254 datasheet: "Control Word
// Format", "Counter Latch Command", "Read-Back Command", "Status Byte",
// "Mode Definitions", "Read/Write Operations"), on virtual time only.

import Testing
@testable import PC

extension PIT8254 {
    func r(_ port: UInt16) -> UInt8 { UInt8(read(port: port, size: 1)) }
    func w(_ port: UInt16, _ v: UInt8) { write(port: port, size: 1, value: UInt32(v)) }
    /// Writes a 16-bit count LSB then MSB.
    func count(_ port: UInt16, _ n: UInt16) { w(port, UInt8(n & 0xFF)); w(port, UInt8(n >> 8)) }
    /// Reads a 16-bit value LSB then MSB.
    func read16(_ port: UInt16) -> UInt16 { let lo = r(port); return UInt16(r(port)) << 8 | UInt16(lo) }
    /// Brings the PIT to tick `k` exactly.
    func at(tick k: UInt64) { advance(to: PIT8254.nanoseconds(atTick: k)) }
    /// Runs like the machine: from event to event, then to `ns`.
    func run(until ns: UInt64) {
        while let e = nextEvent, e <= ns { advance(to: e) }
        advance(to: ns)
    }
}

private func makePIT() -> (PIT8254, LineProbe) {
    let probe = LineProbe(irq: 0)
    return (PIT8254(irq0: probe.line, biosState: false), probe)
}

private let second: UInt64 = 1_000_000_000

@Suite("PIT 8254")
struct PIT8254Tests {

    @Test("The input clock is 1193182 Hz of virtual time; nanoseconds(atTick:) is the first instant of a tick")
    func clockConversion() {
        #expect(PIT8254.ticks(atNanoseconds: second) == 1_193_182)
        #expect(PIT8254.ticks(atNanoseconds: 3600 * second) == 4_295_455_200)
        for k: UInt64 in [1, 2, 1193, 65_536, 1_193_182, 123_456_789_012] {
            let ns = PIT8254.nanoseconds(atTick: k)
            #expect(PIT8254.ticks(atNanoseconds: ns) == k)
            #expect(PIT8254.ticks(atNanoseconds: ns - 1) == k - 1)
        }
    }

    @Test("Mode 2 (rate generator), count 1193: 1000 IRQ 0 rising edges per virtual second")
    func mode2Rate() {
        let (pit, probe) = makePIT()
        pit.w(0x43, 0x34)              // ch0, lsb/msb, mode 2, binary
        pit.count(0x40, 1193)
        let before = probe.risingEdges
        pit.run(until: second)
        #expect(probe.risingEdges - before == 1000)
        #expect(probe.level)           // OUT is high between the one-clock low pulses
    }

    @Test("Mode 2 waveform: OUT low for one clock when the count reaches 1, rising as N reloads, N+1 ticks after the write")
    func mode2Waveform() {
        let (pit, probe) = makePIT()
        pit.w(0x43, 0x34)
        pit.count(0x40, 100)
        #expect(pit.nextEvent == PIT8254.nanoseconds(atTick: 100))   // falls as the count reaches 1
        pit.at(tick: 99)
        #expect(probe.level)
        pit.at(tick: 100)
        #expect(!probe.level)
        #expect(pit.nextEvent == PIT8254.nanoseconds(atTick: 101))
        pit.at(tick: 101)
        #expect(probe.level)
        #expect(pit.nextEvent == PIT8254.nanoseconds(atTick: 200))
    }

    @Test("Mode 3 (square wave), count 1000: high 500 ticks, low 500; a rising edge every 1000 ticks")
    func mode3SquareWave() {
        let (pit, probe) = makePIT()
        pit.w(0x43, 0x36)              // ch0, lsb/msb, mode 3
        pit.count(0x40, 1000)
        #expect(pit.nextEvent == PIT8254.nanoseconds(atTick: 501))
        pit.at(tick: 500)
        #expect(probe.level)
        pit.at(tick: 501)
        #expect(!probe.level)
        #expect(pit.nextEvent == PIT8254.nanoseconds(atTick: 1001))
        let before = probe.risingEdges
        pit.run(until: PIT8254.nanoseconds(atTick: 1 + 1000 * 50))
        #expect(probe.risingEdges - before == 50)
    }

    @Test("Mode 3 with an odd count 5: high 3 ticks, low 2")
    func mode3OddCount() {
        let (pit, probe) = makePIT()
        pit.w(0x43, 0x36)
        pit.count(0x40, 5)
        pit.at(tick: 3)
        #expect(probe.level)
        pit.at(tick: 4)
        #expect(!probe.level)
        pit.at(tick: 5)
        #expect(!probe.level)
        pit.at(tick: 6)
        #expect(probe.level)
    }

    @Test("Mode 0 (interrupt on terminal count): OUT low after the write, high N+1 ticks later, and stays high")
    func mode0OneShot() {
        let (pit, probe) = makePIT()
        pit.w(0x43, 0x30)              // ch0, lsb/msb, mode 0
        #expect(!probe.level)
        pit.count(0x40, 100)
        #expect(pit.nextEvent == PIT8254.nanoseconds(atTick: 101))
        pit.at(tick: 100)
        #expect(!probe.level)
        pit.at(tick: 101)
        #expect(probe.level)
        #expect(probe.risingEdges == 1)
        #expect(pit.nextEvent == nil)  // one shot
        pit.at(tick: 102)
        #expect(pit.read16(0x40) == 0xFFFF)   // the counter wraps and keeps counting down
        pit.run(until: second)
        #expect(probe.risingEdges == 1)
        #expect(probe.level)
    }

    @Test("Mode 0: writing the LSB of a two-byte count stops counting and sets OUT low; the MSB restarts it")
    func mode0Rewrite() {
        let (pit, probe) = makePIT()
        pit.w(0x43, 0x30)
        pit.count(0x40, 10)
        pit.at(tick: 20)
        #expect(probe.level)
        pit.w(0x40, 50)                // LSB
        #expect(!probe.level)
        pit.at(tick: 30)
        #expect(pit.nextEvent == nil)  // not counting
        pit.w(0x40, 0)                 // MSB: count 50 loads on the next clock
        #expect(pit.nextEvent == PIT8254.nanoseconds(atTick: 81))
    }

    @Test("Count 0 means 65536: mode 2 period of 65536 ticks (18.2 Hz); the counter reads 0 right after loading")
    func countZeroIs65536() {
        let (pit, probe) = makePIT()
        pit.w(0x43, 0x34)
        pit.count(0x40, 0)
        pit.at(tick: 1)
        #expect(pit.read16(0x40) == 0)     // 65536 reads as 0
        pit.at(tick: 2)
        #expect(pit.read16(0x40) == 0xFFFF)
        #expect(pit.nextEvent == PIT8254.nanoseconds(atTick: 65_536))
        let before = probe.risingEdges
        pit.run(until: second)
        #expect(probe.risingEdges - before == 18)   // (1193182 - 1) / 65536
    }

    @Test("Counter reads follow the count: N at the load clock, N - k after k more ticks (mode 2 wraps to N)")
    func liveCount() {
        let (pit, _) = makePIT()
        pit.w(0x43, 0x34)
        pit.count(0x40, 1000)
        pit.at(tick: 1)
        #expect(pit.read16(0x40) == 1000)
        pit.at(tick: 301)
        #expect(pit.read16(0x40) == 700)
        pit.at(tick: 1000)
        #expect(pit.read16(0x40) == 1)
        pit.at(tick: 1001)
        #expect(pit.read16(0x40) == 1000)
    }

    @Test("Counter latch command (RW=00): the value is frozen until read; a second latch before the read is ignored")
    func counterLatch() {
        let (pit, _) = makePIT()
        pit.w(0x43, 0x34)
        pit.count(0x40, 1000)
        pit.at(tick: 301)
        pit.w(0x43, 0x00)              // latch ch0
        pit.at(tick: 501)
        pit.w(0x43, 0x00)              // ignored: still latched
        #expect(pit.read16(0x40) == 700)
        #expect(pit.read16(0x40) == 500)   // live again
    }

    @Test("Access modes: LSB only, MSB only (count = byte × 256), LSB then MSB with a read flip-flop")
    func accessModes() {
        let (pit, _) = makePIT()
        pit.w(0x43, 0x14)              // ch0, LSB only, mode 2
        pit.w(0x40, 200)
        pit.at(tick: 1)
        #expect(pit.channels[0].reload == 200)
        #expect(pit.r(0x40) == 200)
        #expect(pit.r(0x40) == 200)    // every read is the LSB
        pit.w(0x43, 0x24)              // MSB only
        pit.w(0x40, 0x02)
        pit.at(tick: 2)
        #expect(pit.channels[0].reload == 0x200)
        #expect(pit.r(0x40) == 0x02)   // 0x200 - 0 at its load clock: MSB
        pit.w(0x43, 0x34)              // LSB then MSB
        pit.w(0x40, 0x34)
        #expect(pit.channels[0].countWritten == false)   // only half written
        pit.w(0x40, 0x12)
        #expect(pit.channels[0].reload == 0x1234)
        pit.at(tick: 3)
        #expect(pit.r(0x40) == 0x34)
        #expect(pit.r(0x40) == 0x12)
    }

    @Test("Read-back status: OUT, NULL COUNT (1 until the count is loaded), RW, mode, BCD")
    func readBackStatus() {
        let (pit, _) = makePIT()
        pit.w(0x43, 0x34)
        pit.w(0x43, 0xE2)              // read-back: status only, counter 0
        #expect(pit.r(0x40) == 0xF4)   // OUT high, NULL COUNT, RW=11, mode 2
        pit.count(0x40, 100)
        pit.w(0x43, 0xE2)
        #expect(pit.r(0x40) == 0xF4)   // written but not loaded yet
        pit.at(tick: 1)
        pit.w(0x43, 0xE2)
        #expect(pit.r(0x40) == 0xB4)   // loaded
        pit.w(0x43, 0x30)              // mode 0: OUT low
        pit.w(0x43, 0xE2)
        #expect(pit.r(0x40) == 0x70)
    }

    @Test("Read-back of count and status: the status comes first, then the count LSB, MSB; several counters at once")
    func readBackBoth() {
        let (pit, _) = makePIT()
        pit.w(0x43, 0x34); pit.count(0x40, 1000)
        pit.w(0x43, 0xB4); pit.count(0x42, 2000)       // ch2, mode 2
        pit.at(tick: 101)
        pit.w(0x43, 0xCA)              // count + status of counters 0 and 2
        pit.at(tick: 201)
        #expect(pit.r(0x40) == 0xB4)
        #expect(pit.read16(0x40) == 900)
        #expect(pit.r(0x42) == 0xB4)
        #expect(pit.read16(0x42) == 1900)
        #expect(pit.read16(0x40) == 800)   // latches consumed
    }

    @Test("nextEvent is the exact time of OUT0's next transition; advancing to 1 ns before it changes nothing")
    func nextEventExact() {
        let (pit, probe) = makePIT()
        pit.w(0x43, 0x34)
        pit.count(0x40, 11932)         // ≈ 100 Hz
        for _ in 0..<10 {
            guard let e = pit.nextEvent else { Issue.record("no event"); return }
            let level = probe.level
            pit.advance(to: e - 1)
            #expect(probe.level == level)
            pit.advance(to: e)
            #expect(probe.level != level)
        }
    }

    @Test("One advance over an hour costs O(1) and counts the same edges as stepping event by event")
    func longJump() {
        let (pit, probe) = makePIT()
        pit.w(0x43, 0x34)
        pit.count(0x40, 1193)
        let edges0 = pit.irq0Edges
        pit.advance(to: 3600 * second)
        let ticks = PIT8254.ticks(atNanoseconds: 3600 * second)
        #expect(pit.irq0Edges - edges0 == (ticks - 1) / 1193)
        #expect(probe.level == pit.channels[0].out(at: ticks))

        let (stepped, _) = makePIT()
        stepped.w(0x43, 0x34)
        stepped.count(0x40, 1193)
        let stepped0 = stepped.irq0Edges
        stepped.run(until: 10 * second)
        #expect(stepped.irq0Edges - stepped0 == (PIT8254.ticks(atNanoseconds: 10 * second) - 1) / 1193)
    }

    @Test("A new count in mode 2 takes effect at the next reload, not at once")
    func mode2NewCountAtReload() {
        let (pit, _) = makePIT()
        pit.w(0x43, 0x34)
        pit.count(0x40, 1000)
        pit.at(tick: 500)
        pit.count(0x40, 200)
        pit.w(0x43, 0xE2)
        #expect(pit.r(0x40) & 0x40 == 0x40)                            // NULL COUNT until the reload
        #expect(pit.nextEvent == PIT8254.nanoseconds(atTick: 1000))    // the old period ends
        pit.at(tick: 1000)
        #expect(pit.nextEvent == PIT8254.nanoseconds(atTick: 1001))
        pit.at(tick: 1001)
        #expect(pit.read16(0x40) == 200)
        #expect(pit.nextEvent == PIT8254.nanoseconds(atTick: 1200))
        pit.at(tick: 1201)
        #expect(pit.nextEvent == PIT8254.nanoseconds(atTick: 1400))
    }

    @Test("Channel 2 gate on port 0x61 bit 0, OUT2 on bit 5: the mode 0 delay loop kernels use to calibrate")
    func channel2GateAndOut() {
        let (pit, _) = makePIT()
        pit.w(0x61, 0x00)              // gate low
        pit.w(0x43, 0xB0)              // ch2, lsb/msb, mode 0
        pit.count(0x42, 100)
        pit.at(tick: 500)
        #expect(pit.r(0x61) & 0x20 == 0)   // gate low: not counting
        #expect(pit.read16(0x42) == 100)
        pit.w(0x61, 0x01)              // gate high at tick 500
        #expect(pit.r(0x61) & 0x01 == 0x01)
        pit.at(tick: 599)
        #expect(pit.r(0x61) & 0x20 == 0)
        pit.at(tick: 600)
        #expect(pit.r(0x61) & 0x20 == 0x20)
        #expect(pit.nextEvent == nil)  // channel 2 does not schedule IRQs
    }

    @Test("Mode 2 on channel 2: gate low forces OUT high and stops the count; gate high reloads")
    func channel2GateMode2() {
        let (pit, _) = makePIT()
        pit.w(0x61, 0x01)
        pit.w(0x43, 0xB4)
        pit.count(0x42, 100)
        pit.at(tick: 50)
        pit.w(0x61, 0x00)
        #expect(pit.read16(0x42) == 51)
        pit.at(tick: 500)
        #expect(pit.read16(0x42) == 51)    // frozen
        #expect(pit.r(0x61) & 0x20 == 0x20)
        pit.w(0x61, 0x01)
        pit.at(tick: 501)
        #expect(pit.read16(0x42) == 100)   // reloaded
    }

    @Test("BCD counting: count 0x0100 is 100 decimal; values read back in BCD")
    func bcd() {
        let (pit, probe) = makePIT()
        pit.w(0x43, 0x31)              // ch0, lsb/msb, mode 0, BCD
        pit.count(0x40, 0x0100)
        pit.at(tick: 38)
        #expect(pit.read16(0x40) == 0x0063)
        pit.at(tick: 101)
        #expect(probe.level)
        pit.w(0x43, 0x35)              // mode 2, BCD, count 0 = 10000
        pit.count(0x40, 0)
        #expect(pit.nextEvent == PIT8254.nanoseconds(atTick: 101 + 10_000))
    }

    @Test("Mode 4 (software strobe): OUT low for exactly one clock N+1 ticks after the write")
    func mode4Strobe() {
        let (pit, probe) = makePIT()
        pit.w(0x43, 0x38)
        pit.count(0x40, 10)
        let before = probe.risingEdges
        pit.at(tick: 10)
        #expect(probe.level)
        pit.at(tick: 11)
        #expect(!probe.level)
        pit.at(tick: 12)
        #expect(probe.level)
        #expect(probe.risingEdges - before == 1)
        #expect(pit.nextEvent == nil)
    }

    @Test("Mode 1 on channel 0 never starts (its gate is tied high, no trigger edge); on channel 2 a gate edge fires it")
    func mode1Trigger() {
        let (pit, probe) = makePIT()
        pit.w(0x43, 0x32)
        pit.count(0x40, 10)
        pit.at(tick: 100)
        #expect(probe.level)
        #expect(pit.nextEvent == nil)
        pit.w(0x61, 0x00)
        pit.w(0x43, 0xB2)
        pit.count(0x42, 10)
        pit.w(0x61, 0x01)              // trigger at tick 100
        pit.at(tick: 101)
        #expect(pit.r(0x61) & 0x20 == 0)
        pit.at(tick: 111)
        #expect(pit.r(0x61) & 0x20 == 0x20)
    }

    @Test("BIOS state: channel 0 in mode 2 with count 65536 (18.2 Hz), OUT high")
    func biosState() {
        let probe = LineProbe(irq: 0)
        let pit = PIT8254(irq0: probe.line)
        #expect(probe.level)
        #expect(pit.channels[0].mode == 2)
        #expect(pit.nextEvent == PIT8254.nanoseconds(atTick: 65_536))
    }

    @Test("Port 0x61 bit 4 (refresh request) toggles with virtual time; bits 0–3 read back")
    func portB() {
        let (pit, _) = makePIT()
        pit.w(0x61, 0x03)
        #expect(pit.r(0x61) & 0x0F == 0x03)
        let a = pit.r(0x61) & 0x10
        pit.at(tick: 18)
        #expect(pit.r(0x61) & 0x10 != a)
    }

    @Test("state lists each channel")
    func inspection() {
        let (pit, _) = makePIT()
        pit.w(0x43, 0x34)
        pit.count(0x40, 1000)
        #expect(pit.state["ch0.mode"] == "2")
        #expect(pit.state["ch0.reload"] == "1000")
        #expect(pit.state["ch0.out"] == "high")
    }
}
