import Testing

@testable import ImprintCore

/// The transfer state machine, driven by hand: a fake clock in nanoseconds and packets built in the test.
@Suite("TFTP read transfer")
struct TFTPReadTransferTests {
    static let second: UInt64 = 1_000_000_000

    func machine(size: UInt64, blksize: Int = 512, window: Int = 1, oack: [TFTPOption] = [], retries: Int = 3) -> TFTPReadTransfer {
        let negotiation = TFTPNegotiation(blockSize: blksize, windowSize: window, timeoutSeconds: nil, reply: oack)
        return TFTPReadTransfer(settings: .init(size: size, negotiation: negotiation, defaultTimeout: Self.second, maxRetransmits: retries))
    }

    @Test func lockstepTransferOfThreeBlocks() {
        var m = machine(size: 1100)  // 512 + 512 + 76
        #expect(m.blockCount == 3)
        #expect(m.start(now: 0) == .sendBlocks(first: 1, last: 1, resend: false))
        #expect(m.byteRange(1) == (0, 512))
        #expect(m.receive(.ack(block: 1), now: 10) == .sendBlocks(first: 2, last: 2, resend: false))
        #expect(m.receive(.ack(block: 2), now: 20) == .sendBlocks(first: 3, last: 3, resend: false))
        #expect(m.byteRange(3) == (1024, 76))
        #expect(m.receive(.ack(block: 3), now: 30) == .finish)
        #expect(m.isDone)
        #expect(m.deadline == nil)
        #expect(m.receive(.ack(block: 3), now: 40) == nil, "a repeated final ACK does nothing")
    }

    @Test func aFileOfWholeBlocksEndsWithAnEmptyBlock() {
        let m = machine(size: 1024)
        #expect(m.blockCount == 3)
        #expect(m.byteRange(3) == (1024, 0))
        var empty = machine(size: 0)
        #expect(empty.blockCount == 1)
        #expect(empty.start(now: 0) == .sendBlocks(first: 1, last: 1, resend: false))
        #expect(empty.byteRange(1) == (0, 0))
        #expect(empty.receive(.ack(block: 1), now: 1) == .finish)
    }

    @Test func optionAckIsSentFirstAndAckZeroStartsTheData() {
        let oack = [TFTPOption("blksize", "1468")]
        var m = machine(size: 3000, blksize: 1468, oack: oack)
        #expect(m.start(now: 0) == .sendOptionAck(oack))
        #expect(m.receive(.ack(block: 1), now: 1) == nil, "only ACK 0 answers an OACK")
        #expect(m.receive(.ack(block: 0), now: 2) == .sendBlocks(first: 1, last: 1, resend: false))
        #expect(m.receive(.ack(block: 0), now: 3) == nil, "a duplicate ACK 0 sends nothing")
    }

    @Test func lostOptionAckIsResentOnTimeout() {
        let oack = [TFTPOption("tsize", "3000")]
        var m = machine(size: 3000, oack: oack)
        _ = m.start(now: 0)
        #expect(m.timeout(now: Self.second - 1) == nil, "not before the deadline")
        #expect(m.timeout(now: Self.second) == .sendOptionAck(oack))
        #expect(m.deadline == 2 * Self.second)
        #expect(m.receive(.ack(block: 0), now: Self.second + 5) == .sendBlocks(first: 1, last: 1, resend: false))
        #expect(m.retransmittedPackets == 1)
    }

    @Test func lostDataIsResentOnTimeout() {
        var m = machine(size: 2000)
        _ = m.start(now: 0)
        _ = m.receive(.ack(block: 1), now: 100)
        // Block 2 is lost: the peer stays quiet, the timer resends it.
        #expect(m.timeout(now: 100 + Self.second) == .sendBlocks(first: 2, last: 2, resend: true))
        #expect(m.receive(.ack(block: 2), now: 200 + Self.second) == .sendBlocks(first: 3, last: 3, resend: false))
    }

    @Test func lostAckIsTheSameAsLostData() {
        // The peer got block 2 but its ACK was lost: the resend makes it ACK again, and the transfer goes on.
        var m = machine(size: 2000)
        _ = m.start(now: 0)
        _ = m.receive(.ack(block: 1), now: 1)
        #expect(m.timeout(now: Self.second + 1) == .sendBlocks(first: 2, last: 2, resend: true))
        #expect(m.receive(.ack(block: 2), now: Self.second + 2) == .sendBlocks(first: 3, last: 3, resend: false))
    }

    @Test func duplicateAcksNeverResend() {
        // The Sorcerer's Apprentice: a delayed duplicate ACK must not send the next block twice.
        var m = machine(size: 5000)
        _ = m.start(now: 0)
        #expect(m.receive(.ack(block: 1), now: 1) == .sendBlocks(first: 2, last: 2, resend: false))
        #expect(m.receive(.ack(block: 1), now: 2) == nil)
        #expect(m.receive(.ack(block: 1), now: 3) == nil)
        #expect(m.receive(.ack(block: 2), now: 4) == .sendBlocks(first: 3, last: 3, resend: false))
        #expect(m.retransmittedPackets == 0)
    }

    @Test func acksFromTheFutureAreIgnored() {
        var m = machine(size: 5000)
        _ = m.start(now: 0)
        #expect(m.receive(.ack(block: 2), now: 1) == nil, "block 2 was never sent")
        #expect(m.receive(.ack(block: 60000), now: 1) == nil)
    }

