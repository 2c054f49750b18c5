import Glibc
import Hummingbird
import ImprintCore
import NIOCore
import NIOPosix

/// The site side of `HTTPStoreResponder` (`imprint serve --upstream`), and the main office's check
/// of site tokens (docs/scale.md).
extension HTTPStoreResponder {
    /// At any server: a request that carries a site token it does not know is refused (403), except
    /// for blobs, which need no token. Nil lets the request through.
    func siteRefusal(_ request: HTTPRequest, target: String) -> Outcome? {
        let lowered = SiteToken.header.lowercased()
        guard let token = request.headerFields.first(where: { $0.name.canonicalName == lowered })?.value else { return nil }
        if let segments = try? HTTPStorePath.segments(target), Self.isBlob(segments) { return nil }
        guard let site = SiteToken.name(of: token.trimmingSpaces) else {
            return Self.status(.forbidden, note: "the \(SiteToken.header) header is not a site token (NAME.HEX)")
        }
        guard let stored = Self.readSmall("\(root)/secrets/sites/\(site).sha256") else {
            return Self.status(.forbidden, note: "no site \(site) here: imprint site add \(site) makes its token")
        }
        guard SiteToken.matches(token.trimmingSpaces, stored: stored) else {
            return Self.status(.forbidden, note: "wrong site token for site \(site)")
        }
        return nil
    }

    // MARK: GET and HEAD at a site

    func mirrorServe(_ request: Request, target: String, peer: String, mirror: Mirror) async -> Outcome {
        // Refusals (bad paths, private folders) are the plain server's.
        guard let segments = try? HTTPStorePath.segments(target), !segments.isEmpty else {
            return serve(request.head, target: target, peer: peer)
        }
        let relative = segments.joined(separator: "/")
        if Self.isBlob(segments) {
            guard MirrorDecision.isBlobName(segments[2]), !mirror.store.exists(relative) else {
                return serve(request.head, target: target, peer: peer)
            }
            return await mirrorBlob(request, hex: segments[2], target: target, peer: peer, mirror: mirror)
        }
        switch await mirror.revalidate(relative, authorization: request.headers[.authorization]) {
        case let .serveLocal(note):
            var outcome = serve(request.head, target: target, peer: peer)
            if outcome.note == nil { outcome.note = note }
            return outcome
        case .gone:
            return Self.status(.notFound, note: "mirror: upstream has no such file")
        case let .pass(status, note):
            return Self.status(HTTPResponse.Status(code: status), note: note)
        case let .badGateway(note):
            return Self.status(.badGateway, note: note)
        case .store:
            return Self.status(.internalServerError, note: "mirror: revalidation left the file unstored")
        }
    }

