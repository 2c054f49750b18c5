import ImprintDigest
import Glibc
import Hummingbird
import ImprintCore
import NIOCore
import NIOPosix

/// The request context: Hummingbird's core storage and the peer's address, for the access log.
struct HTTPStoreContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}

/// The whole HTTP server: files of the store for `GET` and `HEAD`, agents' reports for `PUT`
/// (docs/http.md). Every request gets one access-log line.
struct HTTPStoreResponder: HTTPResponder {
    typealias Context = HTTPStoreContext

    /// The store's real path.
    let root: String
    let configuration: HTTPServerConfiguration
    /// Set at a remote office's site (`serve --upstream`): files come from upstream (docs/scale.md).
    var mirror: Mirror? = nil
    /// The store, open, for opening files beneath it in one system call.
    var folder: HTTPStoreFolder? = nil

    static let reportNames: Set<String> = ["status.json", "log.txt", "inventory.json"]

    /// A response and what the access log says about it.
    struct Outcome {
        var response: Response
        var bytes: Int
        var note: String?
        /// What `response` carries, for the event-loop fast path, which writes the first two and
        /// leaves a body read from the file as it is sent to Hummingbird.
        var body: Body = .empty

        enum Body {
            case empty
            case inMemory(ByteBuffer)
            case streamed
        }
    }

    func respond(to request: Request, context: Context) async throws -> Response {
        let target = request.head.path ?? "/"
        let peer = context.remoteAddress.map(Self.text) ?? "-"
        let outcome: Outcome
        let refused = siteRefusal(request.head, target: target)  // a wrong site token (docs/scale.md)
        switch request.method {
        case _ where refused != nil:
            outcome = refused ?? Self.status(.forbidden, note: "site token")
        case .get, .head:
            if let mirror { outcome = await mirrorServe(request, target: target, peer: peer, mirror: mirror); break }
            outcome = serve(request.head, target: target, peer: peer)
        case .put:
            if let mirror { outcome = await mirrorReceive(request, target: target, mirror: mirror); break }
            outcome = await receive(request, target: target)
        case .post:
            if let mirror { outcome = await mirrorClaim(request, target: target, mirror: mirror); break }
            outcome = await claim(request, target: target, peer: peer)  // token claims (HTTPClaims.swift)
        default:
            outcome = Self.status(.methodNotAllowed, note: "method not allowed", headers: [.allow: "GET, HEAD"])
        }
        logAccess(request.method, target: target, peer: peer, outcome: outcome)
        return outcome.response
    }

    /// The request's access-log line.
    func logAccess(_ method: HTTPRequest.Method, target: String, peer: String, outcome: Outcome) {
        let note = outcome.note.map { " (\($0))" } ?? ""
        configuration.log("\(configuration.logPrefix) \(peer) \(method.rawValue) \(Self.printable(target)) \(outcome.response.status.code) \(outcome.bytes)\(note)")
    }

    /// The answer to a `GET` or `HEAD` when it needs nothing asynchronous: no site mirror, and a body
    /// that is empty or already in memory (`HTTPFastPath` writes it on the event loop). Nil leaves
    /// the request to ``respond(to:context:)``. Logs the request when it answers.
    func answerNow(_ head: HTTPRequest, peer: String) -> Outcome? {
        guard mirror == nil, head.method == .get || head.method == .head else { return nil }
        let target = head.path ?? "/"
        let outcome = siteRefusal(head, target: target) ?? serve(head, target: target, peer: peer)
        if case .streamed = outcome.body { return nil }
        logAccess(head.method, target: target, peer: peer, outcome: outcome)
        return outcome
    }

    // MARK: GET and HEAD

