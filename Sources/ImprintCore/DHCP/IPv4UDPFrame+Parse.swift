/// Why a received IPv4 packet is not a datagram for the DHCP client. The client drops it silently:
/// a packet socket sees every IPv4 packet on the link.
public enum IPv4UDPFrameError: Error, Equatable, Sendable, CustomStringConvertible {
    case truncated(count: Int)
    case notIPv4(version: UInt8)
    case badHeaderChecksum
    case fragment
    case notUDP(protocol: UInt8)
    case badUDPLength
    case badUDPChecksum
    case wrongPort(UInt16)

    public var description: String {
        switch self {
        case let .truncated(count): "packet of \(count) bytes is shorter than its headers say"
        case let .notIPv4(version): "IP version \(version), not 4"
        case .badHeaderChecksum: "bad IPv4 header checksum"
        case .fragment: "an IPv4 fragment"
        case let .notUDP(proto): "IP protocol \(proto), not UDP"
        case .badUDPLength: "UDP length does not match the packet"
        case .badUDPChecksum: "bad UDP checksum"
        case let .wrongPort(port): "UDP destination port \(port)"
        }
    }
}

extension IPv4UDPFrame {
    /// Parses an IPv4 packet and keeps it only if it is a whole UDP datagram to `port`.
    ///
    /// `verifyUDPChecksum` is false when the kernel says the checksum was never filled in
    /// (`TP_STATUS_CSUMNOTREADY`: a packet from this host, or through a veth, with checksum offload),
    /// as udhcpc does; a zero UDP checksum means none was sent and is accepted. Bytes after the IPv4
    /// total length (Ethernet padding) are ignored.
    public static func parse(_ bytes: [UInt8], port: UInt16 = dhcpClientPort,
                             verifyUDPChecksum: Bool = true) throws(IPv4UDPFrameError) -> IPv4UDPFrame {
        guard bytes.count >= ipHeaderLength else { throw .truncated(count: bytes.count) }
        let version = bytes[0] >> 4
        guard version == 4 else { throw .notIPv4(version: version) }
        let headerLength = Int(bytes[0] & 0x0F) * 4
        let totalLength = Int(DHCPBytes.uint16(bytes, at: 2))
        guard headerLength >= ipHeaderLength, totalLength >= headerLength + udpHeaderLength,
              totalLength <= bytes.count else { throw .truncated(count: bytes.count) }
        guard checksum(Array(bytes[0..<headerLength])) == 0 else { throw .badHeaderChecksum }
        // More-fragments set, or a non-zero offset: a DHCP reply is never fragmented in practice.
        guard DHCPBytes.uint16(bytes, at: 6) & 0x3FFF == 0 else { throw .fragment }
        guard bytes[9] == udpProtocol else { throw .notUDP(protocol: bytes[9]) }
        let udp = Array(bytes[headerLength..<totalLength])
        let destinationPort = DHCPBytes.uint16(udp, at: 2)
        guard destinationPort == port else { throw .wrongPort(destinationPort) }
        let udpLength = Int(DHCPBytes.uint16(udp, at: 4))
        guard udpLength >= udpHeaderLength, udpLength <= udp.count else { throw .badUDPLength }
        let frame = IPv4UDPFrame(source: DHCPBytes.uint32(bytes, at: 12), destination: DHCPBytes.uint32(bytes, at: 16),
                                 sourcePort: DHCPBytes.uint16(udp, at: 0), destinationPort: destinationPort,
                                 payload: Array(udp[udpHeaderLength..<udpLength]))
        if verifyUDPChecksum && DHCPBytes.uint16(udp, at: 6) != 0 {
            let sum = checksum(frame.pseudoHeader(udpLength: udpLength) + udp[0..<udpLength])
            guard sum == 0 else { throw .badUDPChecksum }
        }
        return frame
    }
}
