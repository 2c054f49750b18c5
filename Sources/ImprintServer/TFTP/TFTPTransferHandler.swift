import ImprintCore
import NIOCore

/// One read transfer on its own socket (its port is the server's transfer ID, RFC 1350): carries out
/// what `TFTPReadTransfer` decides. Runs on its channel's event loop; nothing here blocks but `pread`
/// of a store file, which the page cache answers (a thread-pool hop per block would cost more than
/// the block's round trip on a LAN).
final class TFTPTransferHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    struct Description: Sendable {
        var peer: SocketAddress
        var request: TFTPRequest
        var negotiation: TFTPNegotiation
    }

    private let description: Description
    private var machine: TFTPReadTransfer
    private let source: TFTPSource
    private let log: @Sendable (String) -> Void
    private var timer: Scheduled<Void>?
    private var timerAt: UInt64 = 0
    private var started: UInt64 = 0
    private var closed = false

    init(_ description: Description, machine: TFTPReadTransfer, source: TFTPSource, log: @escaping @Sendable (String) -> Void) {
        self.description = description
        self.machine = machine
        self.source = source
        self.log = log
    }

    private static func now() -> UInt64 { NIODeadline.now().uptimeNanoseconds }

    func channelActive(context: ChannelHandlerContext) {
        started = Self.now()
        perform(machine.start(now: started), context: context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        guard envelope.remoteAddress == description.peer else {
            // Another host or port wrote to this transfer's port: tell it, and carry on (RFC 1350).
            var buffer = context.channel.allocator.buffer(capacity: 40)
            buffer.writeBytes(TFTPPacket.error(.unknownTransferID, message: "unknown transfer ID").bytes)
            context.writeAndFlush(wrapOutboundOut(AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: buffer)), promise: nil)
            return
        }
        let packet = envelope.data.withUnsafeReadableBytes { raw in try? TFTPPacket.decode(raw) }
        guard let packet else { return }
        perform(machine.receive(packet, now: Self.now()), context: context)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // A send failure (e.g. ICMP port unreachable reported back): the peer is gone.
        end(context: context, line: "tftp: failed \(name) to \(peerText): \(error)")
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        if !machine.isDone && !closed {
            log("tftp: stopped \(name) to \(peerText) after \(progressBytes) bytes: server shutting down")
        }
        closed = true
        context.fireChannelInactive()
    }

    private func perform(_ actions: [TFTPReadTransfer.Action], context: ChannelHandlerContext) {
        for action in actions {
            switch action {
            case let .sendOptionAck(options):
                var buffer = context.channel.allocator.buffer(capacity: 64)
                buffer.writeBytes(TFTPPacket.optionAck(options).bytes)
                context.writeAndFlush(wrapOutboundOut(AddressedEnvelope(remoteAddress: description.peer, data: buffer)), promise: nil)
            case let .sendBlocks(first, last, _):
                guard sendBlocks(first...last, context: context) else { return }
            case .finish:
                let seconds = Double(Self.now() - started) / 1e9
                let bytes = source.size
                let rate = seconds > 0 ? Double(bytes) / seconds / 1e6 : 0
                end(context: context, line: "tftp: sent \(name) to \(peerText) \(optionsText) \(bytes) bytes in \(format(seconds, 3)) s, \(format(rate, 1)) MB/s, \(machine.retransmittedPackets) resent")
                return
            case let .fail(failure):
                end(context: context, line: "tftp: failed \(name) to \(peerText) \(optionsText) after \(progressBytes) of \(source.size) bytes: \(failure)")
                return
            }
        }
        armTimer(context: context)
    }

    /// Reads and sends blocks, then flushes once; false when the file could not be read.
    private func sendBlocks(_ range: ClosedRange<UInt64>, context: ChannelHandlerContext) -> Bool {
        for index in range {
            let (offset, count) = machine.byteRange(index)
            var buffer = context.channel.allocator.buffer(capacity: 4 + count)
            buffer.writeBytes(TFTPPacket.dataHeader(block: machine.blockNumber(index)))
            var got = 0
            if count > 0 {
                got = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { raw in
                    max(0, source.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<count]), offset: offset))
                }
            }
            guard got == count else {
                var error = context.channel.allocator.buffer(capacity: 32)
                error.writeBytes(TFTPPacket.error(.notDefined, message: "read error").bytes)
                context.writeAndFlush(wrapOutboundOut(AddressedEnvelope(remoteAddress: description.peer, data: error)), promise: nil)
                end(context: context, line: "tftp: failed \(name) to \(peerText): the file could not be read at offset \(offset) (changed under the transfer?)")
                return false
            }
            context.write(wrapOutboundOut(AddressedEnvelope(remoteAddress: description.peer, data: buffer)), promise: nil)
        }
        context.flush()
        return true
    }

    /// One timer per transfer, moved lazily: it fires at the deadline it was set for, and is set
    /// again if the machine's deadline moved on meanwhile (an ACK per block would otherwise cancel and
    /// schedule a timer per block).
    private func armTimer(context: ChannelHandlerContext) {
        guard let deadline = machine.deadline else {
            timer?.cancel()
            timer = nil
            return
        }
        if timer != nil && timerAt <= deadline { return }
        timer?.cancel()
        timerAt = deadline
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: NIODeadline.uptimeNanoseconds(deadline)) {
            let (handler, context) = loopBound.value
            handler.timer = nil
            guard !handler.closed else { return }
            handler.perform(handler.machine.timeout(now: Self.now()), context: context)
        }
    }

    private func end(context: ChannelHandlerContext, line: String) {
        guard !closed else { return }
        closed = true
        timer?.cancel()
        timer = nil
        log(line)
        context.close(promise: nil)
    }

    private var name: String { source.path }
    private var peerText: String { TFTPServer.text(description.peer) }
    private var progressBytes: UInt64 { min(source.size, machine.acknowledged * UInt64(machine.settings.blockSize)) }
    private var optionsText: String {
        var parts = ["mode \(description.request.mode.rawValue)"]
        parts += description.negotiation.reply.map { "\($0.name.lowercased()) \($0.value)" }
        return "(" + parts.joined(separator: ", ") + ")"
    }
}

func format(_ value: Double, _ decimals: Int) -> String {
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let rounded = (value * scale).rounded() / scale
    var text = String(rounded)
    if let dot = text.firstIndex(of: ".") {
        let have = text.distance(from: dot, to: text.endIndex) - 1
        if have < decimals { text += String(repeating: "0", count: decimals - have) }
    }
    return text
}