    func serve(_ request: HTTPRequest, target: String, peer: String) -> Outcome {
        let segments: [String]
        let file: HTTPOpenFile
        do throws(HTTPPathRefusal) {
            segments = try HTTPStorePath.segments(target)
            file = try HTTPStorePath.open(root: root, folder: folder, segments: segments)
        } catch {
            switch error {
            case let .malformed(reason): return Self.status(.badRequest, note: reason)
            case let .refused(reason): return Self.status(.notFound, note: reason)
            }
        }
        if let refusal = assignmentRefusal(request, segments: segments) { return refusal }
        var headers: HTTPFields = [:]
        headers[.eTag] = file.etag
        if segments.last == "assignment.json" { headers[.cacheControl] = "private, no-store" }
        headers[.acceptRanges] = "bytes"
        headers[.contentType] = Self.contentType(segments.last ?? "")
        if Self.isBlob(segments), Self.isBlob(file.relative) {
            headers[.cacheControl] = "public, max-age=31536000, immutable"
        }
        if let match = request.headerFields[.ifNoneMatch],
           match.split(separator: ",").contains(where: { let tag = $0.trimmingSpaces; return tag == "*" || tag == file.etag || tag == "W/" + file.etag }) {
            headers[.contentLength] = "0"
            return Outcome(response: Response(status: .notModified, headers: headers), bytes: 0, note: nil)
        }
        var range = HTTPByteRange(header: request.headerFields[.range], size: file.size)
        if let condition = request.headerFields[.ifRange], condition.trimmingSpaces != file.etag { range = .whole }
        let status: HTTPResponse.Status
        let first: Int
        let count: Int
        switch range {
        case .unsatisfiable:
            headers[.contentRange] = "bytes */\(file.size)"
            headers[.contentLength] = "0"
            return Outcome(response: Response(status: .rangeNotSatisfiable, headers: headers), bytes: 0, note: "range not satisfiable")
        case .whole:
            (status, first, count) = (.ok, 0, file.size)
        case let .part(start, last):
            (status, first, count) = (.partialContent, start, last - start + 1)
            headers[.contentRange] = "bytes \(start)-\(last)/\(file.size)"
        }
        headers[.contentLength] = String(count)
        guard request.method == .get, count > 0 else {
            return Outcome(response: Response(status: status, headers: headers, body: ResponseBody()), bytes: 0, note: nil)
        }
        if count <= configuration.inlineReadBytes, let buffer = Self.readWhole(file, first: first, count: count) {
            return Outcome(response: Response(status: status, headers: headers, body: ResponseBody(byteBuffer: buffer)), bytes: count, note: nil, body: .inMemory(buffer))
        }
        let body = Self.stream(file, first: first, count: count, chunk: configuration.chunkBytes) { sent, error in
            configuration.log("\(configuration.logPrefix) \(peer) GET \(Self.printable(target)) aborted after \(sent) of \(count) bytes: \(error)")
        }
        return Outcome(response: Response(status: status, headers: headers, body: body), bytes: count, note: nil, body: .streamed)
    }

    /// A small body in one `pread` on the request's own thread: the hop to the blocking pool and back
    /// costs more than the read of a few KiB (nginx reads so too). Nil if the file came up short, so
    /// the caller streams it and the transfer ends as a shrunk file's does.
    private static func readWhole(_ file: HTTPOpenFile, first: Int, count: Int) -> ByteBuffer? {
        var buffer = ByteBufferAllocator().buffer(capacity: count)
        let got = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { space in
            max(0, file.read(into: UnsafeMutableRawBufferPointer(rebasing: space[0..<count]), offset: first))
        }
        return got == count ? buffer : nil
    }

    /// Reads the file on NIO's blocking-I/O thread pool, a chunk at a time, so no file is ever whole
    /// in memory and no read blocks a cooperative thread. The next chunk is read while the current
    /// one is written: at most two chunks per transfer are in memory.
    private static func stream(_ file: HTTPOpenFile, first: Int, count: Int, chunk: Int,
                               aborted: @escaping @Sendable (Int, any Error) -> Void) -> ResponseBody {
        ResponseBody(contentLength: count) { writer in
            let end = first + count
            var offset = first
            do {
                var next = try await readChunk(file, at: offset, count: min(chunk, end - offset))
                while true {
                    let buffer = next
                    offset += buffer.readableBytes
                    guard offset < end else {
                        try await writer.write(buffer)
                        break
                    }
                    let at = offset, want = min(chunk, end - offset)
                    async let ahead = readChunk(file, at: at, count: want)
                    try await writer.write(buffer)
                    next = try await ahead
                }
                try await writer.finish(nil)
            } catch {
                aborted(offset - first, error)
                throw error
            }
        }
    }

