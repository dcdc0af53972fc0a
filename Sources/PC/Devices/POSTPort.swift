// Port 0x80, the POST diagnostic port.  BIOSes write a progress code there
// that a POST card on the ISA bus shows on two 7-segment digits; operating
// systems write it (Linux's outb_p, "slow down I/O") only to waste about a
// microsecond.  No chip answers it on the bus, so the write changes nothing.
//
// Here a write records the code (the last one and a short history, for
// `info`).  Reads: on many PC chipsets port 0x80 aliases a DMA page register
// and reads back what was written, while QEMU's ioport80 reads 0xFF.  This
// model returns the last byte written, and 0xFF before any write (documented
// choice; no guest should depend on either).  Wider accesses write and read
// the same byte register (the low byte of the value).

/// The POST code port (0x80).
public final class POSTPort: PortDevice {
    public let port: UInt16
    public var ports: [ClosedRange<UInt16>] { [port...port] }

    /// The last code written, or nil before any write.
    public private(set) var lastCode: UInt8?
    /// The most recent codes, oldest first (at most `historyLimit`).
    public private(set) var history: [UInt8] = []
    public let historyLimit = 16

    public init(port: UInt16 = 0x80) { self.port = port }

    public func read(port: UInt16, size: Int) -> UInt32 {
        UInt32(lastCode ?? 0xFF)
    }

    public func write(port: UInt16, size: Int, value: UInt32) {
        let code = UInt8(truncatingIfNeeded: value)
        lastCode = code
        history.append(code)
        if history.count > historyLimit { history.removeFirst(history.count - historyLimit) }
    }

    public var state: [String: String] {
        ["last": lastCode.map(hex2) ?? "-", "history": history.map(hex2).joined(separator: " ")]
    }
}
