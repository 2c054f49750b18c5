import Glibc
import ImprintCore
import NIOCore

/// One read transfer on a blocking socket of its own (its port is the server's transfer ID, RFC 1350)
/// and a thread of its own: carries out what `TFTPReadTransfer` decides.
///
/// Not an event-loop channel: a lockstep transfer is one round trip per block, and on a LAN or
/// loopback the event loop's own work per datagram (readiness poll, a second read that finds
/// nothing, envelope and pipeline) cost a quarter of each round trip (docs/tftp.md, "Transfers on
/// threads"). Here a block costs `recvfrom`, `pread` and `sendto`. The listener stays on SwiftNIO.
final class TFTPTransferThread: @unchecked Sendable {
    struct Description: Sendable {
        var peer: SocketAddress
        var request: TFTPRequest
        var negotiation: TFTPNegotiation
    }

    /// How long one `recvfrom` waits before the thread looks at its deadline and the stop flag:
    /// retransmission deadlines are seconds, so 20 ms of lateness is noise.
    static let wakeMilliseconds = 20

    private let description: Description
    private var machine: TFTPReadTransfer
    private let source: TFTPSource
    private let log: @Sendable (String) -> Void
    private let stop: TFTPStopFlag
    private let fd: CInt
    private let peer: PeerAddress
    private var started: UInt64 = 0
    /// One DATA packet: the 4-byte header and up to blksize bytes.
    private var packet: UnsafeMutableRawBufferPointer
    private var received: UnsafeMutableRawBufferPointer

