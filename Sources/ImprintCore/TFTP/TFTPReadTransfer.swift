/// One read transfer (the server sends a file) as a value-type state machine: events in (start, a
/// packet from the peer, a timer), at most one action out for each (nil: nothing to do). It does no
/// I/O and keeps no file data: the actions name blocks by index, and the caller reads and sends them. Time is whatever clock the caller
/// passes, in nanoseconds (tests pass a fake one).
///
/// Blocks are indexed 1, 2, ... without limit; on the wire block `i` is numbered `i mod 65536`, so
/// the number rolls over from 65535 to 0 as tftp-hpa and most clients expect. A file of `size` bytes
/// is `size / blockSize + 1` blocks: the last one is short, and empty when the size is a multiple of
/// the block size.
///
/// Windows (RFC 7440): up to `windowSize` blocks go out, then the machine waits for an ACK. An ACK of
/// the window's last block sends the next window; an ACK of an earlier block in it (the peer missed
/// one) sends a new window from the block after it. An ACK of a block already acknowledged is
/// ignored, never answered with a resend (the Sorcerer's Apprentice bug, RFC 1123 4.2.3.1): only the
/// timer resends. After `maxRetransmits` timeouts in a row without progress, the peer is gone.
public struct TFTPReadTransfer: Sendable {
    public struct Settings: Equatable, Sendable {
        public var size: UInt64
        public var blockSize: Int
        public var windowSize: Int
        /// The OACK to send first and have acknowledged with ACK 0; empty for a plain transfer.
        public var optionAck: [TFTPOption]
        /// Nanoseconds without progress before the unacknowledged packets are sent again.
        public var retransmitInterval: UInt64
        public var maxRetransmits: Int

        public init(size: UInt64, negotiation: TFTPNegotiation, defaultTimeout: UInt64 = 1_000_000_000, maxRetransmits: Int = 5) {
            self.size = size
            self.blockSize = negotiation.blockSize
            self.windowSize = negotiation.windowSize
            self.optionAck = negotiation.reply
            self.retransmitInterval = negotiation.timeoutSeconds.map { UInt64($0) * 1_000_000_000 } ?? defaultTimeout
            self.maxRetransmits = maxRetransmits
        }
    }

    public enum Action: Equatable, Sendable {
        case sendOptionAck([TFTPOption])
        /// Send blocks `first...last` (indexes; see `blockNumber(_:)` and `byteRange(_:)`).
        /// `resend` is true when some of them were sent before.
        case sendBlocks(first: UInt64, last: UInt64, resend: Bool)
        /// The peer acknowledged the last block.
        case finish
        /// The transfer is over without success; nothing more is sent.
        case fail(Failure)
    }

    public enum Failure: Equatable, Sendable, CustomStringConvertible {
        case timedOut(retransmits: Int)
        case peerError(TFTPErrorCode, String)

        public var description: String {
            switch self {
            case let .timedOut(n): "peer stopped answering (\(n) retransmits)"
            case let .peerError(code, message): "peer sent \(code) '\(message)'"
            }
        }
    }

    enum Phase: Equatable, Sendable { case ready, awaitingOptionAck, sending, done }

    public let settings: Settings
    /// Blocks in the transfer.
    public let blockCount: UInt64
    private(set) var phase: Phase = .ready
    /// The highest block index the peer acknowledged (0 before any).
    public private(set) var acknowledged: UInt64 = 0
    /// The last block index of the window in flight.
    public private(set) var sentThrough: UInt64 = 0
    /// When `timeout(now:)` wants to be called next; nil once the transfer is over.
    public private(set) var deadline: UInt64?
    /// Timeouts in a row without progress.
    private var retransmitsInARow = 0
    /// Packets sent again over the whole transfer (for the log).
    public private(set) var retransmittedPackets = 0

    public init(settings: Settings) {
        precondition(settings.blockSize >= 1 && settings.windowSize >= 1 && settings.windowSize <= 65535)
        self.settings = settings
        self.blockCount = settings.size / UInt64(settings.blockSize) + 1
    }

    public var isDone: Bool { phase == .done }

    /// The wire number of block `index`.
    public func blockNumber(_ index: UInt64) -> UInt16 { UInt16(truncatingIfNeeded: index) }

    /// The file bytes block `index` carries.
    public func byteRange(_ index: UInt64) -> (offset: UInt64, count: Int) {
        let offset = (index - 1) * UInt64(settings.blockSize)
        return (offset, Int(min(UInt64(settings.blockSize), settings.size - min(offset, settings.size))))
    }

    public mutating func start(now: UInt64) -> Action? {
        guard phase == .ready else { return nil }
        if settings.optionAck.isEmpty {
            phase = .sending
            return sendWindow(now: now)
        }
        phase = .awaitingOptionAck
        deadline = now + settings.retransmitInterval
        return .sendOptionAck(settings.optionAck)
    }

    /// A packet from the transfer's peer (the caller has checked its source).
    public mutating func receive(_ packet: TFTPPacket, now: UInt64) -> Action? {
        switch (phase, packet) {
        case (.done, _), (.ready, _):
            return nil
        case let (_, .error(code, message)):
            return finish(.fail(.peerError(code, message)))
        case (.awaitingOptionAck, .ack(0)):
            phase = .sending
            retransmitsInARow = 0
            return sendWindow(now: now)
        case let (.sending, .ack(number)):
            // The acknowledged index: the one in (acknowledged, acknowledged + 65536) with this number.
            let ahead = UInt64(number &- UInt16(truncatingIfNeeded: acknowledged))
            let index = acknowledged + ahead
            guard ahead > 0, index <= sentThrough else { return nil }
            acknowledged = index
            retransmitsInARow = 0
            if acknowledged == blockCount { return finish(.finish) }
            return sendWindow(now: now)
        default:
            // Anything else on the transfer's port (DATA, a request, an ACK before the OACK's) is ignored.
            return nil
        }
    }

    /// The timer fired; does nothing before `deadline`.
    public mutating func timeout(now: UInt64) -> Action? {
        guard let deadline, now >= deadline, phase != .done else { return nil }
        retransmitsInARow += 1
        if retransmitsInARow > settings.maxRetransmits {
            return finish(.fail(.timedOut(retransmits: settings.maxRetransmits)))
        }
        self.deadline = now + settings.retransmitInterval
        switch phase {
        case .awaitingOptionAck:
            retransmittedPackets += 1
            return .sendOptionAck(settings.optionAck)
        case .sending:
            retransmittedPackets += Int(sentThrough - acknowledged)
            return .sendBlocks(first: acknowledged + 1, last: sentThrough, resend: true)
        default:
            return nil
        }
    }

    private mutating func sendWindow(now: UInt64) -> Action {
        let first = acknowledged + 1
        let last = min(acknowledged + UInt64(settings.windowSize), blockCount)
        // Blocks of an earlier window the peer did not acknowledge go out again.
        let resend = first <= sentThrough
        if resend { retransmittedPackets += Int(min(sentThrough, last) - first + 1) }
        sentThrough = last
        deadline = now + settings.retransmitInterval
        return .sendBlocks(first: first, last: last, resend: resend)
    }

    private mutating func finish(_ action: Action) -> Action {
        phase = .done
        deadline = nil
        return action
    }
}
