import CLinux
import Glibc

/// Why a request target is not served: `malformed` is answered 400, `refused` 404.
enum HTTPPathRefusal: Error, Equatable {
    case malformed(String)
    case refused(String)

    var reason: String {
        switch self {
        case let .malformed(reason), let .refused(reason): reason
        }
    }
}

/// Request targets to store paths. A target is percent-decoded once, then split on `/`; no segment
/// may be empty, `.`, `..`, start with `.` (temporary files of atomic writes), or hold NUL or a
/// backslash; `incoming/` and `secrets/` are never served.
enum HTTPStorePath {
    static let privateFolders: Set<String> = ["incoming", "secrets"]

    /// The segments of `target` (the request line's target, query and all). Every check is on
    /// bytes: the request line is bytes, and Swift's Characters would glue a combining mark to the
    /// "/", "?" or "." before it (a "/" so hidden kept a segment together past the `secrets/`
    /// refusal; found by the HTTPRange fuzz target).
    static func segments(_ target: String) throws(HTTPPathRefusal) -> [String] {
        var raw = Array(target.utf8)
        if let mark = raw.firstIndex(where: { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }) { raw.removeSubrange(mark...) }
        guard raw.first == UInt8(ascii: "/") else { throw .malformed("the target is not an absolute path") }
        let decoded = try percentDecode(raw)
        guard String(validating: decoded, as: UTF8.self) != nil else { throw .malformed("the path is not UTF-8") }
        let parts = decoded.dropFirst().split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        for part in parts {
            if part.isEmpty { throw .refused("empty segment") }
            if part.count <= 2, part.allSatisfy({ $0 == UInt8(ascii: ".") }) { throw .refused("dot segment") }
            if part.first == UInt8(ascii: ".") { throw .refused("hidden name") }
            if part.contains(where: { $0 == 0 || $0 == UInt8(ascii: "\\") }) { throw .refused("NUL or backslash") }
        }
        let names = parts.map { String(decoding: $0, as: UTF8.self) }
        if let first = names.first, privateFolders.contains(first) { throw .refused("\(first)/ is never served") }
        return names
    }

    static func percentDecode(_ bytes: [UInt8]) throws(HTTPPathRefusal) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "%") {
                guard i + 2 < bytes.count, let high = hexValue(bytes[i + 1]), let low = hexValue(bytes[i + 2]) else {
                    throw .malformed("bad percent-encoding")
                }
                out.append(high << 4 | low)
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return out
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// Opens a served file: `root` is the store's real path, `folder` an open descriptor of it (or
    /// nil), and `segments` come from ``segments(_:)``. Symlinks are followed, and the file is
    /// refused when its real path leaves the store or lands in a folder never served.
    ///
    /// Most paths have no link: one `openat2` beneath `folder` that allows none opens them, and then
    /// the real path is the requested one, already checked. A path with a link on the way (`ELOOP`),
    /// or a kernel without `openat2`, takes `realpath`: a `readlink` per component, which was half
    /// the system calls of a small request.
    static func open(root: String, folder: HTTPStoreFolder? = nil, segments: [String]) throws(HTTPPathRefusal) -> HTTPOpenFile {
        guard !segments.isEmpty else { throw .refused("the store is not listed") }
        if let folder {
            let fd = imprint_open_beneath(folder.descriptor, segments.joined(separator: "/"), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
            if fd >= 0 { return try opened(fd, relative: segments) }
            if errno == ENOENT || errno == ENOTDIR { throw .refused("no such file") }
        }
        guard let resolved = realpath(root + "/" + segments.joined(separator: "/"), nil) else {
            throw .refused("no such file")
        }
        let real = String(cString: resolved)
        free(resolved)
        guard real.hasPrefix(root + "/") else { throw .refused("the real path leaves the store (symlink)") }
        // On bytes, as in `segments`: a name starting with a combining mark would otherwise hide its "/".
        let relative = real.utf8.dropFirst(root.utf8.count + 1).split(separator: UInt8(ascii: "/")).map { String(decoding: $0, as: UTF8.self) }
        if let first = relative.first, privateFolders.contains(first) {
            throw .refused("the real path is under \(first)/ (symlink)")
        }
        if relative.contains(where: { $0.utf8.first == UInt8(ascii: ".") }) { throw .refused("the real path has a hidden name (symlink)") }
        // O_NOFOLLOW: the real path has no links left, so one swapped in since is refused.
        // O_NONBLOCK: a FIFO must not hang (refused below as not a regular file).
        let fd = Glibc.open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard fd >= 0 else { throw .refused("cannot open") }
        return try opened(fd, relative: relative)
    }

    /// The open file if it is a regular one; else closes it and refuses.
    private static func opened(_ fd: CInt, relative: [String]) throws(HTTPPathRefusal) -> HTTPOpenFile {
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw .refused("not a regular file")
        }
        return HTTPOpenFile(descriptor: fd, info: info, relative: relative)
    }
}

