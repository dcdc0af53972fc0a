// The stub's TCP side: POSIX sockets, 127.0.0.1 only, one client at a time.
// The server owns acknowledgements (`+`/`-`, retransmission on `-`), the
// switch to no-ack mode, and Ctrl-C while the guest runs: between slices the
// target calls back, and the server polls the socket for 0x03 without
// blocking.  A client that leaves (EOF, `D`, a reset) leaves the guest
// stopped where it was, and the server waits for the next one; `k` ends it.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public struct GDBServerError: Error, CustomStringConvertible, Sendable {
    public var description: String
}

/// How one connection ended.
public enum GDBConnectionEnd: Equatable, Sendable {
    /// EOF or an error on the socket.
    case disconnected
    /// `D`.
    case detached
    /// `k`.
    case killed
    /// `stop()` was called.
    case stopped
}

/// How `serve()` ended.
public enum GDBServeEnd: Equatable, Sendable {
    case killed
    /// The guest ended (a `W`/`X` stop) and its client left.
    case targetEnded(StopEvent)
    case stopped
}

/// Thread safety: `serve()` runs on one thread; `stop()` may be called from
/// any other (it only writes to a pipe).
public final class GDBServer: @unchecked Sendable {
    public let stub: GDBStub
    public var target: RemoteTarget { stub.target }
    /// The port asked for (0: any free port; `port` tells which after `listen()`).
    public private(set) var port: UInt16
    /// When true, `serve()` returns once the guest has ended and its client left.
    public var endWhenTargetEnds = true
    /// Messages about connections ("gdb connected from …").
    public var log: (String) -> Void = { _ in }

    private var listenFD: Int32 = -1
    private var wakePipe: [Int32] = [-1, -1]
    private var client: Int32 = -1
    private var reader = GDBPacketReader()
    /// Events read while the guest ran, handled once it stops.
    private var backlog: [GDBEvent] = []
    private var lastSent: [UInt8] = []
    private var clientGone = false

    public init(target: RemoteTarget, port: UInt16) {
        stub = GDBStub(target: target)
        self.port = port
    }

    deinit {
        if client >= 0 { close(client) }
        if listenFD >= 0 { close(listenFD) }
        for fd in wakePipe where fd >= 0 { close(fd) }
    }

    /// Binds 127.0.0.1:port and listens.  Throws when the port is taken.
    public func listen() throws(GDBServerError) {
        guard listenFD < 0 else { return }
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw GDBServerError(description: "cannot create a pipe: \(errnoText())") }
        wakePipe = fds
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw GDBServerError(description: "cannot create a socket: \(errnoText())") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian     // 127.0.0.1: never another interface
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else {
            let why = errnoText()
            close(fd)
            throw GDBServerError(description: "cannot listen on 127.0.0.1:\(port): \(why)")
        }
        guard sysListen(fd) == 0 else {
            let why = errnoText()
            close(fd)
            throw GDBServerError(description: "cannot listen on 127.0.0.1:\(port): \(why)")
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        port = UInt16(bigEndian: actual.sin_port)
        listenFD = fd
    }

