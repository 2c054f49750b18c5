/// A TFTP packet (RFC 1350), with the option extension's OACK (RFC 2347).
///
/// Every packet starts with a 2-byte big-endian opcode. Strings are NUL-terminated; the file name is
/// kept as raw bytes because what a name may hold is the path policy's decision, not the codec's.
public enum TFTPPacket: Equatable, Sendable {
    case readRequest(TFTPRequest)
    case writeRequest(TFTPRequest)
    case data(block: UInt16, payload: [UInt8])
    case ack(block: UInt16)
    case error(TFTPErrorCode, message: String)
    case optionAck([TFTPOption])

    /// The opcode on the wire.
    public var opcode: TFTPOpcode {
        switch self {
        case .readRequest: .readRequest
        case .writeRequest: .writeRequest
        case .data: .data
        case .ack: .ack
        case .error: .error
        case .optionAck: .optionAck
        }
    }
}

public enum TFTPOpcode: UInt16, Sendable {
    case readRequest = 1, writeRequest = 2, data = 3, ack = 4, error = 5, optionAck = 6
}

/// A read or write request: the file, the transfer mode and the options (RFC 2347) in request order.
public struct TFTPRequest: Equatable, Sendable {
    public var filename: [UInt8]
    public var mode: TFTPMode
    public var options: [TFTPOption]

    public init(filename: [UInt8], mode: TFTPMode = .octet, options: [TFTPOption] = []) {
        self.filename = filename
        self.mode = mode
        self.options = options
    }

    public init(filename: String, mode: TFTPMode = .octet, options: [TFTPOption] = []) {
        self.init(filename: Array(filename.utf8), mode: mode, options: options)
    }

    /// The file name for logs: printable ASCII kept, every other byte as `\xNN`.
    public var printableFilename: String { TFTPRequest.printable(filename) }

    static func printable(_ bytes: [UInt8]) -> String {
        var out = ""
        for byte in bytes.prefix(300) {
            if byte >= 0x20 && byte < 0x7F && byte != UInt8(ascii: "\\") {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += "\\x" + TFTPRequest.hex2(byte)
            }
        }
        if bytes.count > 300 { out += "..." }
        return out
    }

    static func hex2(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 15)]], as: UTF8.self)
    }
}

/// The transfer mode. `mail` is obsolete (RFC 1350) and refused by the server; it still decodes.
public enum TFTPMode: String, Equatable, Sendable {
    case octet, netascii, mail
}

/// One option: its name as sent (compared case-insensitively) and its value.
public struct TFTPOption: Equatable, Sendable, CustomStringConvertible {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }

    public var description: String { "\(name)=\(value)" }
}

/// An ERROR packet's code (RFC 1350, and 8 from RFC 2347).
public struct TFTPErrorCode: RawRepresentable, Equatable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let notDefined = TFTPErrorCode(rawValue: 0)
    public static let fileNotFound = TFTPErrorCode(rawValue: 1)
    public static let accessViolation = TFTPErrorCode(rawValue: 2)
    public static let diskFull = TFTPErrorCode(rawValue: 3)
    public static let illegalOperation = TFTPErrorCode(rawValue: 4)
    public static let unknownTransferID = TFTPErrorCode(rawValue: 5)
    public static let fileExists = TFTPErrorCode(rawValue: 6)
    public static let noSuchUser = TFTPErrorCode(rawValue: 7)
    public static let optionRefused = TFTPErrorCode(rawValue: 8)

    public var description: String { "ERROR \(rawValue)" }
}
