import Glibc

/// What a directory entry is, without following a symlink.
public enum FileKind: Equatable, Sendable {
    case regular, directory, symlink, other
}

/// One entry of a directory listing.
public struct DirectoryEntry: Equatable, Sendable {
    public var name: String
    public var kind: FileKind

    public init(name: String, kind: FileKind) {
        self.name = name
        self.kind = kind
    }
}

/// Read access to the machine's files: procfs, sysfs, `/lib/modules`, `/etc/imprint`.
/// Paths are absolute as the booted agent sees them (`/sys/block`); an
/// implementation may place them under another root, which is how host mode
/// and the tests run against a fake tree.
public protocol FileSystem {
    /// The whole content of a file, decoded as UTF-8 (invalid bytes repaired).
    func readFile(_ path: String) throws(SystemError) -> String
    /// The entries of a directory, sorted by name, without `.` and `..`.
    func listDirectory(_ path: String) throws(SystemError) -> [DirectoryEntry]
    /// The target of a symbolic link.
    func readLink(_ path: String) throws(SystemError) -> String
    /// Whether something exists at `path` (a dangling symlink does not).
    func exists(_ path: String) -> Bool
    /// Where `path` really is on this machine, for code that must open it
    /// itself (the module loader hands an fd to the kernel).
    func hostPath(_ path: String) -> String
}

extension FileSystem {
    /// The file's content with surrounding whitespace trimmed, or nil when it
    /// cannot be read: sysfs attributes are one value and a newline.
    public func readValue(_ path: String) -> String? {
        guard let text = try? readFile(path) else { return nil }
        return trimmed(text)
    }
}

/// The real file system, optionally under a root directory (`--probe-root DIR`).
public struct RootedFileSystem: FileSystem {
    public let root: String
    /// Files larger than this are refused: nothing the agent reads this way
    /// (sysfs attributes, `modules.alias`, manifests) comes near it.
    public var maximumFileSize = 64 << 20

    /// `root` is `/` for the machine itself, or a directory standing in for it.
    public init(root: String = "/") {
        var root = root
        while root.count > 1 && root.hasSuffix("/") { root.removeLast() }
        self.root = root
    }

    public func hostPath(_ path: String) -> String {
        if root == "/" || root.isEmpty { return path }
        return path.hasPrefix("/") ? root + path : root + "/" + path
    }

    public func readFile(_ path: String) throws(SystemError) -> String {
        let real = hostPath(path)
        let fd = try Syscall.retrying("open \(path)") { open(real, O_RDONLY | O_CLOEXEC) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 1)
        defer { chunk.deallocate() }
        while true {
            let count = try Syscall.retrying("read \(path)") { read(fd, chunk.baseAddress, chunk.count) }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
            if bytes.count > maximumFileSize { throw SystemError("read \(path)", code: EFBIG) }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    public func listDirectory(_ path: String) throws(SystemError) -> [DirectoryEntry] {
        let real = hostPath(path)
        guard let dir = opendir(real) else { throw SystemError("open directory \(path)", code: errno) }
        defer { closedir(dir) }
        var entries: [DirectoryEntry] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: &entry.pointee.d_name) { tuple in
                tuple.withMemoryRebound(to: CChar.self, capacity: MemoryLayout.size(ofValue: tuple.pointee)) {
                    String(cString: $0)
                }
            }
            if name == "." || name == ".." { continue }
            var kind: FileKind
            switch Int(entry.pointee.d_type) {
            case Int(DT_REG): kind = .regular
            case Int(DT_DIR): kind = .directory
            case Int(DT_LNK): kind = .symlink
            case Int(DT_UNKNOWN): kind = Self.kind(ofPath: real + "/" + name)
            default: kind = .other
            }
            entries.append(DirectoryEntry(name: name, kind: kind))
        }
        entries.sort { $0.name < $1.name }
        return entries
    }

    public func readLink(_ path: String) throws(SystemError) -> String {
        let buffer = UnsafeMutableBufferPointer<CChar>.allocate(capacity: 4096)
        defer { buffer.deallocate() }
        guard let base = buffer.baseAddress else { throw SystemError("read link \(path)", code: ENOMEM) }
        let real = hostPath(path)
        let count = try Syscall.retrying("read link \(path)") { readlink(real, base, buffer.count) }
        return String(decoding: UnsafeRawBufferPointer(start: base, count: count), as: UTF8.self)
    }

    public func exists(_ path: String) -> Bool {
        access(hostPath(path), F_OK) == 0
    }

    /// For file systems whose `readdir` does not fill `d_type`.
    static func kind(ofPath path: String) -> FileKind {
        var info = stat()
        guard lstat(path, &info) == 0 else { return .other }
        switch info.st_mode & Glibc.S_IFMT {
        case Glibc.S_IFREG: return .regular
        case Glibc.S_IFDIR: return .directory
        case Glibc.S_IFLNK: return .symlink
        default: return .other
        }
    }
}