    /// Up to `count` bytes at `offset`, read on the blocking pool; throws if the file ends first.
    private static func readChunk(_ file: HTTPOpenFile, at offset: Int, count: Int) async throws -> ByteBuffer {
        try await NIOThreadPool.singleton.runIfActive { () throws -> ByteBuffer in
            var buffer = ByteBufferAllocator().buffer(capacity: count)
            let got = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { space in
                max(0, file.read(into: UnsafeMutableRawBufferPointer(rebasing: space[0..<count]), offset: offset))
            }
            guard got > 0 else { throw HTTPFileShrank() }
            return buffer
        }
    }

    static func isBlob(_ segments: [String]) -> Bool {
        segments.count == 3 && segments[0] == "blobs" && segments[1] == "sha256"
    }

    static func contentType(_ name: String) -> String {
        if name.hasSuffix(".json") { return "application/json" }
        if name.hasSuffix(".txt") || name.hasSuffix(".ipxe") || name.hasSuffix(".sig") || name.hasSuffix(".pub") { return "text/plain; charset=utf-8" }
        return "application/octet-stream"
    }

    // MARK: PUT

    private func receive(_ request: Request, target: String) async -> Outcome {
        let segments: [String]
        do throws(HTTPPathRefusal) {
            segments = try HTTPStorePath.segments(target)
        } catch {
            switch error {
            case let .malformed(reason): return Self.status(.badRequest, note: reason)
            case let .refused(reason): return Self.status(.methodNotAllowed, note: reason, headers: [.allow: "GET, HEAD"])
            }
        }
        if segments.first == "uploads" { return await receiveUpload(request, segments: segments) }  // captures (HTTPUploads.swift)
        guard segments.count == 3, segments[0] == "reports", Self.reportNames.contains(segments[2]) else {
            return Self.status(.methodNotAllowed, note: "PUT is only for reports/<mac>/(status.json|log.txt|inventory.json)", headers: [.allow: "GET, HEAD"])
        }
        let mac = segments[1]
        let name = segments[2]
        guard let parsed = try? MACAddress(parsing: mac), parsed.hyphenated == mac else {
            return Self.status(.badRequest, note: "\(Self.printable(mac)) is not a lower-case hyphenated MAC")
        }
        var info = stat()
        let discovery = name == "inventory.json" && stat("\(root)/devices/\(mac)", &info) != 0 && errno == ENOENT
        if !discovery, let refusal = deviceTokenRefusal(request.head, mac: mac) { return refusal }
        let limit = name == "log.txt" ? configuration.maxLogBytes : configuration.maxReportBytes
        let (body, refusal) = await Self.boundedBody(request, limit: limit)
        if let refusal { return refusal }
        let root = self.root
        let bytes = body
        do {
            try await NIOThreadPool.singleton.runIfActive {
                try Self.writeReport(root: root, mac: mac, name: name, bytes: bytes)
            }
        } catch {
            return Self.status(.internalServerError, note: "\(error)")
        }
        return Outcome(response: Response(status: .noContent), bytes: 0, note: discovery ? "discovery, \(body.readableBytes) bytes stored" : "\(body.readableBytes) bytes stored")
    }

