// The contract between the machine and its devices.  Devices see port
// accesses and virtual time, never the CPU; they signal interrupts through
// an `IRQLine` the machine gives them.  All timing is virtual: a device that
// needs to act later says when (`nextEvent`), and the machine advances it.

/// A device that claims I/O ports.
public protocol PortDevice: AnyObject {
    /// The ports it answers, e.g. [0x3F8...0x3FF].
    var ports: [ClosedRange<UInt16>] { get }
    /// A read of `size` bytes (1, 2 or 4) at `port`.
    func read(port: UInt16, size: Int) -> UInt32
    /// A write of `size` bytes at `port`.
    func write(port: UInt16, size: Int, value: UInt32)
}

/// A device whose state changes with time (the PIT, a UART's transmitter).
public protocol Clocked: AnyObject {
    /// Brings the device up to virtual time `now` (nanoseconds since reset).
    func advance(to now: UInt64)
    /// The next virtual time at which the device will change something by
    /// itself (raise an interrupt, finish a transfer), or nil if none.
    var nextEvent: UInt64? { get }
}

/// One interrupt request line into the PIC.  `raise`/`lower` model the
/// signal level; the 8259A in edge-triggered mode latches a rising edge.
public final class IRQLine {
    public let irq: Int
    let sink: (Int, Bool) -> Void
    public private(set) var level = false
    public init(irq: Int, sink: @escaping (Int, Bool) -> Void) { self.irq = irq; self.sink = sink }
    public func set(_ high: Bool) {
        guard high != level else { return }
        level = high
        sink(irq, high)
    }
    public func raise() { set(true) }
    public func lower() { set(false) }
    /// A rising then falling edge.  Note that an 8259A in edge mode discards a
    /// request whose line is low again at the acknowledge (a spurious IRQ 7),
    /// so real interrupt sources hold the line high until then.
    public func pulse() { set(true); set(false) }
}

/// The virtual clock (DESIGN.md "Deterministic"): time advances only with
/// retired instructions.  The virtual CPU retires one instruction every
/// `nsPerInstruction` nanoseconds; the default, 10 ns, is a 100 MHz CPU.
public struct VirtualClock: Sendable {
    public var nsPerInstruction: UInt64
    public init(nsPerInstruction: UInt64 = 10) { self.nsPerInstruction = max(1, nsPerInstruction) }
    /// Nanoseconds of virtual time after `instructions` retired instructions.
    public func nanoseconds(_ instructions: UInt64) -> UInt64 { instructions &* nsPerInstruction }
    /// The number of retired instructions at which virtual time reaches `ns`.
    public func instructions(atNanoseconds ns: UInt64) -> UInt64 {
        (ns + nsPerInstruction - 1) / nsPerInstruction
    }
}
