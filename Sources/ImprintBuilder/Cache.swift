import Foundation

/// Where imprint keeps what it downloads and unpacks: `$IMPRINT_CACHE`, else `$XDG_CACHE_HOME/imprint`,
/// else `~/.cache/imprint`.
public struct Cache: Sendable {
    public var root: String

    public init(root: String? = nil) {
        let env = ProcessInfo.processInfo.environment
        if let root { self.root = root }
        else if let dir = env["IMPRINT_CACHE"], !dir.isEmpty { self.root = dir }
        else if let xdg = env["XDG_CACHE_HOME"], !xdg.isEmpty { self.root = xdg + "/imprint" }
        else { self.root = NSHomeDirectory() + "/.cache/imprint" }
    }

    func path(_ relative: String) -> String { "\(root)/\(relative)" }

    /// Where the module index of a module tree is cached: keyed by the tree's path and modification time,
    /// so a rebuilt local tree is read again.
    func moduleIndexFile(for modulesDir: String) -> String {
        let attributes = try? FileManager.default.attributesOfItem(atPath: modulesDir + "/kernel")
        let mtime = Int((attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)
        let key = modulesDir.map { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" ? $0 : "_" }
        return path("modindex/\(String(key))-\(mtime).tsv")
    }
}

/// An exclusive `flock` on a file in the cache, held until `unlock()`.
struct CacheLock {
    let fd: Int32
    func unlock() {
        flock(fd, LOCK_UN)
        close(fd)
    }
}

extension Cache {
    func lock(_ name: String) throws -> CacheLock {
        let path = self.path(name + ".lock")
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw KernelError(message: "cannot create \(path): \(String(cString: strerror(errno)))") }
        while flock(fd, LOCK_EX) != 0 && errno == EINTR {}
        return CacheLock(fd: fd)
    }
}
