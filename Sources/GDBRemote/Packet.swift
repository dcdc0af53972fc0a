// The gdb remote serial protocol's framing (gdb manual, Appendix E.1
// "Overview"): a packet is `$` payload `#` and two hex digits, the payload's
// byte sum modulo 256.  Inside the payload `}` escapes the next byte (sent
// XOR 0x20) and `*` run-length encodes a repeat of the previous byte; gdb
// never sends run lengths to a stub, but the decoder tolerates them.  Outside
// packets, `+` and `-` acknowledge, and a lone 0x03 byte is an interrupt
// (Ctrl-C).  Everything here is pure: bytes in, bytes or events out.

/// Hex text as the protocol spells it: lower-case digits, two per byte.
public enum GDBHex {
    static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    /// The value of one hex digit, or nil.
    @inline(__always) public static func value(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// Two hex digits per byte.
    public static func encode<S: Sequence>(_ bytes: S) -> [UInt8] where S.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
        return out
    }

    public static func encode(_ text: String) -> [UInt8] { encode(Array(text.utf8)) }

    /// Bytes from hex text; nil for an odd length or a non-hex character.
    public static func decode<C: Collection>(_ text: C) -> [UInt8]? where C.Element == UInt8 {
        guard text.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(text.count / 2)
        var i = text.startIndex
        while i != text.endIndex {
            let j = text.index(after: i)
            guard let hi = value(text[i]), let lo = value(text[j]) else { return nil }
            out.append(hi << 4 | lo)
            i = text.index(after: j)
        }
        return out
    }

    /// A big-endian hex number as gdb writes addresses, lengths and register
    /// numbers (`1000f`); nil when empty, not hex, or wider than 32 bits.
    public static func number<C: Collection>(_ text: C) -> UInt32? where C.Element == UInt8 {
        guard !text.isEmpty else { return nil }
        var v: UInt64 = 0
        for c in text {
            guard let d = value(c) else { return nil }
            v = v << 4 | UInt64(d)
            guard v <= 0xFFFF_FFFF else { return nil }
        }
        return UInt32(v)
    }

    /// A 32-bit value in target (little-endian) byte order: `2a000000` for 42.
    public static func littleEndian32(_ v: UInt32) -> [UInt8] {
        encode((0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * UInt32($0))) })
    }

    /// Parses exactly eight hex digits in target byte order.
    public static func parseLittleEndian32<C: Collection>(_ text: C) -> UInt32? where C.Element == UInt8 {
        guard text.count == 8, let bytes = decode(text) else { return nil }
        return bytes.enumerated().reduce(0) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
    }

    /// Two hex digits for a byte (stop replies: `T05`, `W21`).
    public static func byte(_ b: UInt8) -> String { String(decoding: encode([b]), as: UTF8.self) }
}

/// Framing: checksums, escaping, the packet envelope.
public enum GDBPacket {
    public static let escapeByte = UInt8(ascii: "}")
    /// Bytes that must be escaped inside a payload.
    static let special: Set<UInt8> = [UInt8(ascii: "$"), UInt8(ascii: "#"), UInt8(ascii: "}"), UInt8(ascii: "*")]

    /// The modulo-256 sum of the bytes between `$` and `#`.
    public static func checksum<S: Sequence>(_ bytes: S) -> UInt8 where S.Element == UInt8 {
        bytes.reduce(0) { $0 &+ $1 }
    }

    /// Escapes `$ # } *` as `}` followed by the byte XOR 0x20.
    public static func escape(_ payload: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(payload.count)
        for b in payload {
            if special.contains(b) { out.append(escapeByte); out.append(b ^ 0x20) } else { out.append(b) }
        }
        return out
    }

    /// The complete packet on the wire: `$`, the escaped payload, `#`, checksum.
    public static func frame(_ payload: [UInt8]) -> [UInt8] {
        let body = escape(payload)
        return [UInt8(ascii: "$")] + body + [UInt8(ascii: "#")] + GDBHex.encode([checksum(body)])
    }

