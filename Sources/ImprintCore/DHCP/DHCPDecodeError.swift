/// Why bytes are not a DHCP message. A client drops such a datagram and keeps waiting.
public enum DHCPDecodeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Shorter than the 236-byte BOOTP header and the 4-byte magic cookie.
    case tooShort(count: Int)
    /// The four bytes after the BOOTP header are not 99.130.83.99 (a plain BOOTP message, or noise).
    case badMagicCookie(UInt32)
    /// An option's length byte, or its data, runs past the end of the message.
    case truncatedOption(code: UInt8, offset: Int)

    public var description: String {
        switch self {
        case let .tooShort(count): "message of \(count) bytes is shorter than the 240 of a DHCP header"
        case let .badMagicCookie(cookie): "magic cookie 0x\(String(cookie, radix: 16)) is not DHCP's 0x63825363"
        case let .truncatedOption(code, offset): "option \(code) at byte \(offset) runs past the end of the message"
        }
    }
}
