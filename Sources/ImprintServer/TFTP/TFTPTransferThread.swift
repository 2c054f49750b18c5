import Glibc
import ImprintCore
import NIOCore
import Synchronization

/// One read transfer on a blocking socket of its own (its port is the server's transfer ID, RFC 1350)
/// and a thread of its own: carries out what `TFTPReadTransfer` decides.
///
/// Not an event-loop channel: a lockstep transfer is one round trip per block, and on a LAN or
/// loopback the event loop's own work per datagram (readiness poll, a second read that finds
/// nothing, envelope and pipeline) cost a quarter of each round trip (docs/tftp.md, "Transfers on
/// threads"). Here a block costs `recvfrom` and `sendto`, and a share of a `pread` (`TFTPReadAhead`),
/// or at large block sizes `recvfrom` and `sendmsg` from a mapping of the file (`TFTPMapping`).
/// The listener stays on SwiftNIO.
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
    /// The machine as it was made; `run` drives its own copy (a local, so no exclusivity check per
    /// block).
    private let initial: TFTPReadTransfer
    private let source: TFTPSource
    private let log: @Sendable (String) -> Void
    private let stop: TFTPStopFlag
    private let fd: CInt
    private let peer: PeerAddress
    /// One DATA packet: the 4-byte header and up to blksize bytes.
    private let packet: UnsafeMutableRawBufferPointer
    private let received: UnsafeMutableRawBufferPointer
    /// File bytes read ahead for small blocks: one `pread` serves many blocks (at blksize 512, 256
    /// of them), where a `pread` per block was a third of the system calls of a lockstep transfer.
    private let readAhead: TFTPReadAhead
    /// For blocks too large for the read-ahead chunk: the file mapped read-only, and each block goes
    /// to `sendmsg` straight from the page cache (one copy, the kernel's, where `pread` then `sendto`
    /// made two). nil: blocks are read as `readAhead` says.
    private let mapping: TFTPMapping?
    /// One DATA datagram sent from `mapping`: the header in `packet`, then the block's mapped bytes.
    private let pieces: UnsafeMutablePointer<iovec>

    /// Opens the transfer's socket on `bind` (port 0: the system picks the transfer ID). Throws the
    /// errno text when the socket cannot be made.
    init(_ description: Description, machine: TFTPReadTransfer, source: TFTPSource, bind: SocketAddress, bufferBytes: Int,
         stop: TFTPStopFlag, log: @escaping @Sendable (String) -> Void) throws(TFTPSocketFailure) {
        self.description = description
        self.initial = machine
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
        readAhead = TFTPReadAhead(source: source, blockSize: machine.settings.blockSize)
        mapping = readAhead.hasChunk ? nil : TFTPMapping(source)
        pieces = .allocate(capacity: 2)
        pieces.initialize(repeating: iovec(iov_base: packet.baseAddress, iov_len: 4), count: 2)
    }

    deinit {
        packet.deallocate()
        received.deallocate()
        pieces.deallocate()
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
        var machine = initial
        let started = Self.now()
        guard perform(machine.start(now: started), machine, started: started) else { return }
        let from = UnsafeMutablePointer<sockaddr_storage>.allocate(capacity: 1)
        defer { from.deallocate() }
        while true {
            if stop.isSet {
                log("tftp: stopped \(name) to \(peerText) after \(progressBytes(machine)) bytes: server shutting down")
                return
            }
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let count = from.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                recvfrom(fd, received.baseAddress, received.count, 0, address, &length)
            }
            let now = Self.now()
            if count >= 0 {
                guard peer.matches(UnsafeRawPointer(from)) else {
                    // Another host or port wrote to this transfer's port: tell it, and carry on (RFC 1350).
                    let error = TFTPPacket.error(.unknownTransferID, message: "unknown transfer ID").bytes
                    _ = error.withUnsafeBytes { bytes in
                        from.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, bytes.baseAddress, bytes.count, 0, $0, length) }
                    }
                    continue
                }
                if let decoded = try? TFTPPacket.decode(UnsafeRawBufferPointer(rebasing: received[0..<count])) {
                    guard perform(machine.receive(decoded, now: now), machine, started: started) else { return }
                }
            } else if errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
                log("tftp: failed \(name) to \(peerText): recvfrom: \(String(cString: strerror(errno)))")
                return
            }
            if let deadline = machine.deadline, now >= deadline {
                guard perform(machine.timeout(now: now), machine, started: started) else { return }
            }
        }
    }

    /// Carries out the machine's action, if any; false once the transfer has ended (finished or failed).
    private func perform(_ action: TFTPReadTransfer.Action?, _ machine: borrowing TFTPReadTransfer, started: UInt64) -> Bool {
        switch action {
        case nil:
            return true
        case let .sendOptionAck(options)?:
            return send(TFTPPacket.optionAck(options).bytes)
        case let .sendBlocks(first, last, _)?:
            return sendBlocks(first...last, machine)
        case .finish?:
            let seconds = Double(Self.now() - started) / 1e9
            let bytes = source.size
            let rate = seconds > 0 ? Double(bytes) / seconds / 1e6 : 0
            log("tftp: sent \(name) to \(peerText) \(optionsText) \(bytes) bytes in \(format(seconds, 3)) s, \(format(rate, 1)) MB/s, \(machine.retransmittedPackets) resent")
            return false
        case let .fail(failure)?:
            log("tftp: failed \(name) to \(peerText) \(optionsText) after \(progressBytes(machine)) of \(source.size) bytes: \(failure)")
            return false
        }
    }

    /// Reads and sends each block; false when the file could not be read or the send failed.
    private func sendBlocks(_ range: ClosedRange<UInt64>, _ machine: borrowing TFTPReadTransfer) -> Bool {
        if let mapping {
            guard mapping.isWhole else { return readFailed(machine.byteRange(range.lowerBound).offset) }
        }
        for index in range {
            let (offset, count) = machine.byteRange(index)
            let block = machine.blockNumber(index)
            packet[0] = 0
            packet[1] = UInt8(TFTPOpcode.data.rawValue)
            packet[2] = UInt8(block >> 8)
            packet[3] = UInt8(block & 0xFF)
            if let mapping {
                pieces[1] = iovec(iov_base: UnsafeMutableRawPointer(mutating: mapping.bytes.baseAddress! + Int(offset)), iov_len: count)
                var message = msghdr(msg_name: UnsafeMutableRawPointer(peer.address), msg_namelen: peer.length, msg_iov: pieces,
                                     msg_iovlen: 2, msg_control: nil, msg_controllen: 0, msg_flags: 0)
                let code = retrying { sendmsg(fd, &message, 0) }
                // EFAULT: the kernel could not read the mapped bytes (the file was cut short under
                // the mapping); nothing was sent.
                if code == EFAULT { return readFailed(offset) }
                guard sent(code, "sendmsg") else { return false }
                continue
            }
            if count > 0 {
                let got = readAhead.read(into: UnsafeMutableRawBufferPointer(rebasing: packet[4..<(4 + count)]), offset: offset)
                guard got == count else { return readFailed(offset) }
            }
            guard send(UnsafeRawBufferPointer(rebasing: packet[0..<(4 + count)])) else { return false }
        }
        return true
    }

    /// Ends the transfer on a file that no longer has the bytes it is to send, never with a short
    /// DATA block, which the client would take as the end of the file.
    private func readFailed(_ offset: UInt64) -> Bool {
        _ = send(TFTPPacket.error(.notDefined, message: "read error").bytes)
        log("tftp: failed \(name) to \(peerText): the file could not be read at offset \(offset) (changed under the transfer?)")
        return false
    }

    private func send(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { send($0) }
    }

    private func send(_ bytes: UnsafeRawBufferPointer) -> Bool {
        sent(retrying { sendto(fd, bytes.baseAddress, bytes.count, 0, peer.address, peer.length) }, "sendto")
    }

    /// Makes one send system call until it is not cut short by a full send buffer (a window larger
    /// than it: the blocking socket retries) or a signal: 0, or the errno it failed with.
    private func retrying(_ call: () -> Int) -> CInt {
        while true {
            if call() >= 0 { return 0 }
            if errno == EINTR || errno == ENOBUFS || errno == EAGAIN { continue }
            return errno
        }
    }

    /// Whether a send succeeded (`code` 0); logs the failure otherwise.
    private func sent(_ code: CInt, _ call: String) -> Bool {
        guard code != 0 else { return true }
        log("tftp: failed \(name) to \(peerText): \(call): \(String(cString: strerror(code)))")
        return false
    }

    private var name: String { source.path }
    private var peerText: String { TFTPServer.text(description.peer) }
    private func progressBytes(_ machine: borrowing TFTPReadTransfer) -> UInt64 {
        min(source.size, machine.acknowledged * UInt64(machine.settings.blockSize))
    }
    private var optionsText: String {
        var parts = ["mode \(description.request.mode.rawValue)"]
        parts += description.negotiation.reply.map { "\($0.name.lowercased()) \($0.value)" }
        return "(" + parts.joined(separator: ", ") + ")"
    }
}

