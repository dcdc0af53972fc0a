// The packet codec (gdb manual E.1): checksums, escaping, run lengths, hex,
// and a reader that survives every malformed input.

import Testing
@testable import GDBRemote

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }
func text(_ b: [UInt8]) -> String { String(decoding: b, as: UTF8.self) }

@Suite struct ChecksumAndFraming {
    @Test func checksumIsTheByteSumModulo256() {
        #expect(GDBPacket.checksum(bytes("")) == 0)
        #expect(GDBPacket.checksum(bytes("OK")) == 0x9A)
        #expect(GDBPacket.checksum(bytes("g")) == 0x67)
        #expect(GDBPacket.checksum([UInt8](repeating: 0xFF, count: 3)) == 0xFD)
    }

    @Test func framesAsGdbWritesThem() {
        #expect(text(GDBPacket.frame("OK")) == "$OK#9a")
        #expect(text(GDBPacket.frame("")) == "$#00")
        #expect(text(GDBPacket.frame("qSupported")) == "$qSupported#37")
    }

    @Test func escapesTheFourSpecialBytes() {
        let payload: [UInt8] = [0x41, 0x24, 0x23, 0x7D, 0x2A, 0x42]  // A $ # } * B
        let escaped = GDBPacket.escape(payload)
        #expect(escaped == [0x41, 0x7D, 0x04, 0x7D, 0x03, 0x7D, 0x5D, 0x7D, 0x0A, 0x42])
        let framed = GDBPacket.frame(payload)
        // The checksum covers the escaped bytes.
        #expect(framed.suffix(2) == ArraySlice(GDBHex.encode([GDBPacket.checksum(escaped)])))
        #expect(GDBPacket.unframe(escaped) == payload)
    }

    @Test func everyByteRoundTrips() {
        let all = (0...255).map { UInt8($0) }
        var reader = GDBPacketReader()
        #expect(reader.feed(GDBPacket.frame(all)) == [.packet(all)])
    }

    @Test func runLengthsExpand() {
        // "0* " = '0' and 32 - 29 = 3 more.
        #expect(GDBPacket.unframe(bytes("0* ")) == bytes("0000"))
        #expect(GDBPacket.unframe(bytes("ab*\"c")) == bytes("abbbbbbc"))   // '"' = 34: 5 more
        #expect(GDBPacket.unframe(bytes("*!")) == nil)     // nothing to repeat
        #expect(GDBPacket.unframe(bytes("a*")) == nil)     // no count
        #expect(GDBPacket.unframe(bytes("a}")) == nil)     // escape at the end
        #expect(GDBPacket.unframe(bytes("a*\u{1}")) == nil) // count below 3
    }
}

@Suite struct HexCoding {
    @Test func encodesLowerCase() {
        #expect(text(GDBHex.encode([0x00, 0xAB, 0x7F])) == "00ab7f")
        #expect(text(GDBHex.encode("OK\n")) == "4f4b0a")
    }

    @Test func decodesEitherCase() {
        #expect(GDBHex.decode(bytes("00aBFf")) == [0x00, 0xAB, 0xFF])
        #expect(GDBHex.decode(bytes("")) == [])
        #expect(GDBHex.decode(bytes("abc")) == nil)
        #expect(GDBHex.decode(bytes("zz")) == nil)
    }

    @Test func numbers() {
        #expect(GDBHex.number(bytes("1000f")) == 0x1000F)
        #expect(GDBHex.number(bytes("FFFFFFFF")) == 0xFFFF_FFFF)
        #expect(GDBHex.number(bytes("100000000")) == nil)
        #expect(GDBHex.number(bytes("")) == nil)
        #expect(GDBHex.number(bytes("-1")) == nil)
        #expect(GDBHex.number(bytes("0000000000000010")) == 0x10)   // leading zeros are fine
    }

    @Test func littleEndianRegisters() {
        #expect(text(GDBHex.littleEndian32(0x2BAD_B002)) == "02b0ad2b")
        #expect(GDBHex.parseLittleEndian32(bytes("02b0ad2b")) == 0x2BAD_B002)
        #expect(GDBHex.parseLittleEndian32(bytes("02b0ad2")) == nil)
        #expect(GDBHex.parseLittleEndian32(bytes("02b0ad2bff")) == nil)
        #expect(GDBHex.parseLittleEndian32(bytes("xxxxxxxx")) == nil)
    }
}

