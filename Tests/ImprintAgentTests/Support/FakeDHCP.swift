import Glibc
import ImprintCore
@testable import ImprintAgent

/// A DHCP server on one fake link: answers DISCOVER with an OFFER and REQUEST with an ACK (or a NAK),
/// and can lose the first replies or stay silent until a time, as real networks do.
final class FakeDHCPServer {
    var server: UInt32 = 0x0A00_0202
    var address: UInt32 = 0x0A00_020F
    var options: [DHCPOption] = [
        .address(DHCPOption.subnetMask, 0xFFFF_FF00), .address(DHCPOption.router, 0x0A00_0202),
        .address(DHCPOption.domainNameServer, 0x0A00_0203), .address(DHCPOption.leaseTime, 86400),
    ]
    /// DISCOVERs to drop before answering one.
    var lostOffers = 0
    /// REQUESTs to drop before answering one.
    var lostAcks = 0
    /// REQUESTs to answer with a NAK first.
    var naks = 0
    /// The server is silent until the clock reaches this (it comes up late).
    var silentUntil: UInt64 = 0

    /// The reply to a client message, or nil.
    func answer(_ message: DHCPMessage, now: UInt64) -> DHCPMessage? {
        guard now >= silentUntil else { return nil }
        let type: DHCPMessageType
        switch message.messageType {
        case .discover:
            if lostOffers > 0 { lostOffers -= 1; return nil }
            type = .offer
        case .request:
            guard message.serverIdentifier == server else { return nil }
            if lostAcks > 0 { lostAcks -= 1; return nil }
            if naks > 0 { naks -= 1; type = .nak } else { type = .ack }
        default:
            return nil
        }
        var reply = DHCPMessage(op: DHCPMessage.bootReply, xid: message.xid, flags: message.flags,
                                yiaddr: type == .nak ? 0 : address, chaddr: message.chaddr)
        reply.options = [DHCPOption(DHCPOption.messageType, [type.rawValue]), .address(DHCPOption.serverIdentifier, server)]
        if type == .nak {
            reply.options.append(DHCPOption(DHCPOption.message, Array("wrong network".utf8)))
        } else {
            reply.options += options
        }
        return reply
    }
}

/// Packet sockets over fake links: what the agent sends is decoded and given to the link's server;
/// its replies queue up; a wait with nothing queued passes on the fake clock.
final class FakeDHCPSocket: DHCPSocket, @unchecked Sendable {
    let clock: FakeClock
    var servers: [String: FakeDHCPServer] = [:]
    /// Interfaces whose socket does not open (`ENODEV`).
    var failing: Set<String> = []
    /// Hand replies over as the kernel does through a veth: checksum not filled in.
    var offloaded = false
    private(set) var opened: [String] = []
    private(set) var sent: [(interface: String, message: DHCPMessage)] = []
    private(set) var closed = false
    private var queue: [ReceivedPacket] = []

    init(clock: FakeClock, servers: [String: FakeDHCPServer] = [:]) {
        self.clock = clock
        self.servers = servers
    }

    func open(_ interface: String) throws(SystemError) {
        if failing.contains(interface) { throw SystemError("open a packet socket on \(interface)", code: ENODEV) }
        opened.append(interface)
    }

    func send(_ packet: [UInt8], on interface: String) throws(SystemError) {
        guard opened.contains(interface),
              let frame = try? IPv4UDPFrame.parse(packet, port: IPv4UDPFrame.dhcpServerPort),
              frame.source == 0, frame.destination == 0xFFFF_FFFF, frame.sourcePort == 68,
              let message = try? DHCPMessage.decode(frame.payload) else {
            throw SystemError("send on \(interface)", code: EINVAL)
        }
        sent.append((interface, message))
        guard let server = servers[interface], let reply = server.answer(message, now: clock.now) else { return }
        var bytes = IPv4UDPFrame(source: server.server, destination: 0xFFFF_FFFF, sourcePort: 67, destinationPort: 68,
                                 payload: reply.bytes).bytes ?? []
        if offloaded {
            bytes[26] ^= 0x5A  // what the kernel leaves in place of the checksum
        }
        // Noise first: another host's packet, as a packet socket sees everything on the link.
        let noise = IPv4UDPFrame(source: 0x0A00_0009, destination: 0x0A00_00FF, sourcePort: 137, destinationPort: 137,
                                 payload: [1, 2, 3]).bytes ?? []
        queue.append(ReceivedPacket(interface: interface, bytes: noise))
        queue.append(ReceivedPacket(interface: interface, bytes: bytes, checksumNotReady: offloaded))
    }

    func receive(timeoutMilliseconds: UInt64) throws(SystemError) -> ReceivedPacket? {
        if !queue.isEmpty { return queue.removeFirst() }
        clock.sleep(milliseconds: timeoutMilliseconds)
        return nil
    }

    func closeAll() {
        closed = true
    }
}
