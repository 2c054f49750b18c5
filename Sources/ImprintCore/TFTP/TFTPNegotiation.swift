/// The server's side of option negotiation: RFC 2347 (OACK), 2348 (blksize), 2349 (timeout, tsize),
/// 7440 (windowsize).
///
/// Unknown options are ignored, as RFC 2347 asks. A known option with a value that is not a decimal
/// number, or out of range below (blksize under 8, windowsize or timeout 0, timeout over 255), refuses
/// the request with ERROR 8: a client that asked for something it cannot get is told so. Values above
/// the server's limit are lowered in the OACK (blksize to 65464, windowsize to what the socket buffers
/// hold), which RFC 2348 and 7440 allow. `tsize` is left out for an empty file.
public struct TFTPNegotiation: Equatable, Sendable {
    public var blockSize: Int
    public var windowSize: Int
    /// The retransmission interval in seconds, when the client set one.
    public var timeoutSeconds: Int?
    /// The OACK's options in request order; empty means answer with DATA directly (no OACK).
    public var reply: [TFTPOption]

    /// The plain RFC 1350 transfer: 512-byte blocks, lockstep, no OACK.
    public static let plain = TFTPNegotiation(blockSize: 512, windowSize: 1, timeoutSeconds: nil, reply: [])
}

/// The server's bounds on what a client may negotiate.
public struct TFTPLimits: Equatable, Sendable {
    /// The largest block the server sends (RFC 2348's maximum is 65464).
    public var maxBlockSize: Int = 65464
    public var maxWindowSize: Int = 65535
    /// Bytes a window may occupy in a socket buffer: the window's datagrams, each costing
    /// `datagramCost(blockSize:)`, stay within it. The smaller of this server's send buffer and what
    /// a peer's default receive buffer holds (Linux: 208 KiB; DESIGN section 10: atftp stalls for its
    /// whole timeout when a window overflows it).
    public var windowBudget: Int = 212_992

    public init() {}

    public init(maxBlockSize: Int = 65464, maxWindowSize: Int = 65535, windowBudget: Int = 212_992) {
        self.maxBlockSize = maxBlockSize
        self.maxWindowSize = maxWindowSize
        self.windowBudget = windowBudget
    }

    /// What one DATA datagram of `blockSize` bytes costs in a Linux socket buffer (its sk_buff's
    /// truesize), on the safe side of what was measured here: a default 212,992-byte receive buffer
    /// held 166 datagrams of 512 bytes, 92 of 1468, 12 of 8192, 6 of 32768 and 3 of 65464. Small
    /// datagrams round up to a power of two; large ones to 16 KiB.
    public static func datagramCost(blockSize: Int) -> Int {
        let bytes = blockSize + 4 + 28 + 384
        if bytes <= 4096 {
            var size = 512
            while size < bytes { size *= 2 }
            return size + 512
        }
        return (blockSize + 4 + 16383) / 16384 * 16384 + 1024
    }

    /// The largest window of `blockSize`-byte blocks the budget holds (at least 1).
    public func windowCap(blockSize: Int) -> Int {
        max(1, min(maxWindowSize, windowBudget / Self.datagramCost(blockSize: blockSize)))
    }
}

/// A request the server answers with an ERROR packet.
public struct TFTPRefusal: Error, Equatable, Sendable, CustomStringConvertible {
    public var code: TFTPErrorCode
    public var message: String

    public init(_ code: TFTPErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code) \(message)" }
    public var packet: TFTPPacket { .error(code, message: message) }
}

extension TFTPNegotiation {
    /// Negotiates a read request's options. `fileSize` is the size the transfer will send (after
    /// netascii conversion), for `tsize`.
    public static func negotiate(_ options: [TFTPOption], fileSize: UInt64, limits: TFTPLimits = TFTPLimits()) throws(TFTPRefusal) -> TFTPNegotiation {
        var result = TFTPNegotiation.plain
        var seen: Set<String> = []
        var windowRequested: (index: Int, value: Int)?
        for option in options {
            let name = option.name.lowercased()
            // RFC 2347 does not define repeated options; the first one counts.
            guard ["blksize", "tsize", "timeout", "windowsize"].contains(name), seen.insert(name).inserted else { continue }
            guard let value = decimal(option.value) else {
                throw TFTPRefusal(.optionRefused, "option \(name) needs a decimal value, not '\(TFTPRequest.printable(Array(option.value.utf8)))'")
            }
            switch name {
            case "blksize":
                guard value >= 8 else { throw TFTPRefusal(.optionRefused, "blksize \(value) is below the minimum of 8") }
                result.blockSize = min(value, limits.maxBlockSize)
                result.reply.append(TFTPOption(option.name, String(result.blockSize)))
            case "tsize":
                // curl refuses an OACK with tsize 0 ("invalid tsize"); an empty file's first, empty
                // block says as much, and RFC 2347 lets a server leave an option out.
                if fileSize > 0 { result.reply.append(TFTPOption(option.name, String(fileSize))) }
            case "timeout":
                guard (1...255).contains(value) else { throw TFTPRefusal(.optionRefused, "timeout \(value) is outside 1-255 seconds") }
                result.timeoutSeconds = value
                result.reply.append(TFTPOption(option.name, String(value)))
            default: // windowsize
                guard value >= 1 else { throw TFTPRefusal(.optionRefused, "windowsize \(value) is below the minimum of 1") }
                windowRequested = (result.reply.count, value)
                result.reply.append(TFTPOption(option.name, String(value)))
            }
        }
        // The window's bound depends on the block size, which may come after it in the request.
        if let (index, value) = windowRequested {
            result.windowSize = min(value, limits.windowCap(blockSize: result.blockSize))
            result.reply[index].value = String(result.windowSize)
        }
        return result
    }

    /// A non-negative decimal number of at most 9 digits (enough for every option; larger is refused
    /// rather than overflowing). Leading zeros are accepted, signs and spaces are not.
    static func decimal(_ text: String) -> Int? {
        let digits = Array(text.utf8)
        guard !digits.isEmpty else { return nil }
        var value = 0
        var significant = 0
        for digit in digits {
            guard digit >= UInt8(ascii: "0") && digit <= UInt8(ascii: "9") else { return nil }
            if value > 0 || digit != UInt8(ascii: "0") { significant += 1 }
            guard significant <= 9 else { return Int.max / 2 }
            value = value * 10 + Int(digit - UInt8(ascii: "0"))
        }
        return value
    }
}
