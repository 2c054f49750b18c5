import AsyncHTTPClient
import Glibc
import ImprintCore
import ImprintDigest

/// `imprint replicate`: copies what a site needs for some devices and images ahead of time, at a
/// bounded rate, resumable (docs/scale.md). Files other than blobs are fetched with upstream's
/// stored ETag (unchanged ones cost a 304); blobs go to `blobs/sha256/.replicate.<hex>.partial`
/// and a later run resumes them with `Range`, then checks the SHA-256 of the whole.
public struct Replicator: Sendable {
    public struct Summary: Sendable {
        public var fetched = 0
        public var unchanged = 0
        public var missing = 0
        public var blobsFetched = 0
        public var blobsHeld = 0
        public var bytes = 0
        public var seconds = 0.0
    }

    let store: MirrorStore
    let upstream: MirrorUpstream
    let rate: MirrorRate?
    let log: @Sendable (String) -> Void

    public init(root: String, upstream: MirrorUpstream, rate: MirrorRate?, log: @escaping @Sendable (String) -> Void) {
        store = MirrorStore(root: root)
        self.upstream = upstream
        self.rate = rate
        self.log = log
    }

    public func run(devices: [MACAddress], images: [String]) async throws(MirrorError) -> Summary {
        for image in images where !ReplicatePlan.isSafeName(image) {
            throw MirrorError("--image \(image) is not an image name (A-Z a-z 0-9 . _ -)")
        }
        try MirrorStore.initialise(store.root)
        let client = UpstreamClient(upstream, connectTimeout: 10, readTimeout: 120)
        var session = Session(replicator: self, client: client)
        let started = MirrorClock.now()
        do {
            try await session.replicate(devices: devices, images: images)
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
        session.summary.seconds = MirrorClock.now() - started
        return session.summary
    }

    struct Session {
        let replicator: Replicator
        let client: UpstreamClient
        var summary = Summary()
        var limiter: MirrorRateLimiter?

        init(replicator: Replicator, client: UpstreamClient) {
            self.replicator = replicator
            self.client = client
            limiter = replicator.rate.map { MirrorRateLimiter(bytesPerSecond: $0.bytesPerSecond) }
        }

        var store: MirrorStore { replicator.store }

        mutating func replicate(devices: [MACAddress], images requested: [String]) async throws(MirrorError) {
            var profiles: [String] = []
            var images: [String] = []
            for file in ReplicatePlan.common { try await copy(file) }
            for mac in devices {
                for file in ReplicatePlan.deviceFiles(mac) { try await copy(file) }
                let text = try readText("devices/\(mac.hyphenated)/assignment.json")
                let followed: (image: String, profile: String)
                do { followed = try ReplicatePlan.follow(assignment: text) } catch { throw MirrorError("devices/\(mac.hyphenated)/assignment.json: \(error)") }
                if !images.contains(followed.image) { images.append(followed.image) }
                if !profiles.contains(followed.profile) { profiles.append(followed.profile) }
            }
            for image in requested where !images.contains(image) { images.append(image) }
            for profile in profiles {
                for file in ReplicatePlan.profileFiles(profile) { try await copy(file) }
            }
            for image in images {
                for file in ReplicatePlan.imageFiles(image) { try await copy(file) }
                let text = try readText("images/\(image).json")
                let blob: (blob: String, size: Int)
                do { blob = try ReplicatePlan.follow(descriptor: text) } catch { throw MirrorError("images/\(image).json: \(error)") }
                try await copyBlob(blob.blob, size: blob.size)
            }
        }

        func readText(_ relative: String) throws(MirrorError) -> String {
            guard let bytes = MirrorStore.readSmall(store.path(relative), limit: 16 << 20) else { throw MirrorError("cannot read \(relative) just copied") }
            return String(decoding: bytes, as: UTF8.self)
        }

        /// One file other than a blob, revalidated by ETag.
        mutating func copy(_ file: ReplicatePlan.File) async throws(MirrorError) {
            var headers: [(String, String)] = []
            if store.exists(file.path), let etag = store.storedETag(file.path) { headers.append(("If-None-Match", etag)) }
            do {
                let response = try await client.get(file.path, headers: headers)
                let status = Int(response.status.code)
                switch status {
                case 304:
                    summary.unchanged += 1
                case 200:
                    if MirrorDecision.isHTML(response.contentType) { throw MirrorError("\(file.path): upstream answered HTML, not a store file") }
                    guard let expected = response.contentLength else { throw MirrorError("\(file.path): upstream answered with no Content-Length") }
                    let (fd, temporary) = try store.temporary(beside: store.path(file.path))
                    var written = 0
                    do {
                        defer { close(fd) }
                        for try await part in response.body {
                            guard written + part.readableBytes <= expected else { throw MirrorError("\(file.path): more than its Content-Length") }
                            guard part.withUnsafeReadableBytes({ MirrorStore.writeAll(fd, $0, at: written) }) else { throw MirrorError("cannot write \(temporary)") }
                            written += part.readableBytes
                            try await pace(part.readableBytes)
                        }
                    } catch {
                        unlink(temporary)
                        throw error
                    }
                    guard written == expected else {
                        unlink(temporary)
                        throw MirrorError("\(file.path): truncated, \(written) of \(expected) bytes")
                    }
                    try store.publish(temporary, as: file.path, etag: response.etag)
                    summary.fetched += 1
                    summary.bytes += written
                    replicator.log("replicate: \(file.path) (\(written) bytes)")
                case 404 where !file.required:
                    summary.missing += 1
                    _ = try? await response.body.collect(upTo: 1 << 20)
                default:
                    _ = try? await response.body.collect(upTo: 1 << 20)
                    let hint = status == 403 ? " (is the site token right? imprint site add NAME at the main office)" : status == 404 ? " (is it in the main office's store?)" : ""
                    throw MirrorError("\(file.path): upstream answered \(status)\(hint)")
                }
            } catch let error as MirrorError {
                throw error
            } catch {
                throw MirrorError("\(file.path): upstream \(replicator.upstream.url) unreachable or cut short: \(Mirror.describe(error)); run replicate again to resume")
            }
        }

        /// A blob, resumed from its partial file when an earlier run stopped.
        mutating func copyBlob(_ hex: String, size: Int) async throws(MirrorError) {
            let relative = ReplicatePlan.blobPath(hex)
            if store.exists(relative) {
                summary.blobsHeld += 1
                return
            }
            let partial = store.path("blobs/sha256/.replicate.\(hex).partial")
            try store.makeParents(partial)
            let fd = open(partial, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
            guard fd >= 0 else { throw MirrorError("cannot open \(partial): \(String(cString: strerror(errno)))") }
            var closed = false
            defer { if !closed { close(fd) } }
            guard let hash = SHA256() else { throw MirrorError("cannot start SHA-256") }
            // What an earlier run left is hashed first, then the rest is asked for.
            var have = 0
            var chunk = [UInt8](repeating: 0, count: 1 << 20)
            while true {
                let n = chunk.withUnsafeMutableBytes { space in space.baseAddress.map { pread(fd, $0, space.count, off_t(have)) } ?? -1 }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { break }
                chunk.withUnsafeBytes { hash.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                have += n
            }
            if have > size {
                unlink(partial)
                throw MirrorError("\(partial) is larger than the blob; removed it: run replicate again")
            }
            if have > 0 { replicator.log("replicate: \(relative): resuming from byte \(have) of \(size)") }
            do {
                if have < size {
                    let response = try await client.get(relative, headers: have > 0 ? [("Range", "bytes=\(have)-")] : [])
                    let status = Int(response.status.code)
                    if have > 0 && status == 200 {
                        // Upstream ignored the Range: start over.
                        _ = try? await response.body.collect(upTo: 0)
                        ftruncate(fd, 0)
                        throw MirrorError("\(relative): upstream did not resume with Range; run replicate again")
                    }
                    if let problem = MirrorDecision.blobHeadProblem(status: status == 206 ? 200 : status, contentType: response.contentType,
                                                                    contentLength: response.contentLength, maxBytes: Int.max) {
                        throw MirrorError("\(relative): \(problem)")
                    }
                    for try await part in response.body {
                        guard have + part.readableBytes <= size else { throw MirrorError("\(relative): upstream sent more than the descriptor's \(size) bytes") }
                        let wrote = part.withUnsafeReadableBytes { raw in
                            hash.update(raw)
                            return MirrorStore.writeAll(fd, raw, at: have)
                        }
                        guard wrote else { throw MirrorError("cannot write \(partial): \(String(cString: strerror(errno)))") }
                        have += part.readableBytes
                        summary.bytes += part.readableBytes
                        try await pace(part.readableBytes)
                    }
                }
            } catch let error as MirrorError {
                throw error
            } catch {
                throw MirrorError("\(relative): upstream \(replicator.upstream.url) unreachable or cut short after byte \(have): \(Mirror.describe(error)); run replicate again to resume")
            }
            guard have == size else { throw MirrorError("\(relative): upstream ended at byte \(have) of \(size); run replicate again to resume") }
            let digest = hash.finish()
            guard digest == hex else {
                unlink(partial)
                throw MirrorError("\(relative): SHA-256 mismatch, the bytes hash to \(digest); not kept (the main office's copy may be damaged)")
            }
            close(fd)
            closed = true
            try store.publish(partial, as: relative, etag: nil)
            summary.blobsFetched += 1
            replicator.log("replicate: \(relative) (\(size) bytes, SHA-256 verified)")
        }

        /// Sleeps as long as the rate asks after `bytes` more.
        mutating func pace(_ bytes: Int) async throws {
            guard var limiter else { return }
            let delay = limiter.take(bytes, now: MirrorClock.now())
            self.limiter = limiter
            if delay > 0 { try await Task.sleep(nanoseconds: UInt64(delay * 1e9)) }
        }
    }
}
