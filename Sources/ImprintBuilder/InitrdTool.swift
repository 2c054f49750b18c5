import Foundation

/// A host file the agent's initrd carries for the agent to run or read: the mkfs programs a `tar`
/// deploy formats its partitions with, and mke2fs's configuration (docs/initrd.md).
struct InitrdTool: Equatable, Sendable {
    /// The file's name on the host (`mke2fs`).
    var name: String
    /// Where the initrd holds it, relative (`usr/sbin/mke2fs`).
    var destination: String
    /// The host folders it is looked for in, in order.
    var searchDirs: [String]
    /// The Debian package that ships it.
    var package: String
    /// A program (mode 0755; its shared libraries join the agent's), else a data file (0644).
    var isProgram: Bool

    var mode: UInt32 { isProgram ? 0o755 : 0o644 }

    /// Where Debian puts mkfs programs; a user's PATH leaves these out.
    static let sbin = ["/usr/sbin", "/sbin"]

    /// What every agent initrd holds: the agent runs `/usr/sbin/mke2fs` and `/usr/sbin/mkfs.fat` to
    /// lay out a disk for a `tar` image; mke2fs reads `/etc/mke2fs.conf` for its ext4 defaults
    /// (without it, it falls back to ext2-era features).
    static let all: [InitrdTool] = [
        InitrdTool(name: "mke2fs", destination: "usr/sbin/mke2fs", searchDirs: sbin, package: "e2fsprogs", isProgram: true),
        InitrdTool(name: "mkfs.fat", destination: "usr/sbin/mkfs.fat", searchDirs: sbin, package: "dosfstools", isProgram: true),
        InitrdTool(name: "mke2fs.conf", destination: "etc/mke2fs.conf", searchDirs: ["/etc"], package: "e2fsprogs", isProgram: false),
    ]

    /// A tool found on this machine.
    struct Found: Equatable, Sendable {
        var tool: InitrdTool
        /// Its path here, symlinks resolved.
        var source: String
        var size: Int
    }

    /// Finds every tool, all or nothing: a missing one fails the build naming it and, so that one
    /// install fixes every gap, all the packages these tools come from.
    static func locate(_ tools: [InitrdTool]) throws(InitrdToolError) -> [Found] {
        let fm = FileManager.default
        var found: [Found] = []
        var missing: [InitrdTool] = []
        for tool in tools {
            let candidates = tool.searchDirs.map { "\($0)/\(tool.name)" }
            let hit = candidates.first { tool.isProgram ? fm.isExecutableFile(atPath: $0) : fm.isReadableFile(atPath: $0) }
            guard let hit else {
                missing.append(tool)
                continue
            }
            let source = realPath(hit)
            found.append(Found(tool: tool, source: source, size: (try? FileManagerSize.size(of: source)) ?? 0))
        }
        guard missing.isEmpty else { throw InitrdToolError(missing: missing, all: tools) }
        return found
    }
}

/// Host tools the agent's initrd needs are not installed.
public struct InitrdToolError: Error, CustomStringConvertible, Equatable {
    public var message: String
    public var description: String { message }

    init(missing: [InitrdTool], all: [InitrdTool]) {
        let what = missing.map { "\($0.name) (\($0.package), looked for in \($0.searchDirs.joined(separator: ", ")))" }
        var packages: [String] = []
        for tool in all where !packages.contains(tool.package) { packages.append(tool.package) }
        message = "the agent's initrd needs \(what.joined(separator: "; ")), which this machine lacks: "
            + "install \(packages.joined(separator: " and ")) (scripts/bootstrap does)"
    }
}