    @Test func aPeerThatNeverAnswersIsDroppedAfterTheRetransmits() {
        var m = machine(size: 5000, retries: 3)
        _ = m.start(now: 0)
        var now: UInt64 = 0
        for _ in 0..<3 {
            now += Self.second
            #expect(m.timeout(now: now) == .sendBlocks(first: 1, last: 1, resend: true))
        }
        now += Self.second
        #expect(m.timeout(now: now) == .fail(.timedOut(retransmits: 3)))
        #expect(m.isDone)
        #expect(m.timeout(now: now + Self.second) == nil)
    }

    @Test func progressResetsTheRetransmitCount() {
        var m = machine(size: 5000, retries: 1)
        _ = m.start(now: 0)
        #expect(m.timeout(now: Self.second) == .sendBlocks(first: 1, last: 1, resend: true))
        _ = m.receive(.ack(block: 1), now: Self.second + 1)
        #expect(m.timeout(now: 2 * Self.second + 1) == .sendBlocks(first: 2, last: 2, resend: true), "one retry again, not a failure")
    }

    @Test func anErrorFromThePeerEndsTheTransfer() {
        var m = machine(size: 5000)
        _ = m.start(now: 0)
        #expect(m.receive(.error(.notDefined, message: "cancelled"), now: 1) == .fail(.peerError(.notDefined, "cancelled")))
        #expect(m.receive(.ack(block: 1), now: 2) == nil)
    }

    @Test func otherPacketsOnTheTransferPortAreIgnored() {
        var m = machine(size: 5000)
        _ = m.start(now: 0)
        #expect(m.receive(.data(block: 1, payload: [1]), now: 1) == nil)
        #expect(m.receive(.readRequest(TFTPRequest(filename: "x")), now: 1) == nil)
        #expect(m.receive(.optionAck([]), now: 1) == nil)
    }

    @Test func windowsGoOutWholeAndAPartialAckRestartsAfterIt() {
        var m = machine(size: 10 * 512 + 1, window: 4)  // 11 blocks
        #expect(m.start(now: 0) == .sendBlocks(first: 1, last: 4, resend: false))
        #expect(m.receive(.ack(block: 4), now: 1) == .sendBlocks(first: 5, last: 8, resend: false))
        // Block 7 was lost: the peer acknowledges 6, the last it has in order.
        #expect(m.receive(.ack(block: 6), now: 2) == .sendBlocks(first: 7, last: 10, resend: true))
        #expect(m.retransmittedPackets == 2)
        #expect(m.receive(.ack(block: 6), now: 3) == nil, "the duplicate of that ACK does nothing")
        #expect(m.receive(.ack(block: 10), now: 4) == .sendBlocks(first: 11, last: 11, resend: false))
        #expect(m.receive(.ack(block: 11), now: 5) == .finish)
    }

    @Test func aWindowTimeoutResendsTheUnacknowledgedPart() {
        var m = machine(size: 20 * 512, window: 8)
        _ = m.start(now: 0)
        #expect(m.timeout(now: Self.second) == .sendBlocks(first: 1, last: 8, resend: true))
        #expect(m.retransmittedPackets == 8)
    }

    @Test func blockNumbersRollOverFrom65535ToZero() {
        // 32 MiB + 1 at 512 bytes: 65,537 blocks, numbered 1...65535, 0, 1.
        let size: UInt64 = 32 << 20 + 1
        var m = machine(size: size)
        #expect(m.blockCount == 65537)
        _ = m.start(now: 0)
        for index in UInt64(1)...65534 {
            #expect(m.receive(.ack(block: UInt16(index)), now: index) == .sendBlocks(first: index + 1, last: index + 1, resend: false))
        }
        #expect(m.blockNumber(65535) == 65535)
        #expect(m.blockNumber(65536) == 0)
        #expect(m.blockNumber(65537) == 1)
        #expect(m.receive(.ack(block: 65535), now: 70000) == .sendBlocks(first: 65536, last: 65536, resend: false))
        #expect(m.receive(.ack(block: 65535), now: 70001) == nil, "duplicate just before the rollover")
        #expect(m.receive(.ack(block: 0), now: 70002) == .sendBlocks(first: 65537, last: 65537, resend: false))
        #expect(m.byteRange(65537) == (32 << 20, 1))
        #expect(m.receive(.ack(block: 0), now: 70003) == nil, "ACK 0 after the rollover is a duplicate, not ACK of the OACK")
        #expect(m.receive(.ack(block: 1), now: 70004) == .finish)
    }

    @Test func windowsSpanTheRollover() {
        var m = machine(size: 70000 * 512, window: 16)
        _ = m.start(now: 0)
        var acked: UInt64 = 0
        while acked + 16 < 65530 {
            acked += 16
            _ = m.receive(.ack(block: UInt16(truncatingIfNeeded: acked)), now: acked)
        }
        #expect(m.sentThrough == acked + 16)
        let last = acked + 16  // 65536: its ACK is numbered 0
        #expect(last == 65536)
        #expect(m.receive(.ack(block: UInt16(truncatingIfNeeded: last)), now: 1 << 32) == .sendBlocks(first: last + 1, last: last + 16, resend: false))
        #expect(m.acknowledged == last)
    }
}
