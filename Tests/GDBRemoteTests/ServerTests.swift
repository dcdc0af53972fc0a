// The TCP server over a real loopback socket, with the fake target: acks and
// retransmission, no-ack mode, Ctrl-C while running, disconnects, reconnects,
// `D`, `k`, and `stop()`.  Every wait is bounded (5 s receive timeouts).

#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Foundation
import Testing
@testable import GDBRemote

struct ClientError: Error, CustomStringConvertible { var description: String }

/// A minimal gdb: raw bytes, or packets with acks.
final class Client {
    let fd: Int32
    var reader = GDBPacketReader()
    var pending: [GDBEvent] = []
    var ackMode = true

    init(port: UInt16) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1     // as gdb does: no Nagle delay between an ack and the next packet
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if r != 0 { close(fd); throw ClientError(description: "connect failed: \(errno)") }
    }

    deinit { close(fd) }

    func raw(_ b: [UInt8]) {
        _ = b.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// The next event from the server (5 s at most).
    func event() throws -> GDBEvent {
        while pending.isEmpty {
            var buf = [UInt8](repeating: 0, count: 4096)
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { throw ClientError(description: n == 0 ? "connection closed" : "timed out") }
            pending = reader.feed(buf[0..<n])
        }
        return pending.removeFirst()
    }

    /// Waits for a packet, acknowledging it in ack mode.
    func reply() throws -> String {
        while true {
            let e = try event()
            if case .packet(let p) = e {
                if ackMode { raw(bytes("+")) }
                return text(p)
            }
        }
    }

    /// Sends a packet, expects `+` in ack mode, returns the reply.
    func ask(_ payload: String) throws -> String {
        raw(GDBPacket.frame(payload))
        if ackMode {
            let e = try event()
            guard e == .ack else { throw ClientError(description: "expected +, got \(e)") }
        }
        return try reply()
    }

    /// True when the server closed the connection (EOF within 5 s).
    func closedByServer() -> Bool {
        var buf = [UInt8](repeating: 0, count: 64)
        while true {
            let n = recv(fd, &buf, buf.count, 0)
            if n == 0 { return true }
            // Our ack of the last reply may reach a socket already closed: a reset.
            if n < 0 { return errno == ECONNRESET }
        }
    }
}

/// Runs `serve()` on another thread; `end()` waits (bounded) for its result.
final class RunningServer: @unchecked Sendable {
    let server: GDBServer
    private let done = DispatchGroup()
    private var result: GDBServeEnd?

    init(_ target: RemoteTarget, endWhenTargetEnds: Bool = true) throws {
        server = GDBServer(target: target, port: 0)
        server.endWhenTargetEnds = endWhenTargetEnds
        try server.listen()
        done.enter()
        // A thread of its own: the dispatch pool is shared with the test runner's tasks.
        let thread = Thread { [self] in
            result = try? server.serve()
            done.leave()
        }
        thread.start()
    }

    var port: UInt16 { server.port }

    /// The serve result, or nil if it did not end within `seconds`.
    func end(within seconds: Int = 5) -> GDBServeEnd? {
        done.wait(timeout: .now() + .seconds(seconds)) == .success ? result : nil
    }

    deinit {
        server.stop()
        _ = done.wait(timeout: .now() + .seconds(5))
    }
}

@Suite(.serialized) struct ServerOverLoopback {
    @Test func bindsLoopbackOnly() throws {
        let s = try RunningServer(FakeTarget())
        #expect(s.port != 0)
        #expect(s.server.boundAddress == "127.0.0.1")
    }

    @Test func handshakeAndPackets() throws {
        let target = FakeTarget()
        let s = try RunningServer(target)
        let c = try Client(port: s.port)
        c.raw(bytes("+"))
        #expect(try c.ask("qSupported:multiprocess+;swbreak+").contains("PacketSize"))
        #expect(try c.ask("?") == "T05thread:01;")
        #expect(try c.ask("g").count == 128)
        #expect(try c.ask("m1000,4") == "00010203")
        #expect(try c.ask("Z0,1010,1") == "OK")
        #expect(try c.ask("s") == "T05thread:01;")
        #expect(try c.ask("qRcmd," + text(GDBHex.encode("info rings"))) == text(GDBHex.encode("ran: info rings\n")))
        c.raw(GDBPacket.frame("k"))
        #expect(c.closedByServer())
        #expect(s.end() == .killed)
        #expect(target.steps == 1 && target.breakpoints.count == 1)
    }

    @Test func killEndsTheServer() throws {
        let s = try RunningServer(FakeTarget())
        let c = try Client(port: s.port)
        c.raw(GDBPacket.frame("k"))
        #expect(try c.event() == .ack)
        #expect(c.closedByServer())
        #expect(s.end() == .killed)
    }

    @Test func nackRetransmits() throws {
        let s = try RunningServer(FakeTarget())
        let c = try Client(port: s.port)
        c.raw(GDBPacket.frame("m1000,2"))
        #expect(try c.event() == .ack)
        #expect(try c.event() == .packet(bytes("0001")))
        c.raw(bytes("-"))
        #expect(try c.event() == .packet(bytes("0001")))
        c.raw(bytes("+"))
        #expect(try c.ask("?") == "T05thread:01;")
    }

