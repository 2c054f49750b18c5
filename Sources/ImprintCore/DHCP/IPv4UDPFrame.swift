/// An IPv4 packet carrying one UDP datagram: what an `AF_PACKET`/`SOCK_DGRAM` socket bound to
/// `ETH_P_IP` sends and receives (the kernel adds and strips the Ethernet header). A DHCP client needs
/// one because it has no address to bind an ordinary UDP socket to yet.
public struct IPv4UDPFrame: Equatable, Sendable {
    /// Host byte order.
    public var source: UInt32
    public var destination: UInt32
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    public var payload: [UInt8]

    public static let dhcpServerPort: UInt16 = 67
    public static let dhcpClientPort: UInt16 = 68
    public static let udpProtocol: UInt8 = 17
    /// The IPv4 header written: 20 bytes, no options.
    public static let ipHeaderLength = 20
    public static let udpHeaderLength = 8

    public init(source: UInt32, destination: UInt32, sourcePort: UInt16, destinationPort: UInt16, payload: [UInt8]) {
        self.source = source
        self.destination = destination
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.payload = payload
    }

    /// A client's DHCP message: 0.0.0.0:68 to 255.255.255.255:67 (RFC 2131 section 4.1).
    public static func dhcpClientBroadcast(_ payload: [UInt8]) -> IPv4UDPFrame {
        IPv4UDPFrame(source: 0, destination: 0xFFFF_FFFF, sourcePort: dhcpClientPort, destinationPort: dhcpServerPort,
                     payload: payload)
    }

    /// The packet: IPv4 header (version 4, IHL 5, TTL 64, DF clear, header checksum), UDP header with
    /// its checksum over the pseudo header, payload. Nil when the payload does not fit in one packet.
    public var bytes: [UInt8]? {
        let udpLength = Self.udpHeaderLength + payload.count
        let totalLength = Self.ipHeaderLength + udpLength
        guard totalLength <= 0xFFFF else { return nil }
        var ip: [UInt8] = [0x45, 0x00]
        ip += DHCPBytes.bigEndian(UInt16(totalLength))
        ip += [0x00, 0x00, 0x00, 0x00]  // identification 0; no flags, offset 0
        ip += [64, Self.udpProtocol, 0x00, 0x00]  // TTL, protocol, checksum placeholder
        ip += DHCPBytes.bigEndian(source)
        ip += DHCPBytes.bigEndian(destination)
        let ipChecksum = Self.checksum(ip)
        ip[10] = UInt8(ipChecksum >> 8)
        ip[11] = UInt8(ipChecksum & 0xFF)

        var udp = DHCPBytes.bigEndian(sourcePort) + DHCPBytes.bigEndian(destinationPort)
        udp += DHCPBytes.bigEndian(UInt16(udpLength))
        udp += [0x00, 0x00]
        udp += payload
        var udpChecksum = Self.checksum(pseudoHeader(udpLength: udpLength) + udp)
        // RFC 768: a computed zero is sent as all ones (zero means "no checksum").
        if udpChecksum == 0 { udpChecksum = 0xFFFF }
        udp[6] = UInt8(udpChecksum >> 8)
        udp[7] = UInt8(udpChecksum & 0xFF)
        return ip + udp
    }

    func pseudoHeader(udpLength: Int) -> [UInt8] {
        DHCPBytes.bigEndian(source) + DHCPBytes.bigEndian(destination) + [0, Self.udpProtocol]
            + DHCPBytes.bigEndian(UInt16(truncatingIfNeeded: udpLength))
    }

    /// The Internet checksum (RFC 1071): the ones' complement of the ones' complement sum of 16-bit words.
    public static func checksum(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var index = 0
        while index + 1 < bytes.count {
            sum += UInt32(bytes[index]) << 8 | UInt32(bytes[index + 1])
            index += 2
        }
        if index < bytes.count { sum += UInt32(bytes[index]) << 8 }
        while sum > 0xFFFF { sum = (sum & 0xFFFF) + (sum >> 16) }
        return ~UInt16(sum)
    }
}
