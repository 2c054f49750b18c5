/// What a site does with an upstream answer (docs/scale.md). Pure: the callers do the I/O.
enum MirrorDecision {
    /// What came back from upstream for a revalidation (a conditional GET).
    enum Answer: Equatable {
        /// Upstream answered: status, `Content-Type`, `Content-Length`.
        case answered(status: Int, contentType: String?, contentLength: Int?)
        /// No answer: connection refused, timed out, reset.
        case unreachable(String)
    }

    /// What to do for a file other than a blob.
    enum Revalidation: Equatable {
        /// Serve the local copy (unchanged upstream, or upstream unusable); the note says which.
        case serveLocal(note: String)
        /// Read the body, keep it with upstream's ETag, then serve it.
        case store
        /// Upstream has no such file: drop the local copy and answer 404.
        case gone
        /// Answer the client with upstream's status and no body (401, 403, ...).
        case pass(status: Int, note: String)
        /// Nothing to serve: 502.
        case badGateway(note: String)
    }

    static func revalidation(_ answer: Answer, haveLocal: Bool) -> Revalidation {
        let problem: String
        switch answer {
        case let .unreachable(reason):
            problem = "upstream unreachable (\(reason))"
        case let .answered(status, contentType, contentLength):
            switch status {
            case 304 where haveLocal:
                return .serveLocal(note: "mirror: revalidated, unchanged")
            case 200:
                if isHTML(contentType) {
                    problem = "upstream answered HTML (Content-Type \(contentType ?? "")), not a store file"
                } else if contentLength == nil {
                    problem = "upstream answered with no Content-Length"
                } else {
                    return .store
                }
            case 404:
                return .gone
            case 401, 403:
                return .pass(status: status, note: "mirror: upstream answered \(status)")
            default:
                problem = "upstream answered \(status)"
            }
        }
        return haveLocal ? .serveLocal(note: "mirror: \(problem); served the local copy") : .badGateway(note: "mirror: \(problem); no local copy")
    }

    /// Whether a blob answer's head may be streamed and kept: nil if so, else why not.
    static func blobHeadProblem(status: Int, contentType: String?, contentLength: Int?, maxBytes: Int) -> String? {
        guard status == 200 else { return "upstream answered \(status)" }
        if isHTML(contentType) { return "upstream answered HTML (Content-Type \(contentType ?? "")), not a blob" }
        guard let contentLength else { return "upstream answered with no Content-Length" }
        guard contentLength <= maxBytes else { return "upstream's blob is \(contentLength) bytes, more than the \(maxBytes) allowed" }
        return nil
    }

    /// What a queued report's forwarding attempt leads to.
    enum Forwarding: Equatable {
        /// Upstream took it: drop it from the queue.
        case delivered
        /// Upstream will never take it (wrong token, bad request): drop it and log.
        case refused
        /// Try again later.
        case retry
    }

    static func forwarding(status: Int?) -> Forwarding {
        guard let status else { return .retry }
        switch status {
        case 200..<300: return .delivered
        case 408, 429: return .retry
        case 400..<500: return .refused
        default: return .retry
        }
    }

    /// Seconds to wait after `failures` failed attempts in a row: 1, 2, 4, ... up to 30.
    static func backoff(failures: Int) -> Double {
        guard failures > 0 else { return 0 }
        return min(30, Double(1 << min(failures - 1, 5)))
    }

    static func isHTML(_ contentType: String?) -> Bool {
        guard let contentType else { return false }
        let type = contentType.lowercased().trimmingSpaces
        return type.hasPrefix("text/html") || type.hasPrefix("application/xhtml")
    }

    /// `blobs/sha256/<64 lower-case hex>`.
    static func isBlobName(_ name: String) -> Bool {
        name.utf8.count == 64 && name.utf8.allSatisfy { ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "f")) }
    }
}