    /// The address the listening socket is bound to ("127.0.0.1"), nil before `listen()`.
    public var boundAddress: String? {
        guard listenFD >= 0 else { return nil }
        var a = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let r = withUnsafeMutablePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listenFD, $0, &length) }
        }
        guard r == 0 else { return nil }
        let ip = UInt32(bigEndian: a.sin_addr.s_addr)
        return (0..<4).map { String((ip >> (24 - 8 * UInt32($0))) & 0xFF) }.joined(separator: ".")
    }

    /// Asks `serve()` to return (from any thread).
    public func stop() {
        guard wakePipe[1] >= 0 else { return }
        var b: UInt8 = 1
        _ = write(wakePipe[1], &b, 1)
    }

    /// Accepts clients one after another until `k`, `stop()`, or (with
    /// `endWhenTargetEnds`) the guest has ended and its client left.
    public func serve() throws(GDBServerError) -> GDBServeEnd {
        try listen()
        while true {
            guard let fd = accept() else { return .stopped }
            let end = serveConnection(fd)
            switch end {
            case .killed: return .killed
            case .stopped: return .stopped
            case .disconnected, .detached:
                if endWhenTargetEnds && target.stopReason.isFinal { return .targetEnded(target.stopReason) }
            }
        }
    }

    /// Waits for a client; nil when `stop()` was called.
    private func accept() -> Int32? {
        while true {
            var fds = [pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: wakePipe[0], events: Int16(POLLIN), revents: 0)]
            let n = poll(&fds, 2, -1)
            if n < 0 { if errno == EINTR { continue }; return nil }
            if fds[1].revents != 0 { return nil }
            guard fds[0].revents & Int16(POLLIN) != 0 else { continue }
            var peer = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let fd = withUnsafeMutablePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sysAccept(listenFD, $0, &length) }
            }
            if fd < 0 { continue }
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            return fd
        }
    }

    /// Serves one client until it leaves; the socket is closed on return.
    public func serveConnection(_ fd: Int32) -> GDBConnectionEnd {
        client = fd
        reader = GDBPacketReader()
        backlog = []
        lastSent = []
        clientGone = false
        stub.reset()
        log("gdb connected")
        defer {
            close(fd)
            client = -1
            log("gdb disconnected")
        }
        while true {
            var events = backlog
            backlog = []
            if events.isEmpty {
                switch waitForInput() {
                case .data(let bytes): events = reader.feed(bytes)
                case .closed: return .disconnected
                case .woken: return .stopped
                }
            }
            for (i, event) in events.enumerated() {
                switch event {
                case .ack, .interrupt:
                    break       // an interrupt while stopped has nothing to stop
                case .nack:
                    if !stub.noAckMode && !lastSent.isEmpty { send(lastSent) }
                case .badChecksum:
                    if !stub.noAckMode { send([UInt8(ascii: "-")]) }
                case .malformed:
                    if !stub.noAckMode { send([UInt8(ascii: "+")]) }
                    sendPacket(Array(GDBStub.errMalformed.utf8))
                case .packet(let payload):
                    if !stub.noAckMode { send([UInt8(ascii: "+")]) }
                    backlog = Array(events[(i + 1)...])
                    let action = stub.handle(payload, interrupted: pollInterrupt)
                    if clientGone { return .disconnected }
                    switch action {
                    case .reply(let r): sendPacket(r)
                    case .replyAndClose(let r): sendPacket(r); return .detached
                    case .kill: return .killed
                    }
                }
                if case .packet = event { break }
            }
            if clientGone { return .disconnected }
        }
    }

    private enum Input { case data([UInt8]), closed, woken }

    private func waitForInput() -> Input {
        while true {
            var fds = [pollfd(fd: client, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: wakePipe[0], events: Int16(POLLIN), revents: 0)]
            let n = poll(&fds, 2, -1)
            if n < 0 { if errno == EINTR { continue }; return .closed }
            if fds[1].revents != 0 { return .woken }
            if fds[0].revents != 0 {
                guard let bytes = receive() else { return .closed }
                return .data(bytes)
            }
        }
    }

    /// Whatever is readable now; nil on EOF or error.
    private func receive() -> [UInt8]? {
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(client, &buf, buf.count, 0)
            if n > 0 { return Array(buf[0..<n]) }
            if n < 0 && errno == EINTR { continue }
            return nil
        }
    }

    /// Called by the target between slices of a run: true when the client
    /// sent 0x03, left, or `stop()` was called.  Packets that arrive
    /// meanwhile wait in the backlog.
    private func pollInterrupt() -> Bool {
        if clientGone { return true }
        var fds = [pollfd(fd: client, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: wakePipe[0], events: Int16(POLLIN), revents: 0)]
        let n = poll(&fds, 2, 0)
        if n <= 0 { return false }
        if fds[1].revents != 0 { clientGone = true; return true }
        guard fds[0].revents != 0 else { return false }
        guard let bytes = receive() else { clientGone = true; return true }
        var interrupted = false
        for e in reader.feed(bytes) {
            if e == .interrupt { interrupted = true } else { backlog.append(e) }
        }
        return interrupted
    }

    private func sendPacket(_ payload: [UInt8]) {
        let framed = GDBPacket.frame(payload)
        lastSent = framed
        send(framed)
    }

    private func send(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { sysSend(client, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { clientGone = true; return }
            offset += n
        }
    }
}

func errnoText() -> String { String(cString: strerror(errno)) }

// The C calls whose names the server's own methods shadow.
private func sysSend(_ fd: Int32, _ p: UnsafeRawPointer?, _ n: Int) -> Int {
    #if canImport(Glibc)
    return send(fd, p, n, Int32(MSG_NOSIGNAL))
    #else
    return send(fd, p, n, 0)
    #endif
}
private func sysListen(_ fd: Int32) -> Int32 { listen(fd, 1) }
private func sysAccept(_ fd: Int32, _ a: UnsafeMutablePointer<sockaddr>, _ n: UnsafeMutablePointer<socklen_t>) -> Int32 {
    accept(fd, a, n)
}
