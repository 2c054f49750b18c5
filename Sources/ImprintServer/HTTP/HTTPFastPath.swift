import Glibc
import HTTPTypes
import Hummingbird
import HummingbirdCore
import ImprintCore
import NIOCore
import NIOHTTPTypes
import Synchronization

/// Answers `GET` and `HEAD` for small files (and every refusal) on the connection's event loop,
/// in the channel pipeline, before Hummingbird's per-connection task sees the request. Everything
/// else (bodies streamed from disk, reports, uploads, claims, a site's mirror) goes on to
/// Hummingbird and the same `HTTPStoreResponder`, which makes both answers (docs/http.md, "The
/// fast path").
///
/// Why: Hummingbird hands each request to a Swift task and its response back through async
/// sequences, some 70 µs of CPU per request here, against nginx's 17 µs in all; a boot storm is
/// thousands of small requests (scripts, manifests, signatures).
///
/// Order on a connection is kept: while a request handed to Hummingbird has not had its response
/// written, the requests after it go to Hummingbird too.
final class HTTPFastPath: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let responder: HTTPStoreResponder
    private let dates: HTTPDateCache
    /// Requests handed to Hummingbird whose response has not ended.
    private var handedOn = 0
    /// The body of a request answered here is read and dropped until its end.
    private var dropping = false
    private var needsFlush = false
    private var peer = "-"

    init(responder: HTTPStoreResponder, dates: HTTPDateCache) {
        self.responder = responder
        self.dates = dates
    }

    func handlerAdded(context: ChannelHandlerContext) {
        peer = context.channel.remoteAddress.map(HTTPStoreResponder.text) ?? "-"
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if dropping {
            if case .end = part { dropping = false }
            return
        }
        guard case let .head(head) = part else {
            context.fireChannelRead(data)
            return
        }
        guard handedOn == 0, let outcome = responder.answerNow(head, peer: peer) else {
            handedOn += 1
            context.fireChannelRead(data)
            return
        }
        dropping = true
        var response = outcome.response.head
        response.headerFields[.date] = dates.now()
        context.write(wrapOutboundOut(.head(response)), promise: nil)
        if case let .inMemory(body) = outcome.body {
            context.write(wrapOutboundOut(.body(body)), promise: nil)
        }
        if head.headerFields[.connection]?.lowercased() == "close" {
            // As Hummingbird's HTTPConnectionStateHandler does: the flush writes what it can at once.
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            context.close(promise: nil)
            needsFlush = false
        } else {
            context.write(wrapOutboundOut(.end(nil)), promise: nil)
            needsFlush = true
        }
    }

    /// One flush for every request answered from one read (a client that pipelines gets them
    /// in one `writev`).
    func channelReadComplete(context: ChannelHandlerContext) {
        if needsFlush {
            needsFlush = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data), handedOn > 0 { handedOn -= 1 }
        context.write(data, promise: promise)
    }
}

/// The `Date` header's text (`HTTPDate`), made once a second.
final class HTTPDateCache: Sendable {
    private let latest = Mutex<(second: Int, text: String)>((-1, ""))

    func now() -> String {
        let current = time(nil)
        return latest.withLock { latest in
            if latest.second != current { latest = (current, HTTPDate.format(epochSeconds: current)) }
            return latest.text
        }
    }
}