    public static func frame(_ payload: String) -> [UInt8] { frame(Array(payload.utf8)) }

    /// Undoes escaping and run-length encoding of a received body (the bytes
    /// the checksum covered).  nil when the body ends inside an escape, or a
    /// run length has no byte to repeat or an impossible count.
    public static func unframe<C: Collection>(_ body: C) -> [UInt8]? where C.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity(body.count)
        var i = body.startIndex
        while i != body.endIndex {
            let b = body[i]
            i = body.index(after: i)
            if b == escapeByte {
                guard i != body.endIndex else { return nil }
                out.append(body[i] ^ 0x20)
                i = body.index(after: i)
            } else if b == UInt8(ascii: "*") {
                // `X*n`: X repeated n - 29 more times (n is printable, 32..126).
                guard let last = out.last, i != body.endIndex else { return nil }
                let n = Int(body[i]) - 29
                guard n >= 3, n <= 97 else { return nil }
                out.append(contentsOf: repeatElement(last, count: n))
                i = body.index(after: i)
            } else {
                out.append(b)
            }
        }
        return out
    }
}

/// What arrives on the connection, one event at a time.
public enum GDBEvent: Equatable, Sendable {
    /// A well-formed packet's payload (unescaped, run lengths expanded).
    case packet([UInt8])
    /// A packet whose checksum matched but whose body could not be decoded.
    case malformed
    /// A packet whose checksum did not match (or was not hex): answer `-`.
    case badChecksum
    /// `+` and `-` from the other side.
    case ack, nack
    /// 0x03 outside a packet: stop the running guest.
    case interrupt
}

/// Turns a byte stream into events.  Feed it whatever `recv` returned; it
/// keeps partial packets between calls.  Bytes outside packets other than
/// `+ - 0x03` are ignored, so line noise cannot wedge it; a `$` inside a
/// packet starts over (the sender gave up on the first one).
public struct GDBPacketReader: Sendable {
    /// Longest body accepted; anything longer is dropped as a bad packet.
    public var maxBody: Int

    private enum State: Sendable { case idle, body, check1, check2 }
    private var state = State.idle
    private var body: [UInt8] = []
    private var check: UInt8 = 0
    private var checkValid = true
    private var overflow = false

    public init(maxBody: Int = 0x20000) { self.maxBody = maxBody }

    /// True while a packet has started but not ended.
    public var inPacket: Bool { state != .idle }

    public mutating func feed<S: Sequence>(_ bytes: S) -> [GDBEvent] where S.Element == UInt8 {
        var events: [GDBEvent] = []
        for b in bytes { if let e = feed(byte: b) { events.append(e) } }
        return events
    }

    public mutating func feed(byte b: UInt8) -> GDBEvent? {
        switch state {
        case .idle:
            switch b {
            case UInt8(ascii: "$"): startBody()
            case UInt8(ascii: "+"): return .ack
            case UInt8(ascii: "-"): return .nack
            case 0x03: return .interrupt
            default: break
            }
        case .body:
            if b == UInt8(ascii: "#") {
                state = .check1
            } else if b == UInt8(ascii: "$") {
                startBody()
            } else if body.count < maxBody {
                body.append(b)
            } else {
                overflow = true
            }
        case .check1:
            if let d = GDBHex.value(b) { check = d << 4 } else { checkValid = false }
            state = .check2
        case .check2:
            if let d = GDBHex.value(b) { check |= d } else { checkValid = false }
            state = .idle
            defer { body = [] }
            guard checkValid, !overflow, check == GDBPacket.checksum(body) else { return .badChecksum }
            guard let payload = GDBPacket.unframe(body) else { return .malformed }
            return .packet(payload)
        }
        return nil
    }

    private mutating func startBody() {
        state = .body
        body = []
        check = 0
        checkValid = true
        overflow = false
    }
}
