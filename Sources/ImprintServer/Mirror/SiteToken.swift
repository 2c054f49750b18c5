import ImprintDigest

/// Site tokens (docs/scale.md): `imprint site add NAME` makes `NAME.<64 hex digits>` and keeps the
/// SHA-256 of that whole text under `secrets/sites/NAME.sha256`; a site sends the token in the
/// `Imprint-Site` header of every request it makes upstream.
public enum SiteToken {
    /// The request header a site's token travels in (the `Authorization` header stays the device's).
    public static let header = "Imprint-Site"

    /// The site's name in a token, or nil when the token is not `NAME.HEX`.
    public static func name(of token: String) -> String? {
        guard let dot = token.lastIndex(of: ".") else { return nil }
        let name = String(token[..<dot])
        let secret = token[token.index(after: dot)...]
        guard isValidName(name), secret.count == 64, secret.utf8.allSatisfy({ isHex($0) }) else { return nil }
        return name
    }

    /// 1 to 64 of `a-z 0-9 -`, not starting with `-`.
    public static func isValidName(_ name: String) -> Bool {
        guard (1...64).contains(name.utf8.count), name.first != "-" else { return false }
        return name.utf8.allSatisfy { ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: "-") }
    }

    /// The stored hash file's text for a token: its SHA-256 hex and a newline.
    public static func storedHash(of token: String) -> String { SHA256.hex(of: Array(token.utf8)) + "\n" }

    /// Whether `token` matches `stored` (the hash file's bytes), in constant time.
    public static func matches(_ token: String, stored: [UInt8]) -> Bool {
        let expected = Array(stored.prefix(64))
        guard expected.count == 64 else { return false }
        return constantTimeEqual(Array(SHA256.hex(of: Array(token.utf8)).utf8), expected)
    }

    private static func isHex(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f"))
    }
}
