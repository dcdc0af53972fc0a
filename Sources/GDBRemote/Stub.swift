// The packet dispatcher: one received payload in, one action out (gdb manual
// E.4 "Packets", E.3 "Stop Reply Packets", E.11 "General Query Packets").
// It does no I/O: the server feeds it payloads and sends what it returns, and
// tests call it directly with a fake target.
//
// Replies: `OK`; `E01` for a malformed packet (bad syntax, bad hex, a
// register number out of range); `E14` (EFAULT) when memory cannot be read
// or written; an empty payload for anything not implemented, which gdb reads
// as "unsupported" and falls back from.  Nothing a client sends can crash it.

/// What the server must do with a packet's outcome.
public enum GDBAction: Equatable, Sendable {
    /// Send this payload as a packet.
    case reply([UInt8])
    /// Send it, then close the connection (`D`).
    case replyAndClose([UInt8])
    /// End the connection and the server without a reply (`k`; gdb sends
    /// `vKill` first, which is answered as unsupported so that `k` follows).
    case kill

    public static func text(_ s: String) -> GDBAction { .reply(Array(s.utf8)) }
}

public final class GDBStub {
    public let target: RemoteTarget
    /// After `QStartNoAckMode`: neither side sends `+`/`-` any more.
    public private(set) var noAckMode = false
    /// Largest memory read answered in one `m` reply (gdb asks again for the rest).
    public static let maxRead = 0x1000
    /// What `qSupported` announces: the largest packet gdb may send us.
    public static let packetSize = 0x4000

    public init(target: RemoteTarget) { self.target = target }

    /// Forgets per-connection state (a new client starts in ack mode).
    public func reset() { noAckMode = false }

    public static let errMalformed = "E01"
    public static let errFault = "E14"

    /// Handles one payload.  `interrupted` is polled while the guest runs
    /// (`c`, `vCont;c`): it returns true when the client sent 0x03 or left.
    public func handle(_ packet: [UInt8], interrupted: () -> Bool = { false }) -> GDBAction {
        guard let first = packet.first else { return .text("") }
        let rest = packet[1...]
        switch first {
        case UInt8(ascii: "?"): return .text(target.stopReason.reply)
        case UInt8(ascii: "g"): return rest.isEmpty ? readRegisters() : .text(Self.errMalformed)
        case UInt8(ascii: "G"): return writeRegisters(rest)
        case UInt8(ascii: "p"): return readRegister(rest)
        case UInt8(ascii: "P"): return writeRegister(rest)
        case UInt8(ascii: "m"): return readMemory(rest)
        case UInt8(ascii: "M"): return writeMemory(rest, binary: false)
        case UInt8(ascii: "X"): return writeMemory(rest, binary: true)
        case UInt8(ascii: "c"): return resume(step: false, address: rest, interrupted: interrupted)
        case UInt8(ascii: "s"): return resume(step: true, address: rest, interrupted: interrupted)
        case UInt8(ascii: "C"), UInt8(ascii: "S"):
            // `C sig[;addr]`: the signal means nothing to a bare machine; drop it.
            guard let sig = rest.split(separator: UInt8(ascii: ";"), maxSplits: 1, omittingEmptySubsequences: false).first,
                  GDBHex.number(sig) != nil else { return .text(Self.errMalformed) }
            let address = rest.drop { $0 != UInt8(ascii: ";") }.dropFirst()
            return resume(step: first == UInt8(ascii: "S"), address: address, interrupted: interrupted)
        case UInt8(ascii: "Z"), UInt8(ascii: "z"): return breakpoint(insert: first == UInt8(ascii: "Z"), rest)
        case UInt8(ascii: "k"): return .kill
        case UInt8(ascii: "D"): return .replyAndClose(Array("OK".utf8))
        case UInt8(ascii: "H"):
            // Hg/Hc thread selection: one CPU, thread 1 (0 = any, -1 = all).
            guard let op = rest.first, op == UInt8(ascii: "g") || op == UInt8(ascii: "c") else { return .text("") }
            let tid = String(decoding: rest.dropFirst(), as: UTF8.self)
            return .text(["0", "1", "-1", "p1.1", "p1.-1", "p-1.-1"].contains(tid) ? "OK" : Self.errMalformed)
        case UInt8(ascii: "T"):
            let tid = String(decoding: rest, as: UTF8.self)
            return .text(tid == "1" || tid == "01" || tid == "p1.1" ? "OK" : Self.errMalformed)
        case UInt8(ascii: "q"), UInt8(ascii: "Q"): return query(String(decoding: packet, as: UTF8.self))
        case UInt8(ascii: "v"): return vPacket(packet, interrupted: interrupted)
        default: return .text("")
        }
    }

