import Glibc

/// The site's own store, as the mirror and `imprint replicate` write it: files renamed into place,
/// upstream's ETag of each kept under `secrets/mirror/etags/` (never served), reports waiting for
/// upstream under `secrets/mirror/outbox/` (docs/scale.md).
public struct MirrorStore: Sendable {
    /// The store's path (real path for a server).
    public let root: String

    public init(root: String) { self.root = root }

    /// Makes a missing or empty store usable by a site: `blobs/sha256/` and `secrets/` (0700).
    public static func initialise(_ root: String) throws(MirrorError) {
        for (folder, mode) in [(root, 0o755), ("\(root)/blobs", 0o755), ("\(root)/blobs/sha256", 0o755),
                               ("\(root)/secrets", 0o700), ("\(root)/secrets/mirror", 0o700)] as [(String, mode_t)] {
            if mkdir(folder, mode) != 0 && errno != EEXIST {
                throw MirrorError("cannot create \(folder): \(String(cString: strerror(errno)))")
            }
        }
    }

    func path(_ relative: String) -> String { "\(root)/\(relative)" }
    func etagPath(_ relative: String) -> String { "\(root)/secrets/mirror/etags/\(relative).etag" }
    var outbox: String { "\(root)/secrets/mirror/outbox" }

    func exists(_ relative: String) -> Bool {
        var info = stat()
        return stat(path(relative), &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }

    func storedETag(_ relative: String) -> String? {
        guard let bytes = Self.readSmall(etagPath(relative)) else { return nil }
        let text = String(decoding: bytes, as: UTF8.self).trimmingNewlines
        return text.isEmpty ? nil : text
    }

    func remove(_ relative: String) {
        unlink(path(relative))
        unlink(etagPath(relative))
    }

    /// Creates the missing folders between the store and `full` (0755; 0700 under `secrets/`).
    func makeParents(_ full: String) throws(MirrorError) {
        guard full.hasPrefix(root + "/") else { throw MirrorError("\(full) is outside the store \(root)") }
        var folder = root
        for part in full.dropFirst(root.count + 1).split(separator: "/").dropLast() {
            folder += "/" + part
            let mode: mode_t = folder.hasPrefix("\(root)/secrets") ? 0o700 : 0o755
            if mkdir(folder, mode) != 0 && errno != EEXIST {
                throw MirrorError("cannot create \(folder): \(String(cString: strerror(errno)))")
            }
        }
    }

    /// A new temporary file beside `full` (hidden, so never served); its descriptor and path.
    func temporary(beside full: String) throws(MirrorError) -> (CInt, String) {
        try makeParents(full)
        let slash = full.lastIndex(of: "/").map { full.index(after: $0) } ?? full.startIndex
        let temporary = "\(full[..<slash]).\(full[slash...]).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).partial"
        let fd = open(temporary, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw MirrorError("cannot create \(temporary): \(String(cString: strerror(errno)))") }
        return (fd, temporary)
    }

    /// Renames a finished temporary file into place at `relative` and records upstream's ETag.
    func publish(_ temporary: String, as relative: String, etag: String?) throws(MirrorError) {
        let mode: mode_t = relative.hasSuffix("/assignment.json") ? 0o600 : 0o644
        chmod(temporary, mode)
        guard rename(temporary, path(relative)) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw MirrorError("cannot rename \(temporary) into place: \(reason)")
        }
        if let etag {
            try write(Array((etag + "\n").utf8), to: etagPath(relative), mode: 0o600)
        } else {
            unlink(etagPath(relative))
        }
    }

    /// Writes a small file whole under a temporary name and renames it.
    func write(_ bytes: [UInt8], to full: String, mode: mode_t) throws(MirrorError) {
        let (fd, temporary) = try temporary(beside: full)
        defer { close(fd) }
        guard Self.writeAll(fd, bytes, at: 0) else {
            unlink(temporary)
            throw MirrorError("cannot write \(temporary): \(String(cString: strerror(errno)))")
        }
        fchmod(fd, mode)
        guard rename(temporary, full) == 0 else {
            unlink(temporary)
            throw MirrorError("cannot rename \(temporary): \(String(cString: strerror(errno)))")
        }
    }

    static func writeAll(_ fd: CInt, _ bytes: UnsafeRawBufferPointer, at offset: Int) -> Bool {
        var done = 0
        while done < bytes.count, let base = bytes.baseAddress {
            let n = pwrite(fd, base + done, bytes.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            done += n
        }
        return true
    }

    static func writeAll(_ fd: CInt, _ bytes: [UInt8], at offset: Int) -> Bool {
        bytes.withUnsafeBytes { writeAll(fd, $0, at: offset) }
    }

    /// A small file's bytes (at most 64 KiB), or nil.
    static func readSmall(_ path: String, limit: Int = 64 << 10) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: limit)
        var total = 0
        while total < limit {
            let n = bytes.withUnsafeMutableBytes { space in
                space.baseAddress.map { read(fd, $0 + total, limit - total) } ?? -1
            }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { return nil }
            if n == 0 { break }
            total += n
        }
        return Array(bytes[0..<total])
    }
}

/// A mirror or replicate failure, saying what went wrong and what to do.
public struct MirrorError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