    /// `reports/<mac>/<name>`, written under a temporary name in the same folder and renamed.
    static func writeReport(root: String, mac: String, name: String, bytes: ByteBuffer) throws {
        for folder in ["\(root)/reports", "\(root)/reports/\(mac)"] {
            if mkdir(folder, 0o755) == 0 {
                chmod(folder, 0o755)
            } else if errno != EEXIST {
                throw HTTPWriteError("cannot create \(folder): errno \(errno)")
            }
        }
        let folder = "\(root)/reports/\(mac)"
        guard let resolved = realpath(folder, nil) else { throw HTTPWriteError("cannot resolve \(folder)") }
        let real = String(cString: resolved)
        free(resolved)
        guard real == folder else { throw HTTPWriteError("\(folder) is a link; refusing to write through it") }
        let temporary = "\(folder)/.\(name).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).partial"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else { throw HTTPWriteError("cannot create \(temporary): errno \(errno)") }
        var ok = false
        defer { if !ok { unlink(temporary) } }
        do {
            defer { close(fd) }
            guard fchmod(fd, 0o644) == 0 else { throw HTTPWriteError("cannot set the mode of \(temporary)") }
            try bytes.withUnsafeReadableBytes { raw in
                var done = 0
                while done < raw.count, let base = raw.baseAddress {
                    let n = write(fd, base + done, raw.count - done)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw HTTPWriteError("cannot write \(temporary): errno \(errno)")
                    }
                    done += n
                }
            }
            guard fsync(fd) == 0 else { throw HTTPWriteError("cannot sync \(temporary): errno \(errno)") }
        }
        guard rename(temporary, "\(folder)/\(name)") == 0 else { throw HTTPWriteError("cannot rename \(temporary): errno \(errno)") }
        ok = true
    }

    /// The request's body, at most `limit` bytes (a `Content-Length` over it is refused before
    /// reading); or the refusal to answer with: 413, or 400 for a body cut off.
    static func boundedBody(_ request: Request, limit: Int) async -> (ByteBuffer, Outcome?) {
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit {
            return (ByteBuffer(), status(.contentTooLarge, note: "\(length) bytes, more than \(limit)"))
        }
        var body = ByteBuffer()
        do {
            for try await part in request.body {
                guard body.readableBytes + part.readableBytes <= limit else {
                    return (ByteBuffer(), status(.contentTooLarge, note: "more than \(limit) bytes"))
                }
                body.writeImmutableBuffer(part)
            }
        } catch {
            return (ByteBuffer(), status(.badRequest, note: "reading the body: \(error)"))
        }
        return (body, nil)
    }

    static func bearer(_ header: String?) -> String? {
        guard let header else { return nil }
        let text = header.trimmingSpaces
        guard text.count > 7, text.prefix(7).lowercased() == "bearer " else { return nil }
        let token = text.dropFirst(7).trimmingSpaces
        return token.isEmpty ? nil : token
    }

    /// A small file's bytes (at most 4 KiB), or nil.
    static func readSmall(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 4096)
        let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n >= 0 else { return nil }
        return Array(bytes[0..<n])
    }

    // MARK: Helpers

    static func status(_ status: HTTPResponse.Status, note: String, headers: HTTPFields = [:]) -> Outcome {
        var headers = headers
        headers[.contentLength] = "0"
        return Outcome(response: Response(status: status, headers: headers, body: ResponseBody()), bytes: 0, note: note)
    }

    /// `127.0.0.1:4242` or `[::1]:4242`.
    static func text(_ address: SocketAddress) -> String {
        guard let ip = address.ipAddress, let port = address.port else { return "\(address)" }
        return address.protocol == .inet6 ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }

    /// The target with anything unprintable escaped, so a log line stays one line.
    static func printable(_ text: String) -> String {
        // Most targets have nothing to escape: checked on the bytes, the text is kept as it is.
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x7f && $0 != UInt8(ascii: "\\") }) { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7f || scalar == "\\" {
                out += "\\x" + String(scalar.value, radix: 16)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

struct HTTPFileShrank: Error, CustomStringConvertible {
    var description: String { "the file ended early (rewritten under the transfer?)" }
}

struct HTTPWriteError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension StringProtocol {
    var trimmingNewlines: String {
        String(self.drop(while: { $0.isNewline }).reversed().drop(while: { $0.isNewline }).reversed())
    }
}