    // MARK: - Registers

    private func readRegisters() -> GDBAction {
        let regs = target.registers()
        return .reply(regs.flatMap { GDBHex.littleEndian32($0) })
    }

    private func writeRegisters(_ hex: ArraySlice<UInt8>) -> GDBAction {
        // gdb sends as many registers as it knows about; take the 16 we have.
        guard hex.count >= 16 * 8, hex.count % 8 == 0, GDBHex.decode(hex) != nil else { return .text(Self.errMalformed) }
        var values: [UInt32] = []
        var i = hex.startIndex
        for _ in 0..<16 {
            values.append(GDBHex.parseLittleEndian32(hex[i..<i + 8])!)
            i += 8
        }
        let old = target.registers()
        var ok = true
        for (n, v) in values.enumerated() where n >= old.count || old[n] != v {
            if !target.setRegister(n, v) { ok = false }
        }
        return .text(ok ? "OK" : Self.errMalformed)
    }

    private func readRegister(_ text: ArraySlice<UInt8>) -> GDBAction {
        guard let n = GDBHex.number(text) else { return .text(Self.errMalformed) }
        let regs = target.registers()
        guard Int(n) < regs.count else { return .text(Self.errMalformed) }
        return .reply(GDBHex.littleEndian32(regs[Int(n)]))
    }

    private func writeRegister(_ text: ArraySlice<UInt8>) -> GDBAction {
        let parts = text.split(separator: UInt8(ascii: "="), omittingEmptySubsequences: false)
        guard parts.count == 2, let n = GDBHex.number(parts[0]), n < 16,
              let v = GDBHex.parseLittleEndian32(parts[1]) else { return .text(Self.errMalformed) }
        return .text(target.setRegister(Int(n), v) ? "OK" : Self.errMalformed)
    }

    // MARK: - Memory

