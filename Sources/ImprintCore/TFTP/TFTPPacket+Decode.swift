/// Why a datagram is not a TFTP packet. A server answers a malformed request with ERROR 4 or drops it.
public enum TFTPDecodeError: Error, Equatable, Sendable, CustomStringConvertible {
    case tooShort(count: Int)
    case unknownOpcode(UInt16)
    /// A string field (`filename`, `mode`, an option's name or value, an error message) has no NUL.
    case missingTerminator(field: String)
    case emptyFilename
    case unknownMode(String)
    /// An option name at the end of a request with no value after it.
    case optionWithoutValue(String)
    case emptyOptionName

    public var description: String {
        switch self {
        case let .tooShort(count): "packet of \(count) bytes is too short"
        case let .unknownOpcode(op): "unknown opcode \(op)"
        case let .missingTerminator(field): "\(field) is not NUL-terminated"
        case .emptyFilename: "empty file name"
        case let .unknownMode(mode): "unknown transfer mode '\(TFTPRequest.printable(Array(mode.utf8)))'"
        case let .optionWithoutValue(name): "option '\(TFTPRequest.printable(Array(name.utf8)))' has no value"
        case .emptyOptionName: "empty option name"
        }
    }
}

extension TFTPPacket {
    /// Decodes one datagram.
    public static func decode(_ bytes: [UInt8]) throws(TFTPDecodeError) -> TFTPPacket {
        let result = bytes.withUnsafeBytes { raw in Result { () throws(TFTPDecodeError) in try decode(raw) } }
        return try result.get()
    }

    /// Decodes one datagram in place (the server passes its receive buffer).
    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(TFTPDecodeError) -> TFTPPacket {
        guard bytes.count >= 2 else { throw .tooShort(count: bytes.count) }
        let op = UInt16(bytes[0]) << 8 | UInt16(bytes[1])
        guard let opcode = TFTPOpcode(rawValue: op) else { throw .unknownOpcode(op) }
        var reader = Reader(bytes: bytes, position: 2)
        switch opcode {
        case .readRequest, .writeRequest:
            let request = try decodeRequest(&reader)
            return opcode == .readRequest ? .readRequest(request) : .writeRequest(request)
        case .data:
            let block = try reader.uint16()
            return .data(block: block, payload: Array(bytes[reader.position...]))
        case .ack:
            // Trailing bytes after the block number are tolerated, as other servers do.
            return .ack(block: try reader.uint16())
        case .error:
            let code = try reader.uint16()
            // Some peers omit the message's NUL; the message is only for logs, so take what is there.
            let message = reader.stringOrRest()
            return .error(TFTPErrorCode(rawValue: code), message: message)
        case .optionAck:
            return .optionAck(try decodeOptions(&reader))
        }
    }

    private static func decodeRequest(_ reader: inout Reader) throws(TFTPDecodeError) -> TFTPRequest {
        guard let filename = reader.field() else { throw .missingTerminator(field: "filename") }
        guard !filename.isEmpty else { throw .emptyFilename }
        guard let modeBytes = reader.field() else { throw .missingTerminator(field: "mode") }
        let modeName = String(decoding: modeBytes, as: UTF8.self)
        guard let mode = TFTPMode(rawValue: modeName.lowercased()) else { throw .unknownMode(modeName) }
        return TFTPRequest(filename: filename, mode: mode, options: try decodeOptions(&reader))
    }

    private static func decodeOptions(_ reader: inout Reader) throws(TFTPDecodeError) -> [TFTPOption] {
        var options: [TFTPOption] = []
        while !reader.atEnd {
            guard let name = reader.field() else {
                // Some clients pad requests with NULs after the last option.
                if reader.restIsZero { break }
                throw .missingTerminator(field: "option name")
            }
            if name.isEmpty {
                if reader.restIsZero || reader.atEnd { break }
                throw .emptyOptionName
            }
            let nameString = String(decoding: name, as: UTF8.self)
            if reader.atEnd { throw .optionWithoutValue(nameString) }
            guard let value = reader.field() else { throw .missingTerminator(field: "value of option '\(nameString)'") }
            options.append(TFTPOption(nameString, String(decoding: value, as: UTF8.self)))
        }
        return options
    }

    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        var position: Int

        var atEnd: Bool { position >= bytes.count }

        var restIsZero: Bool {
            var i = position
            while i < bytes.count { if bytes[i] != 0 { return false }; i += 1 }
            return true
        }

        mutating func uint16() throws(TFTPDecodeError) -> UInt16 {
            guard position + 2 <= bytes.count else { throw .tooShort(count: bytes.count) }
            defer { position += 2 }
            return UInt16(bytes[position]) << 8 | UInt16(bytes[position + 1])
        }

        /// The bytes up to the next NUL, consuming the NUL; nil when there is none.
        mutating func field() -> [UInt8]? {
            var end = position
            while end < bytes.count && bytes[end] != 0 { end += 1 }
            guard end < bytes.count else { return nil }
            defer { position = end + 1 }
            return Array(bytes[position..<end])
        }

        mutating func stringOrRest() -> String {
            if let field = field() { return String(decoding: field, as: UTF8.self) }
            defer { position = bytes.count }
            return String(decoding: bytes[position...], as: UTF8.self)
        }
    }
}