/// The store folder, open for `openat2` (`O_PATH`); closed when the server is released.
final class HTTPStoreFolder: Sendable {
    let descriptor: CInt

    /// Nil when the folder cannot be opened: paths then take `realpath`.
    init?(_ path: String) {
        let fd = imprint_open_folder(path)
        guard fd >= 0 else { return nil }
        descriptor = fd
    }

    deinit { close(descriptor) }
}

/// An open store file; closes its descriptor when released.
final class HTTPOpenFile: @unchecked Sendable {
    let descriptor: CInt
    let size: Int
    /// Changes whenever the file is replaced or rewritten: inode, size and mtime in nanoseconds.
    let etag: String
    /// The real path relative to the store.
    let relative: [String]

    init(descriptor: CInt, info: stat, relative: [String]) {
        self.descriptor = descriptor
        self.size = Int(info.st_size)
        let nanoseconds = Int64(info.st_mtim.tv_sec) &* 1_000_000_000 &+ Int64(info.st_mtim.tv_nsec)
        self.etag = "\"\(String(UInt64(info.st_ino), radix: 16))-\(String(info.st_size, radix: 16))-\(String(nanoseconds, radix: 16))\""
        self.relative = relative
    }

    deinit { close(descriptor) }

    /// Reads up to `buffer.count` bytes at `offset`; the count read (0 at the end), or -1.
    func read(into buffer: UnsafeMutableRawBufferPointer, offset: Int) -> Int {
        guard let base = buffer.baseAddress else { return 0 }
        while true {
            let n = pread(descriptor, base, buffer.count, off_t(offset))
            if n < 0 && errno == EINTR { continue }
            return n
        }
    }
}

/// The `Range` header, for one file size (RFC 9110 section 14).
enum HTTPByteRange: Equatable {
    /// Serve the whole file (no header, or one this server answers whole: multi-range, malformed).
    case whole
    /// Serve `first...last`.
    case part(first: Int, last: Int)
    /// 416.
    case unsatisfiable

    init(header: String?, size: Int) {
        guard let header else { self = .whole; return }
        let text = header.trimmingSpaces
        guard text.lowercased().hasPrefix("bytes=") else { self = .whole; return }
        let spec = text.dropFirst("bytes=".count).trimmingSpaces
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { self = .whole; return }
        let startText = spec[..<dash].trimmingSpaces
        let endText = spec[spec.index(after: dash)...].trimmingSpaces
        guard startText.allSatisfy(\.isASCIIDigit), endText.allSatisfy(\.isASCIIDigit) else { self = .whole; return }
        if startText.isEmpty {
            // Suffix: the last N bytes.
            guard let count = Int(endText) else {
                self = endText.isEmpty ? .whole : (size > 0 ? .part(first: 0, last: size - 1) : .unsatisfiable)
                return
            }
            guard count > 0, size > 0 else { self = .unsatisfiable; return }
            self = .part(first: max(0, size - count), last: size - 1)
            return
        }
        guard let first = Int(startText) else { self = .unsatisfiable; return }  // past Int.max: past the end
        let last: Int
        if endText.isEmpty {
            last = size - 1
        } else if let value = Int(endText) {
            guard value >= first else { self = .whole; return }  // invalid: ignored
            last = min(value, size - 1)
        } else {
            last = size - 1
        }
        guard first < size else { self = .unsatisfiable; return }
        self = .part(first: first, last: last)
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        String(self.drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