    /// A blob the site lacks: joins (or starts) its one upstream fetch and streams from it.
    private func mirrorBlob(_ request: Request, hex: String, target: String, peer: String, mirror: Mirror) async -> Outcome {
        guard let fetch = await mirror.blob(hex) else {
            var outcome = serve(request.head, target: target, peer: peer)
            if outcome.note == nil { outcome.note = "mirror: held" }
            return outcome
        }
        var snapshot = await fetch.wait { $0.phase != .starting }
        if snapshot.size <= mirror.answerAfterBytes {
            snapshot = await fetch.wait { $0.finished }
        }
        switch snapshot.phase {
        case let .failed(reason):
            return Self.status(.badGateway, note: "mirror: blob from upstream refused: \(reason)")
        case .verified:
            var outcome = serve(request.head, target: target, peer: peer)
            if outcome.note == nil { outcome.note = "mirror: fetched from upstream" }
            return outcome
        case .starting, .streaming:
            break
        }
        let size = snapshot.size
        var headers: HTTPFields = [:]
        headers[.acceptRanges] = "bytes"
        headers[.contentType] = "application/octet-stream"
        headers[.cacheControl] = "public, max-age=31536000, immutable"
        let status: HTTPResponse.Status
        let first: Int
        let count: Int
        switch HTTPByteRange(header: request.headers[.range], size: size) {
        case .unsatisfiable:
            headers[.contentRange] = "bytes */\(size)"
            headers[.contentLength] = "0"
            return Outcome(response: Response(status: .rangeNotSatisfiable, headers: headers), bytes: 0, note: "range not satisfiable")
        case .whole:
            (status, first, count) = (.ok, 0, size)
        case let .part(start, last):
            (status, first, count) = (.partialContent, start, last - start + 1)
            headers[.contentRange] = "bytes \(start)-\(last)/\(size)"
        }
        headers[.contentLength] = String(count)
        guard request.method == .get, count > 0 else {
            return Outcome(response: Response(status: status, headers: headers, body: ResponseBody()), bytes: 0, note: "mirror: fetching from upstream")
        }
        let chunk = configuration.chunkBytes
        let log = configuration.log
        let body = ResponseBody(contentLength: count) { writer in
            let end = first + count
            var offset = first
            do {
                while offset < end {
                    let at = offset
                    let now = await fetch.wait { $0.finished || $0.readable > at }
                    if case let .failed(reason) = now.phase { throw MirrorError("the upstream fetch failed: \(reason)") }
                    let want = min(now.readable, end, offset + chunk) - offset
                    guard want > 0 else { throw MirrorError("the upstream fetch ended early") }
                    let buffer = try await Self.readFetched(fetch.descriptor, at: offset, count: want)
                    offset += buffer.readableBytes
                    try await writer.write(buffer)
                }
                try await writer.finish(nil)
            } catch {
                log("http: \(peer) GET \(Self.printable(target)) aborted after \(offset - first) of \(count) bytes: \(error)")
                throw error
            }
        }
        return Outcome(response: Response(status: status, headers: headers, body: body), bytes: count, note: "mirror: streaming as it arrives from upstream")
    }

    private static func readFetched(_ descriptor: CInt, at offset: Int, count: Int) async throws -> ByteBuffer {
        try await NIOThreadPool.singleton.runIfActive { () throws -> ByteBuffer in
            var buffer = ByteBufferAllocator().buffer(capacity: count)
            let got = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { space in
                guard let base = space.baseAddress else { return 0 }
                while true {
                    let n = pread(descriptor, base, count, off_t(offset))
                    if n < 0 && errno == EINTR { continue }
                    return max(0, n)
                }
            }
            guard got > 0 else { throw HTTPFileShrank() }
            return buffer
        }
    }

    // MARK: PUT at a site

    /// Reports: stored here and queued for upstream with the device's `Authorization`, which
    /// upstream checks (a site holds no device secrets). Nothing else is written at a site.
    func mirrorReceive(_ request: Request, target: String, mirror: Mirror) async -> Outcome {
        guard let segments = try? HTTPStorePath.segments(target), segments.count == 3, segments[0] == "reports", Self.reportNames.contains(segments[2]) else {
            return Self.status(.methodNotAllowed, note: "a site takes only PUT reports/<mac>/(status.json|log.txt|inventory.json); captures go to the main office (uploadTo)",
                               headers: [.allow: "GET, HEAD"])
        }
        let mac = segments[1]
        let name = segments[2]
        guard let parsed = try? MACAddress(parsing: mac), parsed.hyphenated == mac else {
            return Self.status(.badRequest, note: "\(Self.printable(mac)) is not a lower-case hyphenated MAC")
        }
        let authorization = request.headers[.authorization]
        guard authorization.flatMap(Self.bearer) != nil || name == "inventory.json" else {
            return Self.status(.unauthorized, note: "no token", headers: [.wwwAuthenticate: "Bearer realm=\"imprint\""])
        }
        let limit = name == "log.txt" ? configuration.maxLogBytes : configuration.maxReportBytes
        let (body, refusal) = await Self.boundedBody(request, limit: limit)
        if let refusal { return refusal }
        let root = self.root
        let bytes = body
        do {
            try await NIOThreadPool.singleton.runIfActive {
                try Self.writeReport(root: root, mac: mac, name: name, bytes: bytes)
            }
            try await mirror.outbox.enqueue(mac: mac, name: name, authorization: authorization, body: Array(buffer: bytes))
        } catch {
            return Self.status(.internalServerError, note: "\(error)")
        }
        return Outcome(response: Response(status: .noContent), bytes: 0, note: "mirror: \(body.readableBytes) bytes stored, forwarding upstream")
    }
}
