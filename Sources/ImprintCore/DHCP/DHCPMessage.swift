/// A DHCPv4 message (RFC 2131 section 2, options RFC 2132).
///
/// The fixed BOOTP part is kept field for field, `sname` and `file` as their raw 64 and 128 bytes
/// (option overload, RFC 2132 9.3, is not interpreted). Options are kept in wire order without pad
/// and end; an option that appears more than once is concatenated by the typed accessors, as RFC 3396
/// says. Addresses are IPv4 in host byte order (10.0.2.15 is 0x0A00020F).
public struct DHCPMessage: Equatable, Sendable {
    /// 1 BOOTREQUEST (client to server), 2 BOOTREPLY.
    public var op: UInt8
    /// Hardware type: 1 is Ethernet.
    public var htype: UInt8
    /// Hardware address length: 6 for Ethernet.
    public var hlen: UInt8
    public var hops: UInt8
    /// Transaction id, chosen by the client, echoed by the server.
    public var xid: UInt32
    /// Seconds since the client began acquiring.
    public var secs: UInt16
    /// Bit 15 is the broadcast flag; the rest must be zero.
    public var flags: UInt16
    public var ciaddr: UInt32
    /// "Your" address: what the server offers or assigns.
    public var yiaddr: UInt32
    public var siaddr: UInt32
    public var giaddr: UInt32
    /// Client hardware address, 16 bytes on the wire (the first `hlen` are the MAC).
    public var chaddr: [UInt8]
    /// Server host name, 64 bytes on the wire.
    public var sname: [UInt8]
    /// Boot file name, 128 bytes on the wire.
    public var file: [UInt8]
    public var options: [DHCPOption]

    public static let bootRequest: UInt8 = 1
    public static let bootReply: UInt8 = 2
    /// 99.130.83.99 (RFC 2131 section 3).
    public static let magicCookie: UInt32 = 0x6382_5363
    /// Bytes before the options: the BOOTP header (236) and the magic cookie (4).
    public static let fixedLength = 240
    /// RFC 1542 section 3.2.1: a BOOTP message is at least 300 bytes; some relays drop shorter ones.
    public static let minimumLength = 300
    public static let broadcastFlag: UInt16 = 0x8000

    public init(op: UInt8, htype: UInt8 = 1, hlen: UInt8 = 6, hops: UInt8 = 0, xid: UInt32, secs: UInt16 = 0,
                flags: UInt16 = 0, ciaddr: UInt32 = 0, yiaddr: UInt32 = 0, siaddr: UInt32 = 0, giaddr: UInt32 = 0,
                chaddr: [UInt8], sname: [UInt8] = [], file: [UInt8] = [], options: [DHCPOption] = []) {
        self.op = op
        self.htype = htype
        self.hlen = hlen
        self.hops = hops
        self.xid = xid
        self.secs = secs
        self.flags = flags
        self.ciaddr = ciaddr
        self.yiaddr = yiaddr
        self.siaddr = siaddr
        self.giaddr = giaddr
        self.chaddr = Self.fixed(chaddr, 16)
        self.sname = Self.fixed(sname, 64)
        self.file = Self.fixed(file, 128)
        self.options = options
    }

    /// `bytes` cut or zero-filled to `count`, as the fixed fields are on the wire.
    static func fixed(_ bytes: [UInt8], _ count: Int) -> [UInt8] {
        bytes.count >= count ? Array(bytes.prefix(count)) : bytes + [UInt8](repeating: 0, count: count - bytes.count)
    }

    /// Whether the broadcast flag is set (the client asks for broadcast replies).
    public var broadcast: Bool {
        get { flags & Self.broadcastFlag != 0 }
        set { flags = newValue ? flags | Self.broadcastFlag : flags & ~Self.broadcastFlag }
    }

    /// The client's hardware address: the first `hlen` bytes of `chaddr` (at most 16).
    public var hardwareAddress: [UInt8] { Array(chaddr.prefix(Int(min(hlen, 16)))) }
}

/// Message types (option 53, RFC 2132 section 9.6).
public enum DHCPMessageType: UInt8, Sendable, CustomStringConvertible {
    case discover = 1, offer, request, decline, ack, nak, release, inform

    public var description: String {
        switch self {
        case .discover: "DISCOVER"
        case .offer: "OFFER"
        case .request: "REQUEST"
        case .decline: "DECLINE"
        case .ack: "ACK"
        case .nak: "NAK"
        case .release: "RELEASE"
        case .inform: "INFORM"
        }
    }
}

/// One option as it appears on the wire: a code and up to 255 bytes of data.
public struct DHCPOption: Equatable, Sendable {
    public var code: UInt8
    public var data: [UInt8]

    public init(_ code: UInt8, _ data: [UInt8]) {
        self.code = code
        self.data = data
    }

    public static let pad: UInt8 = 0
    public static let subnetMask: UInt8 = 1
    public static let router: UInt8 = 3
    public static let domainNameServer: UInt8 = 6
    public static let hostName: UInt8 = 12
    public static let domainName: UInt8 = 15
    public static let requestedAddress: UInt8 = 50
    public static let leaseTime: UInt8 = 51
    public static let messageType: UInt8 = 53
    public static let serverIdentifier: UInt8 = 54
    public static let parameterRequestList: UInt8 = 55
    public static let message: UInt8 = 56
    public static let maximumMessageSize: UInt8 = 57
    public static let clientIdentifier: UInt8 = 61
    public static let end: UInt8 = 255

    /// An option holding one IPv4 address.
    public static func address(_ code: UInt8, _ address: UInt32) -> DHCPOption {
        DHCPOption(code, DHCPBytes.bigEndian(address))
    }
}
