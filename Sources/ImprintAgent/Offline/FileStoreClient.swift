import Glibc

/// A store reached through `file://` URLs: the offline stick's data partition, mounted (docs/media.md
/// "The offline stick"), or a folder in host mode. The deploy and its reports use their usual paths
/// (`devices/<mac>/assignment.json`, `images/<name>.json`, `reports/<mac>/status.json`) on it: a GET
/// reads the file (200, or 404 when it does not exist, as a store answers), a PUT writes it in place
/// through a temporary name, making its folders. Other URLs go to `fallback`. The blob itself streams
/// through libcurl, which reads `file://` URLs as it reads `http://` ones.
public struct FileStoreClient: HTTPClient {
    public var fallback: any HTTPClient

    public init(fallback: any HTTPClient = CurlHTTPClient()) {
        self.fallback = fallback
    }

    /// The local path of a `file://` URL (`file:///run/x` or `file://localhost/run/x`), else nil.
    public static func path(of url: String) -> String? {
        guard url.hasPrefix("file://") else { return nil }
        var rest = url.dropFirst("file://".count)
        if rest.hasPrefix("localhost/") { rest = rest.dropFirst("localhost".count) }
        guard rest.hasPrefix("/") else { return nil }
        return String(rest)
    }

    public func get(url: String, headers: [String], connectTimeoutSeconds: Int, totalTimeoutSeconds: Int, maximumBytes: Int) -> (HTTPOutcome, [UInt8]) {
        guard let path = Self.path(of: url) else {
            return fallback.get(url: url, headers: headers, connectTimeoutSeconds: connectTimeoutSeconds, totalTimeoutSeconds: totalTimeoutSeconds, maximumBytes: maximumBytes)
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT || code == ENOTDIR { return (HTTPOutcome(status: 404), []) }
            return (HTTPOutcome(status: 0, transportError: "open \(path): \(errorText(code))"), [])
        }
        defer { close(fd) }
        var body: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return (HTTPOutcome(status: 0, transportError: "read \(path): \(errorText(errno))"), [])
            }
            if count == 0 { break }
            guard body.count + count <= maximumBytes else {
                return (HTTPOutcome(status: 200, transportError: "the answer is larger than \(maximumBytes) bytes"), [])
            }
            body.append(contentsOf: chunk[0..<count])
        }
        return (HTTPOutcome(status: 200), body)
    }

    /// A token claim: a folder store has no claims (an offline stick's agent needs no token).
    public func post(url: String, headers: [String], connectTimeoutSeconds: Int, totalTimeoutSeconds: Int, maximumBytes: Int) -> (HTTPOutcome, [UInt8]) {
        guard Self.path(of: url) == nil else { return (HTTPOutcome(status: 404), []) }
        return fallback.post(url: url, headers: headers, connectTimeoutSeconds: connectTimeoutSeconds, totalTimeoutSeconds: totalTimeoutSeconds, maximumBytes: maximumBytes)
    }

    public func put(url: String, body: [UInt8], headers: [String], connectTimeoutSeconds: Int, totalTimeoutSeconds: Int) -> HTTPOutcome {
        guard let path = Self.path(of: url) else {
            return fallback.put(url: url, body: body, headers: headers, connectTimeoutSeconds: connectTimeoutSeconds, totalTimeoutSeconds: totalTimeoutSeconds)
        }
        if let problem = Self.makeParents(of: path) { return HTTPOutcome(status: 0, transportError: problem) }
        // FAT has no atomic replace over an open file, but rename over a closed one is: a reader
        // (imprint status --from) never sees half a report.
        let temporary = path + ".partial"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return HTTPOutcome(status: 0, transportError: "open \(temporary): \(errorText(errno))") }
        var offset = 0
        while offset < body.count {
            let written = body[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                let code = errno
                close(fd)
                unlink(temporary)
                return HTTPOutcome(status: 0, transportError: "write \(temporary): \(errorText(code))")
            }
            offset += written
        }
        _ = fsync(fd)
        close(fd)
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            return HTTPOutcome(status: 0, transportError: "rename \(temporary) to \(path): \(errorText(code))")
        }
        return HTTPOutcome(status: 201)
    }

    /// Makes the folders above `path` (0755); the reason when one cannot be made.
    static func makeParents(of path: String) -> String? {
        var parent = ""
        for component in path.split(separator: "/").dropLast() {
            parent += "/\(component)"
            if mkdir(parent, 0o755) != 0 && errno != EEXIST { return "mkdir \(parent): \(errorText(errno))" }
        }
        return nil
    }
}