    /// Opens the transfer's socket on `bind` (port 0: the system picks the transfer ID). Throws the
    /// errno text when the socket cannot be made.
    init(_ description: Description, machine: TFTPReadTransfer, source: TFTPSource, bind: SocketAddress, bufferBytes: Int,
         stop: TFTPStopFlag, log: @escaping @Sendable (String) -> Void) throws(TFTPSocketFailure) {
        self.description = description
        self.machine = machine
        self.source = source
        self.log = log
        self.stop = stop
        self.peer = PeerAddress(description.peer)
        let family = bind.protocol == .inet6 ? AF_INET6 : AF_INET
        let fd = socket(family, CInt(SOCK_DGRAM.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TFTPSocketFailure("socket: \(String(cString: strerror(errno)))") }
        var size = CInt(clamping: bufferBytes)
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<CInt>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<CInt>.size))
        var wake = timeval(tv_sec: 0, tv_usec: Self.wakeMilliseconds * 1000)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wake, socklen_t(MemoryLayout<timeval>.size))
        let bound = bind.withSockAddr { address, length in Glibc.bind(fd, address, socklen_t(length)) }
        guard bound == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw TFTPSocketFailure("bind \(TFTPServer.text(bind)): \(reason)")
        }
        self.fd = fd
        packet = .allocate(byteCount: 4 + machine.settings.blockSize, alignment: 8)
        received = .allocate(byteCount: 65_536, alignment: 8)
    }

    deinit {
        packet.deallocate()
        received.deallocate()
    }

    /// Runs the transfer on a new detached thread; `ended` is called on it when the transfer ends.
    func start(ended: @escaping @Sendable () -> Void) throws(TFTPSocketFailure) {
        do {
            try DetachedThread.spawn { [self] in
                run()
                close(fd)
                ended()
            }
        } catch {
            close(fd)
            throw error
        }
    }

    private static func now() -> UInt64 { NIODeadline.now().uptimeNanoseconds }

    private func run() {
        started = Self.now()
        guard perform(machine.start(now: started)) else { return }
        var from = sockaddr_storage()
        while true {
            if stop.isSet {
                log("tftp: stopped \(name) to \(peerText) after \(progressBytes) bytes: server shutting down")
                return
            }
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let count = withUnsafeMutablePointer(to: &from) { storage in
                storage.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                    recvfrom(fd, received.baseAddress, received.count, 0, address, &length)
                }
            }
            let now = Self.now()
            if count >= 0 {
                guard peer.matches(from) else {
                    // Another host or port wrote to this transfer's port: tell it, and carry on (RFC 1350).
                    let error = TFTPPacket.error(.unknownTransferID, message: "unknown transfer ID").bytes
                    _ = error.withUnsafeBytes { bytes in
                        withUnsafePointer(to: &from) { storage in
                            storage.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, bytes.baseAddress, bytes.count, 0, $0, length) }
                        }
                    }
                    continue
                }
                if let decoded = try? TFTPPacket.decode(UnsafeRawBufferPointer(rebasing: received[0..<count])) {
                    guard perform(machine.receive(decoded, now: now)) else { return }
                }
            } else if errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
                log("tftp: failed \(name) to \(peerText): recvfrom: \(String(cString: strerror(errno)))")
                return
            }
            if let deadline = machine.deadline, now >= deadline {
                guard perform(machine.timeout(now: now)) else { return }
            }
        }
    }

    /// Carries out the machine's actions; false once the transfer has ended (finished or failed).
    private func perform(_ actions: [TFTPReadTransfer.Action]) -> Bool {
        for action in actions {
            switch action {
            case let .sendOptionAck(options):
                guard send(TFTPPacket.optionAck(options).bytes) else { return false }
            case let .sendBlocks(first, last, _):
                guard sendBlocks(first...last) else { return false }
            case .finish:
                let seconds = Double(Self.now() - started) / 1e9
                let bytes = source.size
                let rate = seconds > 0 ? Double(bytes) / seconds / 1e6 : 0
                log("tftp: sent \(name) to \(peerText) \(optionsText) \(bytes) bytes in \(format(seconds, 3)) s, \(format(rate, 1)) MB/s, \(machine.retransmittedPackets) resent")
                return false
            case let .fail(failure):
                log("tftp: failed \(name) to \(peerText) \(optionsText) after \(progressBytes) of \(source.size) bytes: \(failure)")
                return false
            }
        }
        return true
    }

    /// Reads and sends each block; false when the file could not be read or the send failed.
    private func sendBlocks(_ range: ClosedRange<UInt64>) -> Bool {
        for index in range {
            let (offset, count) = machine.byteRange(index)
            let block = machine.blockNumber(index)
            packet[0] = 0
            packet[1] = UInt8(TFTPOpcode.data.rawValue)
            packet[2] = UInt8(block >> 8)
            packet[3] = UInt8(block & 0xFF)
            if count > 0 {
                let got = source.read(into: UnsafeMutableRawBufferPointer(rebasing: packet[4..<(4 + count)]), offset: offset)
                guard got == count else {
                    _ = send(TFTPPacket.error(.notDefined, message: "read error").bytes)
                    log("tftp: failed \(name) to \(peerText): the file could not be read at offset \(offset) (changed under the transfer?)")
                    return false
                }
            }
            guard send(UnsafeRawBufferPointer(rebasing: packet[0..<(4 + count)])) else { return false }
        }
        return true
    }

    private func send(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { send($0) }
    }

    private func send(_ bytes: UnsafeRawBufferPointer) -> Bool {
        while true {
            let sent = description.peer.withSockAddr { address, length in
                sendto(fd, bytes.baseAddress, bytes.count, 0, address, socklen_t(length))
            }
            if sent >= 0 { return true }
            // A full send buffer (a window larger than it) or a signal: the blocking socket retries.
            if errno == EINTR || errno == ENOBUFS || errno == EAGAIN { continue }
            log("tftp: failed \(name) to \(peerText): sendto: \(String(cString: strerror(errno)))")
            return false
        }
    }

    private var name: String { source.path }
    private var peerText: String { TFTPServer.text(description.peer) }
    private var progressBytes: UInt64 { min(source.size, machine.acknowledged * UInt64(machine.settings.blockSize)) }
    private var optionsText: String {
        var parts = ["mode \(description.request.mode.rawValue)"]
        parts += description.negotiation.reply.map { "\($0.name.lowercased()) \($0.value)" }
        return "(" + parts.joined(separator: ", ") + ")"
    }
}

