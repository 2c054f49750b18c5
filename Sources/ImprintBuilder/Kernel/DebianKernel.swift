import Foundation

/// Fetches a Debian kernel package with apt, once, and unpacks it into the cache with libarchive.
struct DebianKernel {
    var package: String
    var cache: Cache
    var log: (String) -> Void

    struct Resolved: Equatable {
        var package: String
        var version: String
    }

    func fetch() throws -> KernelTree {
        let resolved = try resolve(package)
        let name = "\(resolved.package)_\(resolved.version)"
        let tree = cache.path("kernels/\(name)")
        let source = "debian:\(resolved.package)=\(resolved.version)"
        if FileManager.default.fileExists(atPath: tree + "/.complete") {
            return try KernelTree.unpacked(root: tree, source: source)
        }
        // Two builds sharing a cache (parallel tests, two terminals) fetch and unpack once.
        let lock = try cache.lock("kernels/\(name)")
        defer { lock.unlock() }
        if FileManager.default.fileExists(atPath: tree + "/.complete") {
            return try KernelTree.unpacked(root: tree, source: source)
        }
        let deb = try download(resolved)
        log("unpacking \((deb as NSString).lastPathComponent)")
        try unpack(deb: deb, into: tree)
        return try KernelTree.unpacked(root: tree, source: source)
    }

    /// Resolves a metapackage (`linux-image-amd64`) to the versioned kernel package it depends on.
    func resolve(_ name: String) throws -> Resolved {
        let info = try aptShow(name)
        if Self.isVersionedKernel(info.package) { return Resolved(package: info.package, version: info.version) }
        guard let target = Self.kernelDependency(info.depends) else {
            throw KernelError(message: "apt package \(name) is neither a kernel image nor depends on one (Depends: \(info.depends))")
        }
        let versioned = try aptShow(target)
        return Resolved(package: versioned.package, version: versioned.version)
    }

    /// `linux-image-6.1.0-56-amd64`, not `linux-image-amd64`.
    static func isVersionedKernel(_ name: String) -> Bool {
        guard name.hasPrefix("linux-image-") else { return false }
        return name.dropFirst("linux-image-".count).first?.isNumber == true
    }

    /// The first versioned kernel package in a `Depends:` field.
    static func kernelDependency(_ depends: String) -> String? {
        for alternative in depends.split(whereSeparator: { $0 == "," || $0 == "|" }) {
            let name = alternative.trimmingCharacters(in: .whitespaces).split(separator: " ").first.map(String.init) ?? ""
            if isVersionedKernel(name) { return name }
        }
        return nil
    }

    struct PackageInfo { var package: String; var version: String; var depends: String }

    /// The candidate version's control fields, from `apt-cache show`.
    func aptShow(_ name: String) throws -> PackageInfo {
        let out = try run("apt-cache", ["show", "--no-all-versions", name],
                          hint: "imprint fetches Debian kernels with apt; on a system without apt use `kernel: path:` in the recipe")
        guard out.status == 0, !out.stdout.isEmpty else {
            let why = out.lastErrorLine.isEmpty ? "no such package" : out.lastErrorLine
            throw KernelError(message: "apt cannot find kernel package '\(name)' (\(why)); check the name with `apt-cache search linux-image`, and run `apt-get update` if the package lists are empty")
        }
        return Self.parseControl(out.stdout, fallbackName: name)
    }

    static func parseControl(_ text: String, fallbackName: String) -> PackageInfo {
        var info = PackageInfo(package: fallbackName, version: "", depends: "")
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("Package: ") { info.package = String(line.dropFirst(9)) }
            if line.hasPrefix("Version: ") { info.version = String(line.dropFirst(9)) }
            if line.hasPrefix("Depends: ") { info.depends = String(line.dropFirst(9)) }
            if line.isEmpty { break }
        }
        return info
    }

    func download(_ resolved: Resolved) throws -> String {
        let dir = cache.path("debs")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        // apt-get download names the file with the version's ':' escaped as %3a.
        let version = resolved.version.replacingOccurrences(of: ":", with: "%3a")
        let file = "\(dir)/\(resolved.package)_\(version)_amd64.deb"
        if FileManager.default.fileExists(atPath: file) { return file }
        log("downloading \(resolved.package) \(resolved.version) with apt")
        let out = try run("apt-get", ["download", "-q", "\(resolved.package)=\(resolved.version)"], cwd: dir)
        guard out.status == 0, FileManager.default.fileExists(atPath: file) else {
            throw KernelError(message: "apt could not download \(resolved.package) \(resolved.version): \(out.lastErrorLine.isEmpty ? "no file" : out.lastErrorLine); check network access to the Debian mirror")
        }
        return file
    }

    /// Reads the `.deb` with libarchive and writes the kernel image, its configuration and the module
    /// tree into `tree`, atomically.
    func unpack(deb: String, into tree: String) throws {
        try DebianArchive.unpack(deb: deb, into: tree, keep: { member in
            !member.isSymlink && (member.path.hasPrefix("boot/vmlinuz-") || member.path.hasPrefix("boot/config-")
                || member.path.hasPrefix("lib/modules/"))
        }, fail: { KernelError(message: $0) })
    }
}