/// A transfer's file bytes read ahead in chunks, for block sizes small enough that a chunk holds
/// several blocks; larger blocks are sent from a mapping of the file (`TFTPMapping`), or read
/// straight into the packet where it cannot be mapped. Blocks come in order, and a
/// window sent again starts at most a window back: a block outside the chunk refills it from that
/// block's offset. A netascii source is already in memory and is copied from directly. Used by one
/// transfer thread only.
final class TFTPReadAhead {
    /// Bytes one `pread` asks for.
    static let chunkBytes = 128 << 10

    private let source: TFTPSource
    private let chunk: UnsafeMutableRawBufferPointer?
    private var chunkOffset: UInt64 = 0
    private var chunkCount = 0

    init(source: TFTPSource, blockSize: Int) {
        self.source = source
        let useChunk = source.fileDescriptor != nil && blockSize * 4 <= Self.chunkBytes
        chunk = useChunk ? .allocate(byteCount: Self.chunkBytes, alignment: 16) : nil
    }

    deinit { chunk?.deallocate() }

    /// Whether blocks are copied out of a chunk; without one, `read` reads each straight in.
    var hasChunk: Bool { chunk != nil }

    /// Copies `buffer.count` bytes at `offset` into `buffer`, as `TFTPSource.read` does: the count
    /// copied (short only at the end of the file), or -1 on an error.
    func read(into buffer: UnsafeMutableRawBufferPointer, offset: UInt64) -> Int {
        guard let chunk else { return source.read(into: buffer, offset: offset) }
        if offset < chunkOffset || offset + UInt64(buffer.count) > chunkOffset + UInt64(chunkCount) {
            let got = source.read(into: chunk, offset: offset)
            guard got >= 0 else {
                chunkCount = 0
                return -1
            }
            chunkOffset = offset
            chunkCount = got
        }
        let start = Int(offset - chunkOffset)
        let count = min(buffer.count, chunkCount - start)
        guard count > 0 else { return 0 }
        buffer.baseAddress!.copyMemory(from: chunk.baseAddress! + start, byteCount: count)
        return count
    }
}

