import AsyncHTTPClient
import Glibc
import Hummingbird
import ImprintCore
import NIOCore

/// A site holds no secrets: a token claim made at a site is forwarded to the main office, which
/// answers it (docs/scale.md). With the WAN down the claim fails and the agent retries.
extension HTTPStoreResponder {
    func mirrorClaim(_ request: Request, target: String, mirror: Mirror) async -> Outcome {
        guard let segments = try? HTTPStorePath.segments(target), segments.count == 3, segments[0] == "devices", segments[2] == "claim" else {
            return Self.status(.methodNotAllowed, note: "POST is only for devices/<mac>/claim", headers: [.allow: "GET, HEAD"])
        }
        // A token the main office minted for this site ahead of time answers one claim, WAN or not.
        if let token = ClaimDelegation.take(root: root, mac: segments[1]) {
            return Self.claimAnswer(token: token, note: "claim answered with the token delegated to this site")
        }
        var forward = HTTPClientRequest(url: mirror.client.url(segments.joined(separator: "/")))
        forward.method = .POST
        forward.headers.add(name: SiteToken.header, value: mirror.client.upstream.siteToken)
        do {
            let response = try await mirror.client.client.execute(forward, timeout: .seconds(30))
            let body = try await response.body.collect(upTo: 64 << 10)
            var headers: HTTPFields = [:]
            headers[.cacheControl] = "no-store"
            if let type = response.headers.first(name: "Content-Type") { headers[.contentType] = type }
            let status = HTTPResponse.Status(code: Int(response.status.code))
            return Outcome(response: Response(status: status, headers: headers, body: ResponseBody(byteBuffer: body)), bytes: body.readableBytes,
                           note: "claim forwarded upstream: \(response.status.code)")
        } catch {
            return Self.status(.badGateway, note: "claim: upstream \(mirror.client.upstream.url) unreachable: \(error)")
        }
    }
}

/// `imprint replicate --device MAC --delegate` (docs/security.md "Tokens"): for a site that must
/// deploy with the WAN down, the main office mints the device's next token ahead of time (a claim
/// made with the site token) and the site keeps it in `secrets/delegated/<mac>.token` (0600), to
/// answer the device's claim once. Reports the site forwards then carry a token the main office knows.
public enum ClaimDelegation {
    static func path(_ root: String, _ mac: String) -> String { "\(root)/secrets/delegated/\(mac).token" }

    /// Claims `mac`'s token at `upstream` for the site store at `root`; the token stays at the site.
    public static func delegate(upstream: MirrorUpstream, root: String, mac: MACAddress) async throws {
        let client = UpstreamClient(upstream)
        defer { Task { await client.shutdown() } }
        var request = HTTPClientRequest(url: client.url("devices/\(mac.hyphenated)/claim"))
        request.method = .POST
        request.headers.add(name: SiteToken.header, value: upstream.siteToken)
        let response = try await client.client.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 64 << 10)
        guard response.status.code == 200, let token = DeviceClaim.token(inAnswer: String(buffer: body)) else {
            let why = response.status.code == 409
                ? "its token was claimed already: imprint device rearm \(mac.colon) at the main office, then delegate again"
                : "upstream answered HTTP \(response.status.code)"
            throw MirrorError("delegating \(mac.colon)'s claim: \(why)")
        }
        for folder in ["\(root)/secrets", "\(root)/secrets/delegated"] {
            if mkdir(folder, 0o700) != 0 && errno != EEXIST { throw MirrorError("cannot create \(folder): errno \(errno)") }
        }
        try HTTPStoreResponder.writeSmall(Array((token + "\n").utf8), to: path(root, mac.hyphenated), mode: 0o600)
    }

    /// The delegated token for `mac`, taken (it answers one claim); nil when there is none.
    static func take(root: String, mac: String) -> String? {
        let file = path(root, mac)
        let taken = file + ".taken.\(getpid()).\(UInt32.random(in: 0...UInt32.max))"
        guard rename(file, taken) == 0 else { return nil }
        defer { unlink(taken) }
        guard let bytes = HTTPStoreResponder.readSmall(taken) else { return nil }
        let token = String(decoding: bytes, as: UTF8.self).trimmingSpaces.trimmingNewlines
        return token.utf8.count == 64 ? token : nil
    }
}
