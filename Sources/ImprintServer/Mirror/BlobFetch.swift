import Glibc
import ImprintDigest
import NIOCore
import NIOPosix

/// One upstream GET of a missing blob, shared by every request for it while it runs (docs/scale.md).
/// The body goes to a hidden temporary file as it arrives and is hashed; readers stream from that
/// file up to what has arrived, all but the last byte until the SHA-256 matches, so no client ever
/// gets a whole wrong blob. Verified, the file is renamed to `blobs/sha256/<hex>`; otherwise removed.
actor BlobFetch {
    enum Phase: Equatable {
        /// Waiting for upstream's answer.
        case starting
        /// The body is arriving.
        case streaming
        case verified
        case failed(String)
    }

    struct Snapshot {
        var phase: Phase
        var size: Int
        var written: Int
        /// Bytes a reader may send now: all once verified, else all that arrived but the last byte.
        var readable: Int { phase == .verified ? size : min(written, max(size - 1, 0)) }
        var finished: Bool {
            switch phase {
            case .verified, .failed: true
            default: false
            }
        }
    }

    let hex: String
    /// The temporary file; readers `pread` it, which works after the rename too.
    nonisolated let descriptor: CInt
    private let temporary: String
    private var snapshot = Snapshot(phase: .starting, size: 0, written: 0)
    private var waiters: [(predicate: @Sendable (Snapshot) -> Bool, continuation: CheckedContinuation<Snapshot, Never>)] = []

    init(hex: String, store: MirrorStore) throws(MirrorError) {
        self.hex = hex
        (descriptor, temporary) = try store.temporary(beside: store.path(ReplicatePlan.blobPath(hex)))
    }

    deinit { close(descriptor) }

    var current: Snapshot { snapshot }

    /// Returns once `predicate` holds (checked after every change), or at once if it already does.
    func wait(until predicate: @escaping @Sendable (Snapshot) -> Bool) async -> Snapshot {
        if predicate(snapshot) { return snapshot }
        return await withCheckedContinuation { waiters.append((predicate, $0)) }
    }

    private func changed() {
        var remaining: [(predicate: @Sendable (Snapshot) -> Bool, continuation: CheckedContinuation<Snapshot, Never>)] = []
        for waiter in waiters {
            if waiter.predicate(snapshot) { waiter.continuation.resume(returning: snapshot) } else { remaining.append(waiter) }
        }
        waiters = remaining
    }

    /// Runs the GET to its end; `log` gets one line on failure and one when the blob is kept.
    func run(client: UpstreamClient, store: MirrorStore, maxBytes: Int, log: @Sendable (String) -> Void) async {
        let relative = ReplicatePlan.blobPath(hex)
        let started = MirrorClock.now()
        do {
            let response = try await client.get(relative)
            if let problem = MirrorDecision.blobHeadProblem(status: Int(response.status.code), contentType: response.contentType,
                                                            contentLength: response.contentLength, maxBytes: maxBytes) {
                return fail("\(problem)", log: log)
            }
            let size = response.contentLength ?? 0
            snapshot.size = size
            snapshot.phase = .streaming
            changed()
            guard let hash = SHA256() else { return fail("cannot start SHA-256", log: log) }
            var pending = ByteBuffer()
            let flushBytes = 1 << 20
            for try await part in response.body {
                guard snapshot.written + pending.readableBytes + part.readableBytes <= size else {
                    return fail("upstream sent more than its Content-Length of \(size) bytes", log: log)
                }
                pending.writeImmutableBuffer(part)
                if pending.readableBytes >= flushBytes || snapshot.written + pending.readableBytes == size {
                    try await flush(&pending, hash: hash)
                }
            }
            try await flush(&pending, hash: hash)
            guard snapshot.written == size else {
                return fail("truncated: upstream closed the body after \(snapshot.written) of \(size) bytes", log: log)
            }
            let digest = hash.finish()
            guard digest == hex else {
                return fail("SHA-256 mismatch: the body hashes to \(digest)", log: log)
            }
            try store.publish(temporary, as: relative, etag: nil)
            snapshot.phase = .verified
            changed()
            let seconds = MirrorClock.now() - started
            log("mirror: \(relative) fetched from \(client.upstream.url), \(size) bytes in \(MirrorClock.format(seconds)) s, SHA-256 verified, kept")
        } catch let error as MirrorError {
            fail(error.description, log: log)
        } catch {
            fail("upstream unreachable or cut short: \(error)", log: log)
        }
    }

    private func flush(_ pending: inout ByteBuffer, hash: SHA256) async throws {
        guard pending.readableBytes > 0 else { return }
        let buffer = pending
        pending = ByteBuffer()
        let fd = descriptor
        let offset = snapshot.written
        // Hashed here (about 0.7 ms a MiB), written on the blocking pool.
        buffer.withUnsafeReadableBytes { hash.update($0) }
        try await NIOThreadPool.singleton.runIfActive {
            try buffer.withUnsafeReadableBytes { raw in
                guard MirrorStore.writeAll(fd, raw, at: offset) else {
                    throw MirrorError("cannot write the blob's temporary file: \(String(cString: strerror(errno))); is the site's disk full?")
                }
            }
        }
        snapshot.written += buffer.readableBytes
        changed()
    }

    private func fail(_ reason: String, log: @Sendable (String) -> Void) {
        unlink(temporary)
        snapshot.phase = .failed(reason)
        changed()
        log("mirror: blobs/sha256/\(hex) from upstream refused: \(reason); not kept")
    }
}

/// Seconds on the monotonic clock, for durations in log lines.
enum MirrorClock {
    static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    static func format(_ seconds: Double) -> String {
        let tenths = Int((seconds * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }
}
