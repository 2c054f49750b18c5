/// What a DHCP ACK gave the client: enough to configure one interface and the resolver.
/// Addresses are IPv4 in host byte order.
public struct DHCPLease: Equatable, Sendable, CustomStringConvertible {
    public var address: UInt32
    /// Option 1, else the address's classful mask (RFC 2131 section 4.3.1 leaves it to the client).
    public var netmask: UInt32
    /// The first of option 3; nil for no default route.
    public var router: UInt32?
    /// Option 6, in order.
    public var dnsServers: [UInt32]
    /// Option 12, when it is a plausible host name.
    public var hostName: String?
    /// Option 15, when it is a plausible domain name (it goes into resolv.conf: no spaces, no newlines).
    public var domain: String?
    /// Option 51; nil when the server sent none; 0xFFFFFFFF is infinite.
    public var leaseSeconds: UInt32?
    /// Option 54 of the ACK (else of the OFFER): the server that granted the lease.
    public var serverIdentifier: UInt32

    public init(address: UInt32, netmask: UInt32, router: UInt32? = nil, dnsServers: [UInt32] = [], hostName: String? = nil,
                domain: String? = nil, leaseSeconds: UInt32? = nil, serverIdentifier: UInt32) {
        self.address = address
        self.netmask = netmask
        self.router = router
        self.dnsServers = dnsServers
        self.hostName = hostName
        self.domain = domain
        self.leaseSeconds = leaseSeconds
        self.serverIdentifier = serverIdentifier
    }

    /// The lease an ACK grants; `server` is the identifier the client requested from.
    public init(ack: DHCPMessage, server: UInt32) {
        self.init(address: ack.yiaddr, netmask: ack.subnetMask ?? Self.classfulMask(ack.yiaddr),
                  router: ack.routers.first, dnsServers: ack.domainNameServers,
                  hostName: ack.hostName.flatMap(Self.name), domain: ack.domainName.flatMap(Self.name),
                  leaseSeconds: ack.leaseSeconds, serverIdentifier: ack.serverIdentifier ?? server)
    }

    /// The prefix length of `netmask`; nil when its ones are not contiguous.
    public var prefixLength: Int? {
        let ones = netmask.nonzeroBitCount
        let contiguous: UInt32 = ones == 0 ? 0 : UInt32.max << UInt32(32 - ones)
        return contiguous == netmask ? ones : nil
    }

    /// `10.0.2.15/24 router 10.0.2.2 dns 10.0.2.3 from 10.0.2.2`, with `domain lab.example` before
    /// `from` when there is one; several DNS servers are joined by commas.
    public var description: String {
        var text = Self.dotted(address) + (prefixLength.map { "/\($0)" } ?? " netmask \(Self.dotted(netmask))")
        text += " router " + (router.map(Self.dotted) ?? "none")
        text += " dns " + (dnsServers.isEmpty ? "none" : dnsServers.map(Self.dotted).joined(separator: ","))
        if let domain { text += " domain \(domain)" }
        return text + " from " + Self.dotted(serverIdentifier)
    }

    /// Dotted quad: 0x0A00020F is `10.0.2.15`.
    public static func dotted(_ address: UInt32) -> String { DHCPBytes.dotted(address) }

    /// 255.0.0.0 for class A, 255.255.0.0 for B, else 255.255.255.0.
    public static func classfulMask(_ address: UInt32) -> UInt32 {
        switch address >> 24 {
        case 0..<128: 0xFF00_0000
        case 128..<192: 0xFFFF_0000
        default: 0xFFFF_FF00
        }
    }

    /// A DNS name (letters, digits, `-`, `_`, `.`, at most 253 bytes), trailing NULs dropped; nil otherwise.
    static func name(_ bytes: [UInt8]) -> String? {
        var bytes = bytes[...]
        while bytes.last == 0 { bytes = bytes.dropLast() }
        guard !bytes.isEmpty, bytes.count <= 253, bytes.allSatisfy({ byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
        }) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
}