/// A served file mapped read-only for its transfer. Only the kernel reads the mapping (in
/// `sendmsg`), so a file cut short under it makes `sendmsg` fail with EFAULT rather than raise
/// SIGBUS in the server.
final class TFTPMapping {
    let bytes: UnsafeRawBufferPointer
    private let fd: CInt

    init?(_ source: TFTPSource) {
        guard let fd = source.fileDescriptor, source.size > 0 else { return nil }
        guard let base = mmap(nil, Int(source.size), PROT_READ, MAP_SHARED, fd, 0), base != MAP_FAILED else { return nil }
        bytes = UnsafeRawBufferPointer(start: base, count: Int(source.size))
        self.fd = fd
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: bytes.baseAddress), bytes.count) }

    /// Whether the file still has every mapped byte (checked before each window): bytes past a new
    /// end within its last page would read as zeros rather than fail.
    var isWhole: Bool {
        var info = stat()
        return fstat(fd, &info) == 0 && UInt64(info.st_size) >= UInt64(bytes.count)
    }
}

/// Why a transfer's socket or thread could not be made.
struct TFTPSocketFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Set once when the server shuts down; every transfer thread looks at it between reads (an atomic
/// load, once per block).
final class TFTPStopFlag: Sendable {
    private let stopped = Atomic<Bool>(false)
    private let running = Atomic<Int>(0)

    var isSet: Bool { stopped.load(ordering: .acquiring) }
    func set() { stopped.store(true, ordering: .releasing) }
    /// Transfer threads alive, so shutdown can wait for them.
    var runningCount: Int { running.load(ordering: .acquiring) }
    func threadStarted() { running.add(1, ordering: .acquiringAndReleasing) }
    func threadEnded() { running.subtract(1, ordering: .acquiringAndReleasing) }
}

/// The peer's address as `sendto` takes it, and a comparison with the source `recvfrom` gives, per
/// datagram, without building a `SocketAddress`.
final class PeerAddress: @unchecked Sendable {
    /// A `sockaddr_storage` of its own, read as whichever `sockaddr_*` its family says.
    let address: UnsafeMutablePointer<sockaddr>
    let length: socklen_t

    init(_ socketAddress: SocketAddress) {
        let storage = UnsafeMutablePointer<sockaddr_storage>.allocate(capacity: 1)
        storage.initialize(to: sockaddr_storage())
        let size = MemoryLayout<sockaddr_storage>.size
        length = socketAddress.withSockAddr { pointer, length in
            UnsafeMutableRawPointer(storage).copyMemory(from: pointer, byteCount: min(length, size))
            return socklen_t(min(length, size))
        }
        address = UnsafeMutableRawPointer(storage).assumingMemoryBound(to: sockaddr.self)
    }

    deinit { UnsafeMutableRawPointer(address).deallocate() }

    /// Whether the `sockaddr_storage` at `other` is this address (family, port, address).
    func matches(_ other: UnsafeRawPointer) -> Bool {
        let mine = UnsafeRawPointer(address)
        let family = mine.load(as: sa_family_t.self)
        guard other.load(as: sa_family_t.self) == family else { return false }
        switch CInt(family) {
        case AF_INET:
            let a = mine.load(as: sockaddr_in.self), b = other.load(as: sockaddr_in.self)
            return a.sin_port == b.sin_port && a.sin_addr.s_addr == b.sin_addr.s_addr
        case AF_INET6:
            let a = mine.load(as: sockaddr_in6.self), b = other.load(as: sockaddr_in6.self)
            guard a.sin6_port == b.sin6_port else { return false }
            let offset = MemoryLayout<sockaddr_in6>.offset(of: \sockaddr_in6.sin6_addr)!
            return memcmp(mine + offset, other + offset, MemoryLayout<in6_addr>.size) == 0
        default:
            return false
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