/// Why a transfer's socket or thread could not be made.
struct TFTPSocketFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Set once when the server shuts down; every transfer thread looks at it between reads.
final class TFTPStopFlag: @unchecked Sendable {
    private var lock = pthread_mutex_t()
    private var stopped = false
    private var running = 0

    init() { pthread_mutex_init(&lock, nil) }
    deinit { pthread_mutex_destroy(&lock) }

    private func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        return body()
    }

    var isSet: Bool { locked { stopped } }
    func set() { locked { stopped = true } }
    /// Transfer threads alive, so shutdown can wait for them.
    var runningCount: Int { locked { running } }
    func threadStarted() { locked { running += 1 } }
    func threadEnded() { locked { running -= 1 } }
}

/// The peer's address as `recvfrom` gives it, for a comparison per datagram without building a
/// `SocketAddress`.
struct PeerAddress: Sendable {
    private let family: sa_family_t
    private let port: in_port_t
    private let v4: in_addr_t
    private let v6: (UInt64, UInt64)

    init(_ address: SocketAddress) {
        var storage = sockaddr_storage()
        _ = address.withSockAddr { pointer, length in
            withUnsafeMutableBytes(of: &storage) { raw in
                memcpy(raw.baseAddress!, pointer, min(length, raw.count))
            }
        }
        (family, port, v4, v6) = Self.fields(storage)
    }

    func matches(_ storage: sockaddr_storage) -> Bool {
        let other = Self.fields(storage)
        return other.0 == family && other.1 == port && other.2 == v4 && other.3 == v6
    }

    private static func fields(_ storage: sockaddr_storage) -> (sa_family_t, in_port_t, in_addr_t, (UInt64, UInt64)) {
        var storage = storage
        return withUnsafeBytes(of: &storage) { raw in
            let family = raw.load(as: sa_family_t.self)
            switch CInt(family) {
            case AF_INET:
                let address = raw.load(as: sockaddr_in.self)
                return (family, address.sin_port, address.sin_addr.s_addr, (0, 0))
            case AF_INET6:
                let address = raw.load(as: sockaddr_in6.self)
                let bytes = withUnsafeBytes(of: address.sin6_addr) { ($0.load(fromByteOffset: 0, as: UInt64.self), $0.load(fromByteOffset: 8, as: UInt64.self)) }
                return (family, address.sin6_port, 0, bytes)
            default:
                return (family, 0, 0, (0, 0))
            }
        }
    }
}

/// A detached POSIX thread running one closure.
enum DetachedThread {
    private final class Body {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    static func spawn(_ run: @escaping @Sendable () -> Void) throws(TFTPSocketFailure) {
        let body = Unmanaged.passRetained(Body(run)).toOpaque()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, CInt(PTHREAD_CREATE_DETACHED))
        pthread_attr_setstacksize(&attributes, 512 << 10)
        var thread = pthread_t()
        let status = pthread_create(&thread, &attributes, { raw in
            Unmanaged<Body>.fromOpaque(raw!).takeRetainedValue().run()
            return nil
        }, body)
        guard status == 0 else {
            Unmanaged<Body>.fromOpaque(body).release()
            throw TFTPSocketFailure("cannot start a transfer thread: \(String(cString: strerror(status)))")
        }
    }
}

func format(_ value: Double, _ decimals: Int) -> String {
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let rounded = (value * scale).rounded() / scale
    var text = String(rounded)
    if let dot = text.firstIndex(of: ".") {
        let have = text.distance(from: dot, to: text.endIndex) - 1
        if have < decimals { text += String(repeating: "0", count: decimals - have) }
    }
    return text
}