    @Test func badChecksumIsNacked() throws {
        let s = try RunningServer(FakeTarget())
        let c = try Client(port: s.port)
        c.raw(bytes("$g#00"))
        #expect(try c.event() == .nack)
        let body = bytes("g}")
        c.raw(bytes("$") + body + bytes("#") + GDBHex.encode([GDBPacket.checksum(body)]))
        #expect(try c.event() == .ack)
        #expect(try c.reply() == "E01")
        #expect(try c.ask("?") == "T05thread:01;")
    }

    @Test func noAckMode() throws {
        let s = try RunningServer(FakeTarget())
        let c = try Client(port: s.port)
        #expect(try c.ask("QStartNoAckMode") == "OK")
        c.ackMode = false
        c.raw(GDBPacket.frame("?"))
        #expect(try c.event() == .packet(bytes("T05thread:01;")))
        // A new connection starts in ack mode again.
        c.raw(GDBPacket.frame("D"))
        #expect(try c.event() == .packet(bytes("OK")))
        #expect(c.closedByServer())
        let c2 = try Client(port: s.port)
        #expect(try c2.ask("?") == "T05thread:01;")
    }

    @Test func controlCStopsARunningGuest() throws {
        let target = FakeTarget()
        target.resumeResult = nil
        let s = try RunningServer(target)
        let c = try Client(port: s.port)
        c.raw(GDBPacket.frame("c"))
        #expect(try c.event() == .ack)
        usleep(50_000)
        c.raw([0x03])
        #expect(try c.reply() == "T02thread:01;")
        #expect(try c.ask("?") == "T02thread:01;")
    }

    @Test func packetsSentWhileRunningWaitTheirTurn() throws {
        let target = FakeTarget()
        target.resumeResult = nil
        let s = try RunningServer(target)
        let c = try Client(port: s.port)
        c.raw(GDBPacket.frame("vCont;c"))
        #expect(try c.event() == .ack)
        usleep(20_000)
        c.raw([0x03] + GDBPacket.frame("m1000,1"))
        #expect(try c.reply() == "T02thread:01;")
        #expect(try c.event() == .ack)
        #expect(try c.reply() == "00")
    }

    @Test func disconnectWhileRunningLeavesTheGuestStopped() throws {
        let target = FakeTarget()
        target.resumeResult = nil
        let s = try RunningServer(target)
        do {
            let c = try Client(port: s.port)
            c.raw(GDBPacket.frame("c"))
            #expect(try c.event() == .ack)
            usleep(20_000)
        }   // the client goes away mid-run
        let c2 = try Client(port: s.port)
        #expect(try c2.ask("?") == "T02thread:01;")
        #expect(target.resumes == 1)
    }

    @Test func detachThenReconnect() throws {
        let target = FakeTarget()
        let s = try RunningServer(target)
        for _ in 0..<3 {
            let c = try Client(port: s.port)
            #expect(try c.ask("p8") == "88888888")
            #expect(try c.ask("D") == "OK")
            #expect(c.closedByServer())
        }
        #expect(s.end(within: 0) == nil)     // still serving
    }

    @Test func anEndedGuestEndsTheServerWhenItsClientLeaves() throws {
        let target = FakeTarget()
        target.resumeResult = .exited(0x21)
        let s = try RunningServer(target)
        let c = try Client(port: s.port)
        #expect(try c.ask("c") == "W21")
        #expect(try c.ask("D") == "OK")
        #expect(s.end() == .targetEnded(.exited(0x21)))
    }

    @Test func anEndedGuestCanBeKeptForMoreClients() throws {
        let target = FakeTarget()
        target.resumeResult = .exited(0x21)
        let s = try RunningServer(target, endWhenTargetEnds: false)
        do {
            let c = try Client(port: s.port)
            #expect(try c.ask("c") == "W21")
        }
        let c2 = try Client(port: s.port)
        #expect(try c2.ask("?") == "W21")
    }

    @Test func stopEndsServe() throws {
        let s = try RunningServer(FakeTarget())
        let c = try Client(port: s.port)
        #expect(try c.ask("?") == "T05thread:01;")
        s.server.stop()
        #expect(s.end() == .stopped)
    }

    @Test func aTakenPortIsAnError() throws {
        let s = try RunningServer(FakeTarget())
        let other = GDBServer(target: FakeTarget(), port: s.port)
        #expect(throws: GDBServerError.self) { try other.listen() }
    }

    @Test func noiseAndGarbageDoNotWedgeTheConnection() throws {
        let s = try RunningServer(FakeTarget())
        let c = try Client(port: s.port)
        c.raw(bytes("hello\r\n") + [0x03, 0x00, 0xFF] + bytes("#$$$"))
        c.raw(GDBPacket.frame("?"))
        // The lone `$`s began packets that the next `$` abandoned; `?` gets through.
        #expect(try c.event() == .ack)
        #expect(try c.reply() == "T05thread:01;")
    }
}
