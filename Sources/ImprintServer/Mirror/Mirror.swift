import AsyncHTTPClient
import Glibc

/// A remote office's pull-through mirror of an upstream store (`imprint serve --upstream URL`,
/// docs/scale.md): blobs fetched once and kept, everything else revalidated by ETag and served
/// locally when upstream is unreachable, reports stored and forwarded.
public final class Mirror: Sendable {
    let store: MirrorStore
    let client: UpstreamClient
    let log: @Sendable (String) -> Void
    /// Largest blob fetched.
    let maxBlobBytes: Int
    /// Blobs up to this size are fetched whole before the client is answered, so a bad one is a 502
    /// rather than a transfer cut short.
    let answerAfterBytes: Int
    let flights = MirrorFlights()
    let outbox: MirrorOutbox

    init(root: String, upstream: MirrorUpstream, maxBlobBytes: Int, answerAfterBytes: Int, log: @escaping @Sendable (String) -> Void) {
        store = MirrorStore(root: root)
        client = UpstreamClient(upstream)
        self.log = log
        self.maxBlobBytes = maxBlobBytes
        self.answerAfterBytes = answerAfterBytes
        outbox = MirrorOutbox(store: store)
    }

    func shutdown() async {
        await client.shutdown()
    }

    /// The running fetch of a blob the site lacks (started if none runs), or nil when it is held.
    func blob(_ hex: String) async -> BlobFetch? {
        await flights.blob(hex, mirror: self)
    }

    /// Revalidates a store file other than a blob with upstream, sharing one request among
    /// concurrent ones for the same file and `Authorization`; never answers `.store`.
    func revalidate(_ relative: String, authorization: String?) async -> MirrorDecision.Revalidation {
        await flights.revalidation(key: relative + "\n" + (authorization ?? "")) {
            await self.performRevalidation(relative, authorization: authorization)
        }
    }

    private func performRevalidation(_ relative: String, authorization: String?) async -> MirrorDecision.Revalidation {
        let haveLocal = store.exists(relative)
        var headers: [(String, String)] = []
        if haveLocal, let etag = store.storedETag(relative) { headers.append(("If-None-Match", etag)) }
        if let authorization { headers.append(("Authorization", authorization)) }
        let response: HTTPClientResponse
        do {
            response = try await client.get(relative, headers: headers, timeout: 600)
        } catch {
            let decision = MirrorDecision.revalidation(.unreachable(Self.describe(error)), haveLocal: haveLocal)
            switch decision {
            case let .serveLocal(note), let .badGateway(note): log("mirror: \(relative): \(note.dropFirst("mirror: ".count))")
            default: break
            }
            return decision
        }
        let decision = MirrorDecision.revalidation(
            .answered(status: Int(response.status.code), contentType: response.contentType, contentLength: response.contentLength), haveLocal: haveLocal)
        switch decision {
        case .store:
            do {
                try await keep(response, as: relative)
                return .serveLocal(note: haveLocal ? "mirror: changed upstream, fetched" : "mirror: fetched from upstream")
            } catch {
                let problem = "upstream's body could not be kept (\(error))"
                log("mirror: \(relative): \(problem)")
                return haveLocal ? .serveLocal(note: "mirror: \(problem); served the local copy") : .badGateway(note: "mirror: \(problem)")
            }
        case .gone:
            _ = try? await response.body.collect(upTo: 1 << 20)
            if haveLocal {
                store.remove(relative)
                log("mirror: \(relative) is gone upstream; local copy removed")
            }
            return .gone
        case let .serveLocal(note), let .badGateway(note), let .pass(_, note):
            _ = try? await response.body.collect(upTo: 1 << 20)
            // An unchanged file and a refusal passed on need no line beyond the access log's.
            switch decision {
            case .badGateway: log("mirror: \(relative): \(note.dropFirst("mirror: ".count))")
            case .serveLocal where response.status.code != 304: log("mirror: \(relative): \(note.dropFirst("mirror: ".count))")
            default: break
            }
            return decision
        }
    }

    /// Streams a 200 body to a temporary file, checks its length, and renames it into place.
    private func keep(_ response: HTTPClientResponse, as relative: String) async throws {
        let expected = response.contentLength ?? 0
        let (fd, temporary) = try store.temporary(beside: store.path(relative))
        var ok = false
        defer {
            close(fd)
            if !ok { unlink(temporary) }
        }
        var written = 0
        for try await part in response.body {
            guard written + part.readableBytes <= expected else { throw MirrorError("more than the Content-Length of \(expected) bytes") }
            let wrote = part.withUnsafeReadableBytes { MirrorStore.writeAll(fd, $0, at: written) }
            guard wrote else { throw MirrorError("cannot write \(temporary): \(String(cString: strerror(errno)))") }
            written += part.readableBytes
        }
        guard written == expected else { throw MirrorError("truncated: \(written) of \(expected) bytes") }
        try store.publish(temporary, as: relative, etag: response.etag)
        ok = true
    }

    static func describe(_ error: any Error) -> String {
        let text = "\(error)"
        return text.count > 200 ? String(text.prefix(200)) + "..." : text
    }

    /// Forwards queued reports upstream until cancelled.
    func runForwarder() async {
        await outbox.run(client: client, log: log)
    }
}

/// Fetches in progress, so concurrent requests share one upstream request.
actor MirrorFlights {
    private var blobs: [String: BlobFetch] = [:]
    private var revalidations: [String: Task<MirrorDecision.Revalidation, Never>] = [:]

    func blob(_ hex: String, mirror: Mirror) -> BlobFetch? {
        if let running = blobs[hex] { return running }
        if mirror.store.exists(ReplicatePlan.blobPath(hex)) { return nil }
        let fetch: BlobFetch
        do {
            fetch = try BlobFetch(hex: hex, store: mirror.store)
        } catch {
            mirror.log("mirror: cannot fetch blobs/sha256/\(hex): \(error)")
            return nil
        }
        blobs[hex] = fetch
        Task {
            await fetch.run(client: mirror.client, store: mirror.store, maxBytes: mirror.maxBlobBytes, log: mirror.log)
            self.finished(hex)
        }
        return fetch
    }

    private func finished(_ hex: String) { blobs[hex] = nil }

    func revalidation(key: String, _ work: @escaping @Sendable () async -> MirrorDecision.Revalidation) async -> MirrorDecision.Revalidation {
        if let running = revalidations[key] { return await running.value }
        let task = Task { await work() }
        revalidations[key] = task
        let result = await task.value
        revalidations[key] = nil
        return result
    }
}
