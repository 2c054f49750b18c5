import Foundation

/// A Debian package other than the kernel, fetched with `apt-get download` into the cache beside the
/// kernel's `.deb` and unpacked with libarchive, so the build uses the package's files and not whatever
/// the host has installed.
struct DebianPackage {
    var name: String
    var cache: Cache
    var log: (String) -> Void

    struct Unpacked {
        var name: String
        var version: String
        /// The unpacked tree: `root + "/bin/busybox"`.
        var root: String
        func path(_ relative: String) -> String { "\(root)/\(relative)" }
    }

    /// The package's candidate version, downloaded once and unpacked once; `keep` picks the
    /// members (paths without `./`) worth unpacking.
    func fetch(keep: (String) -> Bool) throws -> Unpacked {
        let version = try candidateVersion()
        let tree = cache.path("packages/\(name)_\(version.replacingOccurrences(of: ":", with: "%3a"))")
        let unpacked = Unpacked(name: name, version: version, root: tree)
        if FileManager.default.fileExists(atPath: tree + "/.complete") { return unpacked }
        let lock = try cache.lock("packages/\(name)")
        defer { lock.unlock() }
        if FileManager.default.fileExists(atPath: tree + "/.complete") { return unpacked }
        let deb = try download(version: version)
        log("unpacking \((deb as NSString).lastPathComponent)")
        try unpack(deb: deb, into: tree, keep: keep)
        return unpacked
    }

    func candidateVersion() throws -> String {
        let out = try run("apt-cache", ["show", "--no-all-versions", name],
                          hint: "the demo image takes busybox and systemd-boot's stub from Debian packages through apt")
        let info = DebianKernel.parseControl(out.stdout, fallbackName: name)
        guard out.status == 0, !info.version.isEmpty else {
            let why = out.lastErrorLine.isEmpty ? "no such package" : out.lastErrorLine
            throw DemoError("apt cannot find package '\(name)' (\(why)); run `apt-get update` if the package lists are empty")
        }
        return info.version
    }

    func download(version: String) throws -> String {
        let dir = cache.path("debs")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        // apt-get download names the file with the version's ':' escaped as %3a.
        let file = "\(dir)/\(name)_\(version.replacingOccurrences(of: ":", with: "%3a"))_amd64.deb"
        if FileManager.default.fileExists(atPath: file) { return file }
        log("downloading \(name) \(version) with apt")
        let out = try run("apt-get", ["download", "-q", "\(name)=\(version)"], cwd: dir)
        guard out.status == 0, FileManager.default.fileExists(atPath: file) else {
            throw DemoError("apt could not download \(name) \(version): \(out.lastErrorLine.isEmpty ? "no file" : out.lastErrorLine); check network access to the Debian mirror, or run `apt-get update`")
        }
        return file
    }

    /// The kept regular files of the package's `data.tar.*`, written into `tree` atomically.
    func unpack(deb: String, into tree: String, keep: (String) -> Bool) throws {
        try DebianArchive.unpack(deb: deb, into: tree, keep: { !$0.isSymlink && keep($0.path) }, fail: { DemoError($0) })
    }
}
