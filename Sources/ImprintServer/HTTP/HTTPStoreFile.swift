import CLinux
import Glibc

// Opening a served file: apart from the path rules (HTTPStorePath.swift), which the HTTPRange fuzz
// target compiles alone, without the CLinux shim this needs.
extension HTTPStorePath {
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

