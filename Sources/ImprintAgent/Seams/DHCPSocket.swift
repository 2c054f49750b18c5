import CLinux
import Glibc

/// One IPv4 packet taken off a link.
public struct ReceivedPacket: Equatable, Sendable {
    public var interface: String
    /// The IPv4 packet (no Ethernet header).
    public var bytes: [UInt8]
    /// The kernel says the UDP checksum was never filled in (offload): do not check it.
    public var checksumNotReady: Bool

    public init(interface: String, bytes: [UInt8], checksumNotReady: Bool = false) {
        self.interface = interface
        self.bytes = bytes
        self.checksumNotReady = checksumNotReady
    }
}

/// The raw sockets DHCP runs over before an interface has an address: one per interface, waited on
/// together so clients on several NICs run side by side. `AF_PACKET` on a machine, a scripted server
/// in tests.
public protocol DHCPSocket: AnyObject {
    /// Opens the interface's socket (sending and receiving IPv4 packets).
    func open(_ interface: String) throws(SystemError)
    /// Sends one IPv4 packet as a link-layer broadcast out of an opened interface.
    func send(_ packet: [UInt8], on interface: String) throws(SystemError)
    /// Waits up to `timeoutMilliseconds` for a packet on any opened interface; nil when none came.
    /// A copy of a packet this host sent is never returned.
    func receive(timeoutMilliseconds: UInt64) throws(SystemError) -> ReceivedPacket?
    /// Closes every socket.
    func closeAll()
}

/// `AF_PACKET`/`SOCK_DGRAM` sockets bound to `ETH_P_IP` (C shims in `Sources/CLinux/packet.c`).
public final class LinuxDHCPSocket: DHCPSocket {
    private var sockets: [(interface: String, fd: Int32, ifindex: Int32)] = []
    private var buffer = [UInt8](repeating: 0, count: 4096)

    public init() {}

    deinit {
        closeAll()
    }

    public func open(_ interface: String) throws(SystemError) {
        guard !sockets.contains(where: { $0.interface == interface }) else { return }
        var ifindex: Int32 = 0
        let fd = try Syscall.retrying("open a packet socket on \(interface)") { imprint_packet_open(interface, &ifindex) }
        sockets.append((interface, fd, ifindex))
    }

    public func send(_ packet: [UInt8], on interface: String) throws(SystemError) {
        guard let socket = sockets.first(where: { $0.interface == interface }) else {
            throw SystemError("send on \(interface)", code: EBADF)
        }
        _ = try Syscall.retrying("send on \(interface)") {
            packet.withUnsafeBytes { imprint_packet_send_broadcast(socket.fd, socket.ifindex, $0.baseAddress, $0.count) }
        }
    }

    public func receive(timeoutMilliseconds: UInt64) throws(SystemError) -> ReceivedPacket? {
        guard !sockets.isEmpty else { return nil }
        var polls = sockets.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
        let timeout = Int32(min(timeoutMilliseconds, UInt64(Int32.max)))
        let ready = try Syscall.retrying("wait for DHCP replies") { poll(&polls, nfds_t(polls.count), timeout) }
        guard ready > 0 else { return nil }
        for (index, entry) in polls.enumerated() where entry.revents != 0 {
            let socket = sockets[index]
            var info = imprint_packet_info()
            let count = buffer.withUnsafeMutableBytes { imprint_packet_receive(socket.fd, $0.baseAddress, $0.count, &info) }
            if count < 0 {
                if errno == EAGAIN || errno == EINTR { continue }
                throw SystemError("receive on \(socket.interface)", code: errno)
            }
            if info.outgoing != 0 { continue }
            return ReceivedPacket(interface: socket.interface, bytes: Array(buffer.prefix(count)),
                                  checksumNotReady: info.checksum_not_ready != 0)
        }
        // Only our own packets, or a spurious wake: the caller waits again with what is left.
        return nil
    }

    public func closeAll() {
        for socket in sockets { close(socket.fd) }
        sockets = []
    }
}
