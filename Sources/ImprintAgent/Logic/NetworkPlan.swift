/// An IPv4 address in host byte order (10.0.2.15 is 0x0A00020F).
public struct IPv4Address: Equatable, Sendable, CustomStringConvertible {
    public var value: UInt32

    public init(_ value: UInt32) {
        self.value = value
    }

    /// Dotted quad, four decimal octets 0...255 with no leading zeros but `0`.
    public init?(parsing text: some StringProtocol) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy({ $0.isASCII && $0.isNumber }),
                  part == "0" || !part.hasPrefix("0"), let octet = UInt8(part) else { return nil }
            value = value << 8 | UInt32(octet)
        }
        self.value = value
    }

    public var description: String {
        "\(value >> 24).\(value >> 16 & 0xFF).\(value >> 8 & 0xFF).\(value & 0xFF)"
    }
}

/// A static IPv4 configuration: `imprint.ip=ADDR/PREFIX,GATEWAY`, or QEMU user
/// networking's fixed 10.0.2.15/24 via 10.0.2.2 (DESIGN section 10). DHCP
/// proper is later work.
public struct StaticIPv4: Equatable, Sendable, CustomStringConvertible {
    public var address: IPv4Address
    /// 0...32.
    public var prefixLength: Int
    /// The default route's gateway; nil for no default route.
    public var gateway: IPv4Address?

    public init(address: IPv4Address, prefixLength: Int, gateway: IPv4Address?) {
        self.address = address
        self.prefixLength = max(0, min(32, prefixLength))
        self.gateway = gateway
    }

    /// What QEMU's user networking always hands out.
    public static let qemuUserDefault = StaticIPv4(address: IPv4Address(0x0A00_020F), prefixLength: 24,
                                                   gateway: IPv4Address(0x0A00_0202))

    /// The netmask of the prefix length: /24 is 255.255.255.0.
    public var netmask: IPv4Address {
        prefixLength == 0 ? IPv4Address(0) : IPv4Address(UInt32.max << UInt32(32 - prefixLength))
    }

    /// `ADDR/PREFIX,GATEWAY` or `ADDR/PREFIX` (no default route); nil when it is neither.
    public static func parse(_ text: String) -> StaticIPv4? {
        let fields = text.split(separator: ",", omittingEmptySubsequences: false)
        guard fields.count == 1 || fields.count == 2 else { return nil }
        let cidr = fields[0].split(separator: "/", omittingEmptySubsequences: false)
        guard cidr.count == 2, let address = IPv4Address(parsing: cidr[0]),
              cidr[1].count <= 2, cidr[1].allSatisfy({ $0.isASCII && $0.isNumber }),
              let prefix = Int(cidr[1]), (0...32).contains(prefix) else { return nil }
        var gateway: IPv4Address?
        if fields.count == 2 {
            guard let parsed = IPv4Address(parsing: fields[1]) else { return nil }
            gateway = parsed
        }
        return StaticIPv4(address: address, prefixLength: prefix, gateway: gateway)
    }

    public var description: String {
        "\(address)/\(prefixLength) gateway \(gateway.map { "\($0)" } ?? "none")"
    }
}

/// Which interface to bring up: the one whose MAC is the identity's, else the
/// first (by name) that is not `lo` and has a driver bound.
public func chooseInterface(_ interfaces: [NetworkInterface], identityMAC: String?) -> NetworkInterface? {
    if let identityMAC, let wanted = normalizedMAC(identityMAC),
       let match = interfaces.first(where: { normalizedMAC($0.mac) == wanted }) {
        return match
    }
    return interfaces.first { $0.name != "lo" && $0.driver != nil }
}

/// Where to send reports: the identity's servers in order, else
/// `imprint.server=`, else the profile's `server`. Trailing slashes are dropped.
public func reportServers(identity: Identity?, commandLine: String?, profile: String?) -> [String] {
    var servers = identity?.servers.filter { !$0.isEmpty } ?? []
    if servers.isEmpty, let commandLine, !commandLine.isEmpty { servers = [commandLine] }
    if servers.isEmpty, let profile, !profile.isEmpty { servers = [profile] }
    return servers.map { server in
        var server = server
        while server.hasSuffix("/") { server.removeLast() }
        return server
    }
}
