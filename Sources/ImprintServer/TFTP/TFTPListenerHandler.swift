import ImprintCore
import NIOCore
import NIOPosix

/// The listening socket (port 69): reads requests, refuses what it must with an ERROR packet and a
/// log line, and starts each accepted read on a new socket and thread of its own
/// (`TFTPTransferThread`). Runs on the listener's loop.
final class TFTPListenerHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    private let settings: TFTPServer.Settings

    init(settings: TFTPServer.Settings) {
        self.settings = settings
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let peer = envelope.remoteAddress
        let decoded = envelope.data.withUnsafeReadableBytes { raw in Result { () throws(TFTPDecodeError) in try TFTPPacket.decode(raw) } }
        switch decoded {
        case let .failure(error):
            // Only a request deserves an answer: anything else on this port is noise (or a reflection attempt).
            guard let first = envelope.data.getInteger(at: envelope.data.readerIndex, as: UInt16.self),
                  first == TFTPOpcode.readRequest.rawValue || first == TFTPOpcode.writeRequest.rawValue else { return }
            refuse(TFTPRefusal(.illegalOperation, "malformed request: \(error)"), what: "malformed request", to: peer, context: context)
        case let .success(.writeRequest(request)):
            refuse(TFTPRefusal(.accessViolation, "this server is read-only"), what: "WRQ '\(request.printableFilename)'", to: peer, context: context)
        case let .success(.readRequest(request)):
            accept(request, from: peer, localAddress: envelope.metadata?.packetInfo?.destinationAddress, context: context)
        case .success:
            return
        }
    }

    private func accept(_ request: TFTPRequest, from peer: SocketAddress, localAddress: SocketAddress?, context: ChannelHandlerContext) {
        let what = "RRQ '\(request.printableFilename)'"
        guard request.mode != .mail else {
            return refuse(TFTPRefusal(.illegalOperation, "mail mode is not supported"), what: what, to: peer, context: context)
        }
        let active = settings.transfers.runningCount
        guard active < settings.configuration.maxTransfers else {
            return refuse(TFTPRefusal(.notDefined, "server busy: \(active) transfers in progress, try again"), what: what, to: peer, context: context)
        }
        let source: TFTPSource
        let negotiation: TFTPNegotiation
        do {
            let components = try TFTPPath.resolve(request.filename)
            source = try TFTPSource.open(root: settings.root, components: components, mode: request.mode,
                                         maxNetascii: settings.configuration.maxNetasciiBytes)
            negotiation = try TFTPNegotiation.negotiate(request.options, fileSize: source.size, limits: settings.limits)
        } catch {
            return refuse(error, what: what, to: peer, context: context)
        }
        let machine = TFTPReadTransfer(settings: .init(
            size: source.size, negotiation: negotiation,
            defaultTimeout: UInt64(settings.configuration.defaultTimeoutMilliseconds) * 1_000_000,
            maxRetransmits: settings.configuration.maxRetransmits))
        let description = TFTPTransferThread.Description(peer: peer, request: request, negotiation: negotiation)
        let log = settings.configuration.log
        // Answer from the address the request came to, so a host with several addresses answers
        // from the one the client knows.
        var bindAddress = settings.transferBindAddress
        if let localAddress, let ip = localAddress.ipAddress, let address = try? SocketAddress(ipAddress: ip, port: 0) {
            bindAddress = address
        }
        let transfers = settings.transfers
        do throws(TFTPSocketFailure) {
            let transfer = try TFTPTransferThread(description, machine: machine, source: source, bind: bindAddress,
                                                  bufferBytes: settings.configuration.socketBufferBytes, stop: transfers, log: log)
            transfers.threadStarted()
            do throws(TFTPSocketFailure) {
                try transfer.start { transfers.threadEnded() }
            } catch {
                transfers.threadEnded()
                throw error
            }
        } catch {
            log("tftp: failed \(what) from \(TFTPServer.text(peer)): cannot open a transfer socket: \(error)")
        }
    }

    private func refuse(_ refusal: TFTPRefusal, what: String, to peer: SocketAddress, context: ChannelHandlerContext) {
        settings.configuration.log("tftp: refused \(what) from \(TFTPServer.text(peer)): \(refusal.code) \(refusal.message)")
        var buffer = context.channel.allocator.buffer(capacity: 64 + refusal.message.utf8.count)
        buffer.writeBytes(refusal.packet.bytes)
        context.writeAndFlush(wrapOutboundOut(AddressedEnvelope(remoteAddress: peer, data: buffer)), promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // An ICMP error for an earlier ERROR packet, say: the listener keeps listening.
        settings.configuration.log("tftp: listener: \(error)")
    }
}
