import Foundation

/// Small POSIX file operations the store needs many thousands of times per call, without
/// Foundation's overhead; each failure names the path and errno's text.
enum FileIO {
    static func errnoText() -> String { String(cString: strerror(errno)) }

    /// Writes `bytes` to `path` through a temporary name in the same folder, with exactly `mode`
    /// whatever the umask, then renames it into place: readers see the old file or the new one.
    static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t) throws {
        let temporary = temporaryName(for: path)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw StoreError("cannot create \(temporary): \(errnoText())") }
        var ok = false
        defer {
            if !ok { unlink(temporary) }
        }
        do {
            defer { close(fd) }
            guard fchmod(fd, mode) == 0 else { throw StoreError("cannot set the mode of \(temporary): \(errnoText())") }
            try writeAll(fd, bytes, path: temporary)
        }
        guard rename(temporary, path) == 0 else { throw StoreError("cannot rename \(temporary) to \(path): \(errnoText())") }
        ok = true
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws {
        try bytes.withUnsafeBytes { try writeAll(fd, $0, path: path) }
    }

    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        var done = 0
        while done < bytes.count {
            guard let base = bytes.baseAddress else { return }
            let n = write(fd, base + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw StoreError("cannot write \(path): \(errnoText())")
            }
            done += n
        }
    }

    /// `.<name>.<pid>.<random>.partial` beside `path`: hidden, never a store name, unique per writer.
    static func temporaryName(for path: String) -> String {
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        return "\(dir).\(name).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).partial"
    }

    /// Creates `path` and missing parents with exactly `mode`.
    static func makeDirectory(_ path: String, mode: mode_t) throws {
        if mkdir(path, mode) == 0 {
            chmod(path, mode)
            return
        }
        if errno == EEXIST {
            guard isDirectory(path) else { throw StoreError("\(path) exists and is not a folder: move it away") }
            return
        }
        if errno == ENOENT, let slash = path.lastIndex(of: "/"), slash != path.startIndex {
            try makeDirectory(String(path[..<slash]), mode: 0o755)
            return try makeDirectory(path, mode: mode)
        }
        throw StoreError("cannot create the folder \(path): \(errnoText())")
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    /// The whole file, or nil if it cannot be opened.
    static func read(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; return nil }
            if n == 0 { return out }
            out += chunk[0..<n]
        }
    }

    static func readText(_ path: String) -> String? {
        read(path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Names in a folder, sorted, without `.` and `..`; empty if it cannot be read.
    static func list(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// Removes a file or a whole tree; a missing path is not an error.
    static func removeTree(_ path: String) throws {
        guard exists(path) else { return }
        do {
            try FileManager.default.removeItem(atPath: path)
        } catch {
            throw StoreError("cannot remove \(path): \(error.localizedDescription)")
        }
    }
}
