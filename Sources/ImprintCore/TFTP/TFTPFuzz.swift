/// What the TFTP fuzz target (`Fuzz/TFTPDecode.swift`) and the corpus replay test run on each input:
/// every pure step the server takes on a datagram. It must never trap, whatever the bytes.
public enum TFTPFuzz {
    public static func run(_ bytes: [UInt8]) {
        guard let packet = try? TFTPPacket.decode(bytes) else { return }
        // A decoded packet re-encodes to bytes that decode to the same packet.
        let again = try? TFTPPacket.decode(packet.bytes)
        precondition(again == packet, "re-encoding changed the packet")
        switch packet {
        case let .readRequest(request), let .writeRequest(request):
            _ = try? TFTPPath.resolve(request.filename)
            _ = request.printableFilename
            let size = UInt64(bytes.count) * 977
            guard let negotiation = try? TFTPNegotiation.negotiate(request.options, fileSize: size) else { return }
            precondition((8...65464).contains(negotiation.blockSize) && (1...65535).contains(negotiation.windowSize))
            var machine = TFTPReadTransfer(settings: .init(size: size, negotiation: negotiation))
            var now: UInt64 = 0
            _ = machine.start(now: now)
            // Drive it with ACKs taken from the input, and timeouts, for a bounded number of steps.
            for (i, byte) in bytes.prefix(64).enumerated() {
                now += UInt64(byte) * 50_000_000
                let action = i % 3 == 2
                    ? machine.timeout(now: now)
                    : machine.receive(.ack(block: UInt16(byte) << 8 | UInt16(i)), now: now)
                if case let .sendBlocks(first, last, _)? = action {
                    precondition(first >= 1 && first <= last && last <= machine.blockCount)
                    let range = machine.byteRange(last)
                    precondition(range.offset + UInt64(range.count) <= size)
                }
            }
        default:
            return
        }
    }
}
