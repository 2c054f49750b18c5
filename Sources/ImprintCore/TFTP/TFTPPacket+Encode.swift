extension TFTPPacket {
    /// The packet's bytes on the wire.
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(encodedCount)
        TFTPPacket.appendUInt16(opcode.rawValue, to: &out)
        switch self {
        case let .readRequest(request), let .writeRequest(request):
            out += request.filename
            out.append(0)
            out += request.mode.rawValue.utf8
            out.append(0)
            TFTPPacket.append(request.options, to: &out)
        case let .data(block, payload):
            TFTPPacket.appendUInt16(block, to: &out)
            out += payload
        case let .ack(block):
            TFTPPacket.appendUInt16(block, to: &out)
        case let .error(code, message):
            TFTPPacket.appendUInt16(code.rawValue, to: &out)
            // A NUL inside the message would end it early on the peer's side.
            out += message.utf8.filter { $0 != 0 }
            out.append(0)
        case let .optionAck(options):
            TFTPPacket.append(options, to: &out)
        }
        return out
    }

    /// The four header bytes of a DATA packet, for writers that put the payload in place themselves.
    public static func dataHeader(block: UInt16) -> [UInt8] {
        [0, UInt8(TFTPOpcode.data.rawValue), UInt8(block >> 8), UInt8(block & 0xFF)]
    }

    private var encodedCount: Int {
        switch self {
        case let .data(_, payload): 4 + payload.count
        case .ack: 4
        default: 64
        }
    }

    private static func appendUInt16(_ value: UInt16, to out: inout [UInt8]) {
        out.append(UInt8(value >> 8))
        out.append(UInt8(value & 0xFF))
    }

    private static func append(_ options: [TFTPOption], to out: inout [UInt8]) {
        for option in options {
            out += option.name.utf8.filter { $0 != 0 }
            out.append(0)
            out += option.value.utf8.filter { $0 != 0 }
            out.append(0)
        }
    }
}
