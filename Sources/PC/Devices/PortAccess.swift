// Byte-wide register files on a port bus.
//
// The PC's legacy devices (8250/16550, 8259A, 8254, 8042) have 8-bit
// registers on an 8-bit data path.  A 16- or 32-bit IN/OUT to one of them is
// carried out by the bus as consecutive byte accesses at port, port+1, ...,
// low byte first (QEMU's 8-bit I/O regions behave the same way).  These two
// helpers let a device describe itself as bytes and still answer any size.

/// Reads `size` bytes starting at `port`, one byte register at a time, low byte first.
@inline(__always)
func readBytes(_ port: UInt16, _ size: Int, _ byte: (UInt16) -> UInt8) -> UInt32 {
    var value: UInt32 = 0
    for i in 0..<max(1, min(size, 4)) {
        value |= UInt32(byte(port &+ UInt16(i))) << (8 * i)
    }
    return value
}

/// Writes `size` bytes of `value` starting at `port`, one byte register at a time, low byte first.
@inline(__always)
func writeBytes(_ port: UInt16, _ size: Int, _ value: UInt32, _ byte: (UInt16, UInt8) -> Void) {
    for i in 0..<max(1, min(size, 4)) {
        byte(port &+ UInt16(i), UInt8(truncatingIfNeeded: value >> (8 * i)))
    }
}

/// Two hex digits, for the `state` tables the `info` commands print.
@inline(__always)
func hex2(_ v: UInt8) -> String {
    let s = String(v, radix: 16, uppercase: false)
    return "0x" + (s.count < 2 ? "0" + s : s)
}

/// Four hex digits.
@inline(__always)
func hex4(_ v: UInt16) -> String {
    let s = String(v, radix: 16, uppercase: false)
    return "0x" + String(repeating: "0", count: max(0, 4 - s.count)) + s
}
