import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// Where a site's mirror or `imprint replicate` reads from, and the token it shows there.
public struct MirrorUpstream: Sendable {
    /// Upstream's base URL, without a trailing slash (`http://central:8080`).
    public var url: String
    /// The site token (`imprint site add NAME` printed it), sent as `Imprint-Site`.
    public var siteToken: String

    public init(url: String, siteToken: String) {
        var url = url
        while url.hasSuffix("/") { url.removeLast() }
        self.url = url
        self.siteToken = siteToken
    }

    /// Checks the URL's shape: `http://HOST[:PORT][/PATH]` or `https://...`.
    public static func validate(url: String) throws(MirrorError) {
        let lower = url.lowercased()
        guard lower.hasPrefix("http://") || lower.hasPrefix("https://"), url.split(separator: "/").count >= 2 else {
            throw MirrorError("--upstream \(url) is not an http:// or https:// URL: give the main office's store, such as http://central.example:8080")
        }
    }
}

/// The upstream client: AsyncHTTPClient with short connect timeouts, so a site whose WAN is down
/// serves its local copies at once.
final class UpstreamClient: Sendable {
    let upstream: MirrorUpstream
    let client: HTTPClient

    init(_ upstream: MirrorUpstream, connectTimeout: Int64 = 3, readTimeout: Int64 = 60) {
        self.upstream = upstream
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(connectTimeout), read: .seconds(readTimeout)),
            decompression: .disabled)
        configuration.httpVersion = .http1Only
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    func shutdown() async {
        try? await client.shutdown()
    }

    func url(_ relative: String) -> String { "\(upstream.url)/\(relative)" }

    /// GET `relative` with extra headers; the response head, body to be read by the caller.
    func get(_ relative: String, headers: [(String, String)] = [], timeout: Int64 = 3600) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: url(relative))
        request.method = .GET
        request.headers.add(name: SiteToken.header, value: upstream.siteToken)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        return try await client.execute(request, timeout: .seconds(timeout))
    }

    /// PUT a small body; upstream's status.
    func put(_ relative: String, body: [UInt8], headers: [(String, String)]) async throws -> Int {
        var request = HTTPClientRequest(url: url(relative))
        request.method = .PUT
        request.headers.add(name: SiteToken.header, value: upstream.siteToken)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await client.execute(request, timeout: .seconds(30))
        _ = try? await response.body.collect(upTo: 1 << 20)
        return Int(response.status.code)
    }
}

extension HTTPClientResponse {
    var contentType: String? { headers.first(name: "Content-Type") }
    var contentLength: Int? { headers.first(name: "Content-Length").flatMap { Int($0.trimmingSpaces) } }
    var etag: String? { headers.first(name: "ETag") }
}
