// The 8042 keyboard controller, only as far as a kernel needs it without a
// keyboard (IBM PC/AT Technical Reference, "Keyboard Controller"; the Intel
// 8042 is a microcontroller whose firmware defines these):
//
//   0x64 read   status register: bit 0 OBF (output buffer full: data for the
//               CPU at 0x60), bit 1 IBF (input buffer full: the controller has
//               not taken the last byte yet), bit 2 SYS (system flag, set after
//               a successful self-test), bit 3 A2 (the last write went to 0x64,
//               a command, rather than 0x60), bit 4 INH (1 = keyboard not
//               inhibited), bits 5–7 (mouse data, timeout, parity) 0.
//   0x64 write  command; 0xFE pulses the CPU reset line (bit 0 of the output
//               port) — the classic way to reboot a PC.
//   0x60        data; no keyboard is attached, so reads return 0.
//
// The status therefore always shows both buffers empty (OBF = IBF = 0),
// SYS = 1 and not inhibited: 0x14, or 0x1C after a command write — a driver
// that polls "wait until IBF = 0" before writing never waits.  Commands other
// than 0xFE, and data writes, are accepted and ignored (no A20 gate, no
// command byte).

/// A minimal 8042: the status port and the reset command.
public final class KeyboardController: PortDevice {
    public var ports: [ClosedRange<UInt16>] { [0x60...0x60, 0x64...0x64] }

    /// Called when the guest writes 0xFE to port 0x64 (pulse reset).
    public var onReset: (() -> Void)?
    /// Resets requested so far.
    public private(set) var resetRequests = 0
    private var lastWriteWasCommand = true

    public init(onReset: (() -> Void)? = nil) { self.onReset = onReset }

    public func read(port: UInt16, size: Int) -> UInt32 {
        switch port {
        case 0x64: return 0x14 | (lastWriteWasCommand ? 0x08 : 0)
        default: return 0
        }
    }

    public func write(port: UInt16, size: Int, value: UInt32) {
        switch port {
        case 0x64:
            lastWriteWasCommand = true
            if UInt8(truncatingIfNeeded: value) == 0xFE {
                resetRequests += 1
                onReset?()
            }
        case 0x60:
            lastWriteWasCommand = false
        default:
            break
        }
    }

    public var state: [String: String] {
        ["status": hex2(UInt8(read(port: 0x64, size: 1))), "resets": String(resetRequests)]
    }
}
