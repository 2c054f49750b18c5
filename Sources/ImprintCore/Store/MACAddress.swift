/// A 48-bit Ethernet MAC address, as a device is named in the store.
///
///     let mac = try MACAddress(parsing: "52:54:00:12:34:56")
///     mac.hyphenated   // "52-54-00-12-34-56", the store's folder name and iPXE's ${mac:hexhyp}
///     mac.colon        // "52:54:00:12:34:56"
public struct MACAddress: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The six octets, most significant first.
    public let octets: [UInt8]

    /// Parses six two-digit hex octets separated all by `:` or all by `-`, in any case.
    ///
    /// Refused, each with its own message: another length or separator, a mix of separators,
    /// a non-hex digit, and a multicast address (the low bit of the first octet set), which no
    /// network card has as its own.
    public init(parsing text: String) throws(MACAddressError) {
        let separator: Character
        if text.contains(":") && text.contains("-") {
            throw MACAddressError(text: text, reason: "it mixes ':' and '-' separators")
        } else if text.contains("-") {
            separator = "-"
        } else {
            separator = ":"
        }
        let parts = text.split(separator: separator, omittingEmptySubsequences: false)
        guard parts.count == 6 else {
            throw MACAddressError(text: text, reason: "it is not six octets separated by ':' or '-'")
        }
        var octets: [UInt8] = []
        for part in parts {
            guard part.count == 2, let value = UInt8(part, radix: 16), part.allSatisfy(\.isHexDigit) else {
                throw MACAddressError(text: text, reason: "octet '\(part)' is not two hex digits")
            }
            octets.append(value)
        }
        guard octets[0] & 1 == 0 else {
            throw MACAddressError(text: text, reason: "it is a multicast address, which no network card has as its own")
        }
        self.octets = octets
    }

    /// `52-54-00-12-34-56`: lower case, hyphens; the folder name under `devices/` and `reports/`.
    public var hyphenated: String { format("-") }

    /// `52:54:00:12:34:56`: lower case, colons; as manifests carry it.
    public var colon: String { format(":") }

    public var description: String { colon }

    private func format(_ separator: String) -> String {
        let digits = Array("0123456789abcdef")
        return octets.map { String([digits[Int($0 >> 4)], digits[Int($0 & 0xF)]]) }.joined(separator: separator)
    }

    public static func < (lhs: MACAddress, rhs: MACAddress) -> Bool {
        lhs.octets.lexicographicallyPrecedes(rhs.octets)
    }
}

/// A MAC address that did not parse, and why.
public struct MACAddressError: Error, Equatable, Sendable, CustomStringConvertible {
    public var text: String
    public var reason: String
    public var description: String {
        "'\(text)' is not a MAC address: \(reason); write it as 52:54:00:12:34:56 or 52-54-00-12-34-56"
    }
}
