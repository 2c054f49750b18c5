import Glibc
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOPosix

/// The store's HTTP server (Hummingbird): files for `GET` and `HEAD`, agents' reports for `PUT`
/// (docs/http.md). `start` returns once it listens; `shutdown` stops it.
public final class HTTPServer: Sendable {
    /// The address the server listens on, and its port (the one the system chose for port 0).
    public let host: String
    public let port: Int
    private let task: Task<Void, any Error>
    private let mirror: Mirror?
    /// Whether this server made `mirror` (and so runs its forwarder and shuts it down), rather than
    /// sharing another server's.
    private let ownsMirror: Bool
    private let forwarder: Task<Void, Never>?

    private init(host: String, port: Int, task: Task<Void, any Error>, mirror: Mirror?, ownsMirror: Bool, forwarder: Task<Void, Never>?) {
        self.host = host
        self.port = port
        self.task = task
        self.mirror = mirror
        self.ownsMirror = ownsMirror
        self.forwarder = forwarder
    }

    /// Binds the listener and returns the running server. With `sharingMirrorOf` (the HTTP server
    /// beside an HTTPS one), a site mirror's blob fetches and report queue are that server's: one
    /// fetch per blob and one forwarder whichever listener a machine uses. Shut the sharing server
    /// down first.
    public static func start(_ configuration: HTTPServerConfiguration, sharingMirrorOf other: HTTPServer? = nil) async throws -> HTTPServer {
        guard let resolved = realpath(configuration.root, nil) else {
            throw HTTPServerError.badRoot("store \(configuration.root) does not exist: build one with `imprint build RECIPE --store \(configuration.root)`")
        }
        let root = String(cString: resolved)
        free(resolved)
        let address = configuration.host.contains(":") ? "[\(configuration.host)]:\(configuration.port)" : "\(configuration.host):\(configuration.port)"
        do {
            _ = try SocketAddress(ipAddress: configuration.host, port: configuration.port)
        } catch {
            throw HTTPServerError.cannotListen(address, "'\(configuration.host)' is not an IP address")
        }

        // Hummingbird's own log says little the access log does not, and it logs nothing at `critical`,
        // the level this server used to keep. A handler that drops everything costs nothing per request:
        // the default StreamLogHandler re-formats its metadata each time Hummingbird tags a request
        // with its id (about 6% of a 4 KiB request's time).
        var logger = Logger(label: "imprint.http") { _ in SwiftLogNoOpLogHandler() }
        logger.logLevel = .critical
        let (events, continuation) = AsyncStream<Result<Int, any Error>>.makeStream()
        let shared = configuration.upstream == nil ? nil : other?.mirror
        let ownsMirror = shared == nil
        let mirror = shared ?? configuration.upstream.map {
            Mirror(root: root, upstream: $0, maxBlobBytes: configuration.mirrorMaxBlobBytes,
                   answerAfterBytes: configuration.mirrorAnswerAfterBytes, log: configuration.log)
        }
        let service = configuration.tls == nil ? "HTTP" : "HTTPS"
        let responder = HTTPStoreResponder(root: root, configuration: configuration, mirror: mirror, folder: HTTPStoreFolder(root))
        let dates = HTTPDateCache()
        let server: HTTPServerBuilder
        do {
            // Small files and refusals are answered in the pipeline (HTTPFastPath), the rest by the
            // responder through Hummingbird.
            let http1 = HTTPServerBuilder.http1(configuration: .init(additionalChannelHandlers: [HTTPFastPath(responder: responder, dates: dates)]))
            server = try configuration.tls.map { try .tls(http1, tlsConfiguration: try tlsConfiguration($0)) } ?? http1
        } catch {
            if ownsMirror { await mirror?.shutdown() }
            throw HTTPServerError.badCertificate("\(error)")
        }
        let application = Application(
            responder: responder,
            server: server,
            configuration: ApplicationConfiguration(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
            onServerRunning: { channel in
                continuation.yield(.success(channel.localAddress?.port ?? configuration.port))
            },
            logger: logger)
        let task = Task {
            do {
                try await application.run()
                continuation.yield(.failure(HTTPServerError.cannotListen(address, "the server stopped", service: service)))
            } catch {
                continuation.yield(.failure(error))
                throw error
            }
        }
        for await event in events {
            switch event {
            case let .success(port):
                let forwarder = ownsMirror ? mirror.map { mirror in Task { await mirror.runForwarder() } } : nil
                return HTTPServer(host: configuration.host, port: port, task: task, mirror: mirror, ownsMirror: ownsMirror, forwarder: forwarder)
            case let .failure(error):
                task.cancel()
                if ownsMirror { await mirror?.shutdown() }
                throw describe(error, address: address, service: service)
            }
        }
        task.cancel()
        if ownsMirror { await mirror?.shutdown() }
        throw HTTPServerError.cannotListen(address, "the server did not start", service: service)
    }

    /// TLS 1.2 and 1.3 with NIOSSL's default ciphers, presenting the chain and key of `serve --https`.
    private static func tlsConfiguration(_ tls: HTTPServerTLS) throws -> TLSConfiguration {
        let chain = try NIOSSLCertificate.fromPEMBytes(Array(tls.certificateChainPEM.utf8))
        guard !chain.isEmpty else { throw HTTPServerError.badCertificate("the certificate file holds no certificate") }
        let key = try NIOSSLPrivateKey(bytes: Array(tls.privateKeyPEM.utf8), format: .pem)
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        return configuration
    }

    private static func describe(_ error: any Error, address: String, service: String) -> HTTPServerError {
        if let known = error as? HTTPServerError { return known }
        if let io = error as? IOError {
            switch io.errnoCode {
            case EADDRINUSE: return .addressInUse(address, service: service)
            case EACCES, EPERM: return .permissionDenied(address, service: service)
            case EADDRNOTAVAIL: return .cannotListen(address, "no interface has that address", service: service)
            default: break
            }
        }
        return .cannotListen(address, "\(error)", service: service)
    }

    /// Returns when the server stops: after `shutdown`, or on its own (an error).
    public func wait() async throws {
        try await task.value
    }

    /// Stops listening and ends the connections in progress.
    public func shutdown() async {
        task.cancel()
        _ = await task.result
        forwarder?.cancel()
        await forwarder?.value
        if ownsMirror { await mirror?.shutdown() }
    }
}
