import Foundation

/// The file tree of a Debian package: the `data.tar.*` member of its `.deb` (an `ar` archive), read
/// with libarchive. One reader for the kernel, the demo's packages and the firmware packages.
enum DebianArchive {
    /// A member of the package's tree, as `keep` sees it: its path without `./`, and whether it is
    /// a regular file or a symlink (the only kinds ever written).
    struct Member {
        var path: String
        var isSymlink: Bool
    }

    /// Writes the kept regular files (with their permission bits) and symlinks (with their targets as
    /// the package gives them) of `deb` into `tree`, atomically: into `tree.partial`, then a `.complete`
    /// marker, then a rename. Paths with `..` are skipped. `fail` makes the caller's error type.
    static func unpack(deb: String, into tree: String, keep: (Member) -> Bool,
                       fail: (String) -> any Error) throws {
        let fm = FileManager.default
        let partial = tree + ".partial"
        try? fm.removeItem(atPath: partial)
        try fm.createDirectory(atPath: partial, withIntermediateDirectories: true)
        let outer = try ArchiveReader(path: deb, formats: .ar)
        var found = false
        while let member = try outer.next() {
            guard member.path.hasPrefix("data.tar") else { continue }
            found = true
            let inner = try ArchiveReader(bytes: try outer.readData(), label: "\(deb):\(member.path)", formats: .tar)
            while let entry = try inner.next() {
                var path = entry.path
                if path.hasPrefix("./") { path.removeFirst(2) }
                let symlink = entry.symlink.flatMap { $0.isEmpty ? nil : $0 }
                guard entry.isRegularFile || symlink != nil, !path.isEmpty,
                      !path.split(separator: "/").contains(".."),
                      keep(Member(path: path, isSymlink: !entry.isRegularFile)) else { continue }
                let target = "\(partial)/\(path)"
                try fm.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                if !entry.isRegularFile, let symlink {
                    try? fm.removeItem(atPath: target)
                    guard Foundation.symlink(symlink, target) == 0 else {
                        throw fail("cannot write \(target): \(String(cString: strerror(errno)))")
                    }
                    continue
                }
                // Streamed: kernel modules and firmware blobs run to megabytes each.
                guard let file = fopen(target, "wb") else {
                    throw fail("cannot write \(target): \(String(cString: strerror(errno)))")
                }
                defer { fclose(file) }
                try inner.readData { chunk in
                    guard fwrite(chunk.baseAddress, 1, chunk.count, file) == chunk.count else {
                        throw fail("cannot write \(target): \(String(cString: strerror(errno)))")
                    }
                }
                guard fchmod(fileno(file), mode_t(entry.mode & 0o777)) == 0 else {
                    throw fail("cannot set the mode of \(target): \(String(cString: strerror(errno)))")
                }
            }
        }
        guard found else { throw fail("\(deb) holds no data.tar member: not a Debian package") }
        guard fm.createFile(atPath: partial + "/.complete", contents: Data()) else {
            throw fail("cannot write \(partial)/.complete")
        }
        try? fm.removeItem(atPath: tree)
        try fm.moveItem(atPath: partial, toPath: tree)
    }
}
