import Testing

@testable import ImprintCore

@Suite("IPv4/UDP framing for the DHCP client's packet socket")
struct DHCPFrameTests {
    /// dnsmasq's OFFER as the packet socket handed it over, IPv4 and UDP headers included.
    static let offerPacket = DHCPVectors.hex("""
        45 c0 014d 67db 0000    # IPv4, IHL 5, TOS 0xc0, total 333, id, no flags/offset
        40 11 035c              # TTL 64, UDP, header checksum
        c0a84d01 ffffffff       # 192.168.77.1 -> 255.255.255.255
        0043 0044 0139          # UDP 67 -> 68, length 313
        0ef4                    # checksum: only the pseudo-header part (veth offload, TP_STATUS_CSUMNOTREADY)
        """) + DHCPVectors.dnsmasqOffer

    @Test("the Swift framing of a DISCOVER is the python client's, checksums and all")
    func framesDiscover() {
        let frame = IPv4UDPFrame.dhcpClientBroadcast(DHCPVectors.discoverPayload)
        #expect(frame.bytes == DHCPVectors.discoverIPv4UDP + DHCPVectors.discoverPayload)
    }

    @Test("RFC 1071's example sum")
    func checksum() {
        // RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to 0xddf2; the checksum is its complement.
        #expect(IPv4UDPFrame.checksum([0x00, 0x01, 0xF2, 0x03, 0xF4, 0xF5, 0xF6, 0xF7]) == 0x220D)
        #expect(IPv4UDPFrame.checksum([0xFF]) == 0x00FF, "an odd byte is padded with zero")
    }

    @Test("a received OFFER parses when the kernel says its checksum was never filled in")
    func parsesOffer() throws {
        let frame = try IPv4UDPFrame.parse(Self.offerPacket, verifyUDPChecksum: false)
        #expect(frame.source == 0xC0A8_4D01 && frame.destination == 0xFFFF_FFFF)
        #expect(frame.sourcePort == 67 && frame.destinationPort == 68)
        #expect(frame.payload == DHCPVectors.dnsmasqOffer)
        #expect(throws: IPv4UDPFrameError.badUDPChecksum) { try IPv4UDPFrame.parse(Self.offerPacket) }
    }

    @Test("write-then-read: any payload survives, with its checksum checked")
    func roundTrips() throws {
        for length in [0, 1, 2, 3, 300, 1472] {
            let payload = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            let sent = IPv4UDPFrame(source: 0xC0A8_4D01, destination: 0xC0A8_4D3A, sourcePort: 67, destinationPort: 68, payload: payload)
            let bytes = try #require(sent.bytes)
            #expect(try IPv4UDPFrame.parse(bytes) == sent)
            // Ethernet pads short frames: bytes past the IPv4 total length are not the datagram's.
            #expect(try IPv4UDPFrame.parse(bytes + [0, 0, 0, 0]) == sent)
        }
    }

    @Test("a zero UDP checksum means none was sent")
    func noChecksum() throws {
        var bytes = try #require(IPv4UDPFrame(source: 1, destination: 2, sourcePort: 67, destinationPort: 68, payload: [1, 2, 3]).bytes)
        bytes[26] = 0
        bytes[27] = 0
        #expect(try IPv4UDPFrame.parse(bytes).payload == [1, 2, 3])
    }

    static func mutated(_ change: (inout [UInt8]) -> Void) -> [UInt8] {
        var bytes = IPv4UDPFrame(source: 0xC0A8_4D01, destination: 0xFFFF_FFFF, sourcePort: 67, destinationPort: 68, payload: [9, 9])
            .bytes ?? []
        change(&bytes)
        return bytes
    }

    /// Sets bytes and recomputes the IPv4 header checksum, so only the change is wrong.
    static func header(_ changes: [Int: UInt8]) -> [UInt8] {
        mutated { bytes in
            for (offset, value) in changes { bytes[offset] = value }
            bytes[10] = 0
            bytes[11] = 0
            let sum = IPv4UDPFrame.checksum(Array(bytes[0..<20]))
            bytes[10] = UInt8(sum >> 8)
            bytes[11] = UInt8(sum & 0xFF)
        }
    }

    @Test("what the client drops", arguments: [
        ([UInt8](repeating: 0x45, count: 19), IPv4UDPFrameError.truncated(count: 19)),
        (mutated { $0.removeLast() }, .truncated(count: 29)),
        (mutated { $0[0] = 0x65 }, .notIPv4(version: 6)),
        (mutated { $0[8] = 63 }, .badHeaderChecksum),
        (header([6: 0x20]), .fragment),
        (header([7: 0x08]), .fragment),
        (header([9: 6]), .notUDP(protocol: 6)),
        (mutated { $0[22] = 0; $0[23] = 67 }, .wrongPort(67)),
        (mutated { $0[24] = 0; $0[25] = 7 }, .badUDPLength),
        (mutated { $0[24] = 0; $0[25] = 11 }, .badUDPLength),
        (mutated { $0[29] ^= 1 }, .badUDPChecksum),
    ])
    func drops(bytes: [UInt8], error: IPv4UDPFrameError) {
        #expect(throws: error) { try IPv4UDPFrame.parse(bytes) }
    }

    @Test("a payload too big for one packet has no bytes")
    func tooBig() {
        #expect(IPv4UDPFrame.dhcpClientBroadcast([UInt8](repeating: 0, count: 65_508)).bytes == nil)
        #expect(IPv4UDPFrame.dhcpClientBroadcast([UInt8](repeating: 0, count: 65_507)).bytes?.count == 65_535)
    }
}
