/// How an `HTTPServer` runs. The defaults are the ones `imprint serve` uses (docs/http.md).
public struct HTTPServerConfiguration: Sendable {
    /// The store folder; every regular file in it is served except under `incoming/` and `secrets/`.
    public var root: String
    public var host: String
    /// 0 asks the system for a free port (tests); `HTTPServer.port` tells which.
    public var port: Int
    /// Largest body accepted for `reports/<mac>/status.json` and `inventory.json`; past it, 413.
    public var maxReportBytes = 1 << 20
    /// Largest body accepted for `reports/<mac>/log.txt`.
    public var maxLogBytes = 8 << 20
    /// Bytes read from a file and written to the connection at a time; the next chunk is read while
    /// one is written, so a transfer holds at most two. 1 MiB rather than 256 KiB: a quarter of the
    /// hops to the blocking pool (scripts/bench-http measured up to 10% more MB/s on one stream).
    public var chunkBytes = 1 << 20
    /// Bodies up to this size are read in one `pread` on the request's thread instead of streamed
    /// from the blocking pool (4 KiB requests per second: about 2x). 0 streams everything.
    public var inlineReadBytes = 64 << 10
    /// A remote office's mirror: the store it pulls from and the site token (docs/scale.md).
    public var upstream: MirrorUpstream?
    /// Largest blob a mirror fetches from upstream.
    public var mirrorMaxBlobBytes = 1 << 42
    /// A mirror fetches blobs up to this size whole before answering, so a bad one is a 502 rather
    /// than a transfer cut short; larger ones stream to the client as they arrive.
    public var mirrorAnswerAfterBytes = 1 << 20
    /// Serve HTTPS with this certificate chain and key rather than plain HTTP (`serve --https`).
    public var tls: HTTPServerTLS?
    /// What the access log's lines start with: `http:`, or `https:` for `serve --https`.
    public var logPrefix: String { tls == nil ? "http:" : "https:" }
    /// Gets one access-log line per request.
    public var log: @Sendable (String) -> Void

    public init(root: String, host: String = "0.0.0.0", port: Int = 8080, log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.root = root
        self.host = host
        self.port = port
        self.log = log
    }
}

/// Why the server could not start.
public enum HTTPServerError: Error, CustomStringConvertible, Sendable {
    case addressInUse(String, service: String = "HTTP")
    case permissionDenied(String, service: String = "HTTP")
    case badRoot(String)
    case cannotListen(String, String, service: String = "HTTP")
    case badCertificate(String)

    public var description: String {
        switch self {
        case let .addressInUse(address, service):
            ListenFailure.addressInUse(service, address, rivals: "another web server, or an earlier imprint serve?")
        case let .permissionDenied(address, service):
            ListenFailure.permissionDenied(service, address, flag: service == "HTTPS" ? "--https 0.0.0.0:8443" : "--http 0.0.0.0:8080")
        case let .badRoot(message):
            message
        case let .cannotListen(address, reason, service):
            ListenFailure.other(service, address, reason)
        case let .badCertificate(reason):
            "cannot serve HTTPS: \(reason)"
        }
    }
}

/// The certificate chain (the server's first) and private key an HTTPS server presents, PEM.
public struct HTTPServerTLS: Sendable {
    public var certificateChainPEM: String
    public var privateKeyPEM: String

    public init(certificateChainPEM: String, privateKeyPEM: String) {
        self.certificateChainPEM = certificateChainPEM
        self.privateKeyPEM = privateKeyPEM
    }
}
