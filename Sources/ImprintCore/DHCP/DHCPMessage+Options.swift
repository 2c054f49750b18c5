/// Typed views of the options a client reads and writes. Each getter joins every occurrence of its
/// code (RFC 3396) and answers nil when the option is absent or its length is wrong for its type.
extension DHCPMessage {
    /// All the data of option `code`, joined; nil when absent.
    public func option(_ code: UInt8) -> [UInt8]? {
        var found: [UInt8]?
        for option in options where option.code == code { found = (found ?? []) + option.data }
        return found
    }

    /// Replaces every occurrence of `code` with one holding `data` (appended at the end), or removes it.
    public mutating func setOption(_ code: UInt8, _ data: [UInt8]?) {
        options.removeAll { $0.code == code }
        if let data { options.append(DHCPOption(code, data)) }
    }

    /// Option 53.
    public var messageType: DHCPMessageType? {
        guard let data = option(DHCPOption.messageType), data.count == 1 else { return nil }
        return DHCPMessageType(rawValue: data[0])
    }

    /// Option 1.
    public var subnetMask: UInt32? { address(DHCPOption.subnetMask) }
    /// Option 3, in the server's order of preference.
    public var routers: [UInt32] { addresses(DHCPOption.router) }
    /// Option 6, in the server's order of preference.
    public var domainNameServers: [UInt32] { addresses(DHCPOption.domainNameServer) }
    /// Option 12, as sent (not checked: see `DHCPLease`).
    public var hostName: [UInt8]? { option(DHCPOption.hostName) }
    /// Option 15, as sent (not checked: see `DHCPLease`).
    public var domainName: [UInt8]? { option(DHCPOption.domainName) }
    /// Option 50.
    public var requestedAddress: UInt32? { address(DHCPOption.requestedAddress) }
    /// Option 51, in seconds; 0xFFFFFFFF is infinite.
    public var leaseSeconds: UInt32? { address(DHCPOption.leaseTime) }
    /// Option 54.
    public var serverIdentifier: UInt32? { address(DHCPOption.serverIdentifier) }
    /// Option 55: the option codes the client asks for.
    public var parameterRequestList: [UInt8]? { option(DHCPOption.parameterRequestList) }
    /// Option 56: the server's text, e.g. why it sent a NAK.
    public var serverMessage: [UInt8]? { option(DHCPOption.message) }
    /// Option 57.
    public var maximumMessageSize: UInt16? {
        guard let data = option(DHCPOption.maximumMessageSize), data.count == 2 else { return nil }
        return DHCPBytes.uint16(data, at: 0)
    }
    /// Option 61: type byte, then the identifier (type 1 and a MAC for Ethernet).
    public var clientIdentifier: [UInt8]? { option(DHCPOption.clientIdentifier) }

    private func address(_ code: UInt8) -> UInt32? {
        guard let data = option(code), data.count == 4 else { return nil }
        return DHCPBytes.uint32(data, at: 0)
    }

    private func addresses(_ code: UInt8) -> [UInt32] {
        guard let data = option(code), !data.isEmpty, data.count % 4 == 0 else { return [] }
        return stride(from: 0, to: data.count, by: 4).map { DHCPBytes.uint32(data, at: $0) }
    }
}
