import Testing

@testable import ImprintCore

@Suite("TFTP packets")
struct TFTPPacketTests {
    /// An RRQ as curl sends it with `--tftp-blksize 1468`, field by field.
    static let curlRequest: [UInt8] =
        [0x00, 0x01]  // opcode 1: RRQ
        + Array("boot/ipxe/undionly.kpxe".utf8) + [0]  // filename
        + Array("octet".utf8) + [0]  // mode
        + Array("tsize".utf8) + [0] + Array("0".utf8) + [0]  // RFC 2349: the client asks the size
        + Array("blksize".utf8) + [0] + Array("1468".utf8) + [0]  // RFC 2348
        + Array("timeout".utf8) + [0] + Array("6".utf8) + [0]  // RFC 2349

    @Test func decodesARequestWithOptions() throws {
        let packet = try TFTPPacket.decode(Self.curlRequest)
        #expect(packet == .readRequest(TFTPRequest(filename: "boot/ipxe/undionly.kpxe", mode: .octet, options: [
            TFTPOption("tsize", "0"), TFTPOption("blksize", "1468"), TFTPOption("timeout", "6"),
        ])))
    }

    @Test func encodesFieldByField() {
        #expect(TFTPPacket.data(block: 0x0102, payload: [0xAA, 0xBB]).bytes == [0x00, 0x03, 0x01, 0x02, 0xAA, 0xBB])
        #expect(TFTPPacket.ack(block: 65535).bytes == [0x00, 0x04, 0xFF, 0xFF])
        #expect(TFTPPacket.error(.accessViolation, message: "no").bytes == [0x00, 0x05, 0x00, 0x02, 0x6E, 0x6F, 0x00])
        #expect(TFTPPacket.optionAck([TFTPOption("blksize", "8")]).bytes
                    == [0x00, 0x06] + Array("blksize".utf8) + [0, 0x38, 0])
        #expect(TFTPPacket.dataHeader(block: 0x1234) == [0x00, 0x03, 0x12, 0x34])
        // A NUL in an error message would cut it short on the wire: it is dropped.
        #expect(TFTPPacket.error(.notDefined, message: "a\0b").bytes == [0, 5, 0, 0, 0x61, 0x62, 0])
    }

    static let roundTrips: [TFTPPacket] = [
        .readRequest(TFTPRequest(filename: "boot/x", mode: .netascii, options: [TFTPOption("windowsize", "16")])),
        .writeRequest(TFTPRequest(filename: "x", mode: .octet)),
        .data(block: 0, payload: []),
        .data(block: 7, payload: Array(0...255)),
        .ack(block: 0),
        .error(.optionRefused, message: "blksize 4 is below the minimum of 8"),
        .optionAck([TFTPOption("tsize", "67108864"), TFTPOption("blksize", "65464")]),
        .optionAck([]),
    ]

    @Test(arguments: roundTrips)
    func roundTrip(packet: TFTPPacket) throws {
        #expect(try TFTPPacket.decode(packet.bytes) == packet)
    }

    @Test func modeIsCaseInsensitive() throws {
        let packet = try TFTPPacket.decode([0, 1] + Array("f\0OCTET\0".utf8))
        #expect(packet == .readRequest(TFTPRequest(filename: "f", mode: .octet)))
    }

    @Test func trailingNULPaddingAfterOptionsIsAccepted() throws {
        let packet = try TFTPPacket.decode([0, 1] + Array("f\0octet\0blksize\01024\0\0\0\0".utf8))
        #expect(packet == .readRequest(TFTPRequest(filename: "f", options: [TFTPOption("blksize", "1024")])))
    }

    @Test func errorWithoutTerminatorKeepsItsMessage() throws {
        #expect(try TFTPPacket.decode([0, 5, 0, 1] + Array("gone".utf8)) == .error(.fileNotFound, message: "gone"))
    }

    static let malformed: [(String, [UInt8], TFTPDecodeError)] = [
        ("empty", [], .tooShort(count: 0)),
        ("one byte", [0], .tooShort(count: 1)),
        ("unknown opcode", [0, 9, 0, 0], .unknownOpcode(9)),
        ("opcode zero", [0, 0], .unknownOpcode(0)),
        ("ack too short", [0, 4, 1], .tooShort(count: 3)),
        ("data without block", [0, 3], .tooShort(count: 2)),
        ("filename without NUL", [0, 1] + Array("boot/x".utf8), .missingTerminator(field: "filename")),
        ("mode without NUL", [0, 1] + Array("boot/x\0octet".utf8), .missingTerminator(field: "mode")),
        ("empty filename", [0, 1, 0] + Array("octet\0".utf8), .emptyFilename),
        ("unknown mode", [0, 1] + Array("x\0binary\0".utf8), .unknownMode("binary")),
        ("option without value", [0, 1] + Array("x\0octet\0blksize\0".utf8), .optionWithoutValue("blksize")),
        ("value without NUL", [0, 1] + Array("x\0octet\0blksize\0512".utf8), .missingTerminator(field: "value of option 'blksize'")),
        ("option name without NUL", [0, 1] + Array("x\0octet\0blksize".utf8), .missingTerminator(field: "option name")),
        ("empty option name then data", [0, 1] + Array("x\0octet\0\0v\0".utf8), .emptyOptionName),
    ]

    @Test(arguments: malformed.map(\.0))
    func malformedPacketsAreErrors(name: String) throws {
        let item = try #require(Self.malformed.first { $0.0 == name })
        #expect(throws: item.2) { try TFTPPacket.decode(item.1) }
    }

    @Test func printableFilenameEscapesEverythingElse() {
        #expect(TFTPRequest(filename: [0x61, 0x00, 0x5C, 0xFF, 0x0A]).printableFilename == "a\\x00\\x5c\\xff\\x0a")
    }

    @Test func netasciiTurnsLineEndsIntoCRLFAndLoneCRIntoCRNUL() {
        #expect(NetASCII.encode(Array("a\nb\rc\r\n".utf8)) == Array("a\r\nb\r\0c\r\0\r\n".utf8))
        #expect(NetASCII.encode([]) == [])
    }
}
