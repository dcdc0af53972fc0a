// QEMU's isa-debug-exit device, as `-device isa-debug-exit,iobase=0xf4,iosize=0x04`
// (QEMU hw/misc/debugexit.c): a write of any size to any of its ports ends
// the emulator with exit status (value << 1) | 1, so a guest can report
// success or failure to a test harness — status 1 can never mean "killed by
// the harness", and a guest writing 0 exits with 1.  Reads return 0 (QEMU's
// read handler).
//
// Here the write does not exit the process: it records the status and calls
// `onExit`, and the machine stops the run and maps it to the process status
// (DESIGN.md "How a run ends").  The value is the data written, of the size
// written (OUT DX, AL writes one byte; OUT DX, EAX four); the status is
// computed without overflow, so a 32-bit value gives a status up to 2^33 - 1
// (the host's exit() keeps its low 8 bits, as QEMU's does).

/// isa-debug-exit: a write of v requests exit status (v << 1) | 1.
public final class DebugExit: PortDevice {
    public let base: UInt16
    public let size: UInt16
    public var ports: [ClosedRange<UInt16>] { [base...(base &+ size &- 1)] }

    /// Called with the requested exit status on each write.
    public var onExit: ((Int) -> Void)?
    /// The status requested by the last write, if any.
    public private(set) var requestedStatus: Int?

    public init(base: UInt16 = 0xF4, size: UInt16 = 4, onExit: ((Int) -> Void)? = nil) {
        self.base = base
        self.size = max(1, size)
        self.onExit = onExit
    }

    public func read(port: UInt16, size: Int) -> UInt32 { 0 }

    public func write(port: UInt16, size: Int, value: UInt32) {
        let mask: UInt32 = size >= 4 ? 0xFFFF_FFFF : (1 << (8 * UInt32(max(1, size)))) - 1
        let status = Int(value & mask) << 1 | 1
        requestedStatus = status
        onExit?(status)
    }

    public var state: [String: String] {
        ["base": hex4(base), "size": String(size), "status": requestedStatus.map(String.init) ?? "-"]
    }
}