    /// `ADDR,LENGTH` → (address, length).
    private static func addressLength(_ text: ArraySlice<UInt8>) -> (UInt32, Int)? {
        let parts = text.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false)
        guard parts.count == 2, let a = GDBHex.number(parts[0]), let n = GDBHex.number(parts[1]) else { return nil }
        return (a, Int(n))
    }

    private func readMemory(_ text: ArraySlice<UInt8>) -> GDBAction {
        guard let (address, length) = Self.addressLength(text) else { return .text(Self.errMalformed) }
        if length == 0 { return .text("") }
        // Stop at the top of the 4 GiB space rather than wrap around.
        let count = min(length, Self.maxRead, Int(UInt64(1) << 32 - UInt64(address)))
        guard let bytes = target.readMemory(address, count), !bytes.isEmpty else { return .text(Self.errFault) }
        return .reply(GDBHex.encode(bytes.prefix(count)))
    }

    private func writeMemory(_ text: ArraySlice<UInt8>, binary: Bool) -> GDBAction {
        guard let colon = text.firstIndex(of: UInt8(ascii: ":")),
              let (address, length) = Self.addressLength(text[..<colon]) else { return .text(Self.errMalformed) }
        let data = text[(colon + 1)...]
        let bytes: [UInt8]
        if binary {
            bytes = Array(data)     // the reader already undid the escapes
        } else {
            guard let decoded = GDBHex.decode(data) else { return .text(Self.errMalformed) }
            bytes = decoded
        }
        guard bytes.count == length else { return .text(Self.errMalformed) }
        if length == 0 { return .text("OK") }      // gdb probes `X` support with an empty write
        guard UInt64(address) + UInt64(length) <= UInt64(1) << 32 else { return .text(Self.errFault) }
        return .text(target.writeMemory(address, bytes) ? "OK" : Self.errFault)
    }

    // MARK: - Run control

    private func resume(step: Bool, address: ArraySlice<UInt8>, interrupted: () -> Bool) -> GDBAction {
        if !address.isEmpty {
            guard let a = GDBHex.number(address) else { return .text(Self.errMalformed) }
            if !target.stopReason.isFinal { _ = target.setRegister(8, a) }
        }
        // A guest that has ended stays ended: say so again instead of running on.
        if target.stopReason.isFinal { return .text(target.stopReason.reply) }
        let stop = step ? target.step() : target.resume(until: interrupted)
        return .text(stop.reply)
    }

    private func breakpoint(insert: Bool, _ text: ArraySlice<UInt8>) -> GDBAction {
        // `Z type,addr,kind[;cond…]`: conditions and commands are optional extras we do not announce.
        let main = text.prefix { $0 != UInt8(ascii: ";") }
        let parts = main.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false)
        guard parts.count == 3, let t = GDBHex.number(parts[0]), let a = GDBHex.number(parts[1]),
              let n = GDBHex.number(parts[2]) else { return .text(Self.errMalformed) }
        guard let kind = BreakpointKind(rawValue: Int(t)), target.supports(kind) else { return .text("") }
        let ok = insert ? target.insertBreakpoint(kind, at: a, length: Int(n))
                        : target.removeBreakpoint(kind, at: a, length: Int(n))
        return .text(ok ? "OK" : Self.errMalformed)
    }

    // MARK: - v packets

    private func vPacket(_ packet: [UInt8], interrupted: () -> Bool) -> GDBAction {
        let text = String(decoding: packet, as: UTF8.self)
        if text == "vCont?" { return .text("vCont;c;C;s;S;t") }
        if text.hasPrefix("vCont;") { return vCont(text.dropFirst(6), interrupted: interrupted) }
        // vKill (gdb falls back to `k`), vMustReplyEmpty, vFile, vRun, vAttach…: not supported.
        return .text("")
    }

    /// `vCont;ACTION[:TID];…`: the first action that applies to thread 1.
    private func vCont(_ text: Substring, interrupted: () -> Bool) -> GDBAction {
        for item in text.split(separator: ";", omittingEmptySubsequences: false) {
            let pieces = item.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            let action = pieces[0]
            if pieces.count == 2 {
                let tid = pieces[1]
                guard ["1", "01", "-1", "0", "p1.1", "p1.-1", "p-1.-1"].contains(tid) else { continue }
            }
            guard let verb = action.first else { return .text(Self.errMalformed) }
            switch verb {
            case "c", "s":
                guard action.count == 1 else { return .text(Self.errMalformed) }
                return resume(step: verb == "s", address: [], interrupted: interrupted)
            case "C", "S":
                guard GDBHex.number(Array(action.dropFirst().utf8)) != nil else { return .text(Self.errMalformed) }
                return resume(step: verb == "S", address: [], interrupted: interrupted)
            case "t":
                // Stop: the guest is already stopped between packets.
                return .text(target.stopReason.isFinal ? target.stopReason.reply : StopEvent.signal(0).reply)
            default:
                return .text(Self.errMalformed)
            }
        }
        return .text(Self.errMalformed)
    }

    // MARK: - Queries

    private func query(_ text: String) -> GDBAction {
        if text.hasPrefix("qSupported") {
            return .text("PacketSize=\(String(Self.packetSize, radix: 16));QStartNoAckMode+;vContSupported+")
        }
        if text == "QStartNoAckMode" {
            // The OK still goes out in ack mode; the server switches after sending it.
            noAckMode = true
            return .text("OK")
        }
        if text.hasPrefix("qRcmd,") {
            guard let bytes = GDBHex.decode(Array(text.utf8).dropFirst(6)) else { return .text(Self.errMalformed) }
            let command = String(decoding: bytes, as: UTF8.self).trimmingSpaces
            let output = target.monitor(command)
            return output.isEmpty ? .text("OK") : .reply(GDBHex.encode(output))
        }
        switch text {
        case "qC": return .text("QC1")
        case "qfThreadInfo": return .text("m1")
        case "qsThreadInfo": return .text("l")
        case "qAttached", "qAttached:1": return .text("1")     // detach, not kill, when gdb quits
        case "qOffsets": return .text("Text=0;Data=0;Bss=0")
        case "qSymbol::": return .text("OK")
        default: break
        }
        if text.hasPrefix("qThreadExtraInfo,") { return .reply(GDBHex.encode("CPU 0")) }
        return .text("")
    }
}

extension String {
    /// Without leading and trailing spaces, tabs and newlines (no Foundation).
    var trimmingSpaces: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        return String(drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}