@Suite struct Reader {
    @Test func acksInterruptsAndPackets() {
        var r = GDBPacketReader()
        #expect(r.feed(bytes("+-")) == [.ack, .nack])
        #expect(r.feed([0x03]) == [.interrupt])
        #expect(r.feed(bytes("$g#67$?#3f")) == [.packet(bytes("g")), .packet(bytes("?"))])
    }

    @Test func packetsSplitAcrossReads() {
        var r = GDBPacketReader()
        var events: [GDBEvent] = []
        for b in bytes("+$qSupported:multiprocess+#c6") { events += r.feed([b]) }
        let payload = bytes("qSupported:multiprocess+")
        #expect(events == [.ack, .packet(payload)])
        var r2 = GDBPacketReader()
        var events2: [GDBEvent] = []
        for b in GDBPacket.frame(payload) { events2 += r2.feed([b]) }
        #expect(events2 == [.packet(payload)])
        #expect(!r2.inPacket)
    }

    @Test func badChecksumsAndNonHexChecksums() {
        var r = GDBPacketReader()
        #expect(r.feed(bytes("$g#00")) == [.badChecksum])
        #expect(r.feed(bytes("$g#zz")) == [.badChecksum])
        #expect(r.feed(bytes("$g#6")) == [])        // waiting for the second digit
        #expect(r.feed(bytes("7")) == [.packet(bytes("g"))])
    }

    @Test func noiseOutsidePacketsIsIgnored() {
        var r = GDBPacketReader()
        #expect(r.feed(bytes("hello\r\n#00 }")) == [])
        #expect(r.feed(bytes("$?#3f")) == [.packet(bytes("?"))])
    }

    @Test func aDollarInsideAPacketStartsOver() {
        var r = GDBPacketReader()
        #expect(r.feed(bytes("$mxx$g#67")) == [.packet(bytes("g"))])
    }

    @Test func anInterruptByteInsideAPacketIsData() {
        // 0x03 only interrupts between packets; inside one it is a payload byte (X data).
        var r = GDBPacketReader()
        let payload: [UInt8] = [UInt8(ascii: "X"), 0x03]
        #expect(r.feed(GDBPacket.frame(payload)) == [.packet(payload)])
    }

    @Test func malformedBodyWithGoodChecksum() {
        var r = GDBPacketReader()
        let body = bytes("abc}")
        let wire = bytes("$") + body + bytes("#") + GDBHex.encode([GDBPacket.checksum(body)])
        #expect(r.feed(wire) == [.malformed])
    }

    @Test func oversizedPacketsAreDroppedNotBuffered() {
        var r = GDBPacketReader(maxBody: 16)
        let payload = [UInt8](repeating: UInt8(ascii: "a"), count: 100)
        #expect(r.feed(GDBPacket.frame(payload)) == [.badChecksum])
        #expect(r.feed(GDBPacket.frame("g")) == [.packet(bytes("g"))])
    }

    @Test func randomBytesNeverTrap() {
        var rng = SplitMix(seed: 42)
        var r = GDBPacketReader(maxBody: 256)
        for _ in 0..<2000 {
            let chunk = (0..<Int(rng.next() % 64)).map { _ -> UInt8 in
                // Mostly protocol bytes, so packets actually start and end.
                let pick = rng.next() % 8
                return pick < 3 ? [UInt8(ascii: "$"), UInt8(ascii: "#"), UInt8(ascii: "}"), UInt8(ascii: "*"), 3, UInt8(ascii: "0")][Int(rng.next() % 6)]
                                : UInt8(truncatingIfNeeded: rng.next())
            }
            _ = r.feed(chunk)
        }
        // At most one frame is lost to whatever state the noise left (a half-read checksum).
        #expect(r.feed(GDBPacket.frame("?") + GDBPacket.frame("?")).last == .packet(bytes("?")))
    }
}

/// A small deterministic generator for the fuzz tests.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
