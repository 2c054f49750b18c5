@testable import ImprintCore

/// DHCP messages as bytes, for the codec, framing and client tests.
///
/// `dnsmasqOffer`, `dnsmasqAck` and `dnsmasqNak` are real: dnsmasq 2.90 in a network namespace
/// (`--dhcp-range=192.168.77.50,192.168.77.99,255.255.255.0,1h --dhcp-option=3,192.168.77.1
/// --dhcp-option=6,192.168.77.1 --dhcp-option=15,lab.example`) answering a python3 client on an
/// AF_PACKET socket, MAC 52:54:00:12:34:56, xid 0x1a2b3c4d (0x55667788 for the NAK, which asked
/// for 10.9.9.9).
enum DHCPVectors {
    /// Hex with spaces, newlines and `#` comments (to the end of the line) allowed.
    static func hex(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var pending: UInt8?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            for character in line.prefix(while: { $0 != "#" }) {
                guard let digit = character.hexDigitValue else { continue }
                if let high = pending {
                    bytes.append(high << 4 | UInt8(digit))
                    pending = nil
                } else {
                    pending = UInt8(digit)
                }
            }
        }
        return bytes
    }

    static let zeros192 = [UInt8](repeating: 0, count: 192)

    /// The fixed header of a reply from dnsmasq to 52:54:00:12:34:56 (bytes 0..<44).
    static func replyHeader(xid: String, yiaddr: String, siaddr: String) -> [UInt8] {
        hex("""
            02                      # op: BOOTREPLY
            01                      # htype: Ethernet
            06                      # hlen: 6
            00                      # hops
            \(xid)                  # xid
            0000                    # secs
            8000                    # flags: broadcast (the client asked for it)
            00000000                # ciaddr
            \(yiaddr)               # yiaddr
            \(siaddr)               # siaddr: dnsmasq's next server (itself), 0 in a NAK
            00000000                # giaddr: no relay
            525400123456 00000000000000000000   # chaddr: the MAC, zero-filled to 16
            """)
    }

    /// dnsmasq's OFFER of 192.168.77.58 (305 bytes: no padding after `end`).
    static let dnsmasqOffer = replyHeader(xid: "1a2b3c4d", yiaddr: "c0a84d3a", siaddr: "c0a84d01") + zeros192 + hex("""
        63825363                # magic cookie 99.130.83.99
        35 01 02                # 53 message type: OFFER
        36 04 c0a84d01          # 54 server identifier: 192.168.77.1
        33 04 00000e10          # 51 lease: 3600 s
        3a 04 00000708          # 58 renewal (T1): 1800 s
        3b 04 00000c4e          # 59 rebinding (T2): 3150 s
        01 04 ffffff00          # 1 subnet mask: 255.255.255.0
        1c 04 c0a84dff          # 28 broadcast address: 192.168.77.255
        0f 0b 6c61622e6578616d706c65    # 15 domain name: "lab.example"
        06 04 c0a84d01          # 6 DNS: 192.168.77.1
        03 04 c0a84d01          # 3 router: 192.168.77.1
        ff                      # end
        """)

    /// The ACK: the OFFER with message type 5.
    static let dnsmasqAck: [UInt8] = {
        var bytes = dnsmasqOffer
        bytes[242] = DHCPMessageType.ack.rawValue
        return bytes
    }()

    /// dnsmasq's NAK of a REQUEST for 10.9.9.9 (300 bytes: padded after `end`).
    static let dnsmasqNak = (replyHeader(xid: "55667788", yiaddr: "00000000", siaddr: "00000000") + zeros192 + hex("""
        63825363                # magic cookie
        35 01 06                # 53 message type: NAK
        36 04 c0a84d01          # 54 server identifier: 192.168.77.1
        38 0d 77726f6e67206e6574776f726b    # 56 message: "wrong network"
        ff                      # end
        """)).padded()

    /// The python3 client's DISCOVER as framed for the AF_PACKET socket (IPv4 + UDP + DHCP), the
    /// checksums computed by python independently of the Swift code.
    static let discoverIPv4UDP = hex("""
        45 00 0148 0000 0000    # IPv4, IHL 5, TOS 0, total 328, id 0, no flags/offset
        40 11 79a6              # TTL 64, UDP, header checksum
        00000000 ffffffff       # 0.0.0.0 -> 255.255.255.255
        0044 0043 0134 999f     # UDP 68 -> 67, length 308, checksum
        """)

    static let discoverPayload = (hex("""
        01 01 06 00             # BOOTREQUEST, Ethernet, hlen 6, hops 0
        1a2b3c4d                # xid
        0000 8000               # secs 0, broadcast flag
        00000000 00000000 00000000 00000000   # ciaddr yiaddr siaddr giaddr
        525400123456 00000000000000000000     # chaddr
        """) + zeros192 + hex("""
        63825363                # magic cookie
        35 01 01                # 53: DISCOVER
        3d 07 01 525400123456   # 61 client id: type 1 (Ethernet), the MAC
        37 07 01 03 06 0c 0f 33 36      # 55 parameter list: 1 3 6 12 15 51 54
        ff                      # end
        """)).padded()
}

extension [UInt8] {
    /// Zero-filled to the 300 bytes of a BOOTP message, as both senders pad after `end`.
    func padded() -> [UInt8] { self + [UInt8](repeating: 0, count: Swift.max(0, 300 - count)) }
}
