import Foundation
import ImprintCore

/// One Debian firmware package's firmware folders (`lib/firmware/`, and `usr/lib/firmware/` of
/// merged-/usr releases), unpacked once into `CACHE/firmware/<package>_<version>/` with their
/// symlinks, and looked up by the names modules declare (`firmware=` in `.modinfo`).
struct FirmwarePackage {
    var name: String
    var version: String
    /// The unpacked tree, laid out as in the package.
    var root: String

    /// Folders of a package that hold firmware, as the kernel searches them.
    static let folders = ["lib/firmware", "usr/lib/firmware"]

    /// How a file may be stored: plain (bookworm), or compressed as the kernel's
    /// `CONFIG_FW_LOADER_COMPRESS` reads it (newer packages).
    enum Compression: String, CaseIterable, Sendable {
        case xz, zst
    }

    /// A file a declared name resolves to.
    struct Found: Equatable {
        /// The name under `/lib/firmware` the kernel asks for (`rtl_nic/rtl8168d-1.fw`); for a
        /// declared glob, the name of a file it matched.
        var name: String
        /// Where the package holds it (`lib/firmware/rtl_nic/rtl8168d-1.fw`, maybe with `.xz`).
        var member: String
        /// The unpacked file, symlinks followed.
        var file: String
        var compression: Compression?
    }

    /// The candidates of `names` in the private lists. A name they do not hold may be newer than
    /// they are: the lists are refreshed once (unless an hour old at most) before that is an error,
    /// naming the package and the recipe line (`places[i]` for `names[i]`).
    static func candidates(_ names: [String], apt: PrivateApt, places: [String]) throws -> [PrivateApt.Candidate] {
        var found = try apt.candidates(names)
        if names.contains(where: { found[$0] == nil }) {
            try apt.updateLists(force: true)
            found = try apt.candidates(names)
        }
        return try zip(names, places).map { name, place in
            guard let candidate = found[name] else {
                let near = suggestions(for: name, among: (try? apt.packageNames(prefix: String(name.prefix(4)))) ?? [])
                throw FirmwareError.noSuchPackage(name: name, place: place, source: apt.sourceLine, suggestions: near)
            }
            return candidate
        }
    }

    /// A candidate's firmware tree, downloaded and unpacked unless the cache already holds it.
    static func fetch(_ candidate: PrivateApt.Candidate, apt: PrivateApt) throws -> FirmwarePackage {
        let name = candidate.package
        let root = apt.cache.path("firmware/\(name)_\(candidate.version.replacingOccurrences(of: ":", with: "%3a"))")
        let package = FirmwarePackage(name: name, version: candidate.version, root: root)
        let fm = FileManager.default
        if fm.fileExists(atPath: root + "/.complete") { return package }
        let lock = try apt.cache.lock("firmware/\(name)")
        defer { lock.unlock() }
        if fm.fileExists(atPath: root + "/.complete") { return package }
        let deb = try apt.download(candidate)
        apt.log("unpacking \((deb as NSString).lastPathComponent)")
        try DebianArchive.unpack(deb: deb, into: root, keep: { member in
            folders.contains { member.path.hasPrefix($0 + "/") }
        }, fail: { FirmwareError.io($0) })
        return package
    }

    /// Up to three names close to a mistyped one, closest first.
    static func suggestions(for name: String, among names: [String]) -> [String] {
        let limit = max(2, name.count / 3)
        let ranked: [(name: String, distance: Int)] = names.map { ($0, editDistance(name, $0)) }
        let close = ranked.filter { $0.distance <= limit }.sorted { $0.distance < $1.distance }
        return close.prefix(3).map(\.name)
    }

    /// The files `declared` stands for: the file of that name (or its `.xz`/`.zst`), symlinks inside
    /// the package followed; for a glob (`brcm/brcmfmac*-sdio.*.txt`), every file it matches.
    func lookup(_ declared: String) -> [Found] {
        if declared.contains(where: { $0 == "*" || $0 == "?" || $0 == "[" }) {
            return names.filter { globMatch(declared, $0.name) }.compactMap { lookup(exact: $0.name) }
        }
        return lookup(exact: declared).map { [$0] } ?? []
    }

    private func lookup(exact name: String) -> Found? {
        for folder in Self.folders {
            for compression in [nil] + Compression.allCases.map(Optional.some) {
                let member = "\(folder)/\(name)" + (compression.map { ".\($0.rawValue)" } ?? "")
                if let file = Self.resolve(member, in: root) {
                    return Found(name: name, member: member, file: file, compression: compression)
                }
            }
        }
        return nil
    }

    /// Every firmware name the package holds (compression suffixes dropped), for globs and hints.
    var names: [(name: String, member: String)] {
        var out: [(String, String)] = []
        for folder in Self.folders {
            guard let walker = FileManager.default.enumerator(atPath: "\(root)/\(folder)") else { continue }
            while let relative = walker.nextObject() as? String {
                var name = relative
                for compression in Compression.allCases where name.hasSuffix(".\(compression.rawValue)") {
                    name.removeLast(compression.rawValue.count + 1)
                }
                out.append((name, "\(folder)/\(relative)"))
            }
        }
        return out
    }

    /// The regular file `relative` names inside `root`, following symlinks component by component the
    /// way they would resolve on an installed system (absolute targets from the package's root), but
    /// never out of the tree; nil when it does not exist, is not a regular file, or loops.
    static func resolve(_ relative: String, in root: String) -> String? {
        var pending = relative.split(separator: "/").map(String.init)
        var resolved: [String] = []
        var hops = 0
        while !pending.isEmpty {
            let component = pending.removeFirst()
            if component == "." { continue }
            if component == ".." {
                guard !resolved.isEmpty else { return nil }
                resolved.removeLast()
                continue
            }
            let path = ([root] + resolved + [component]).joined(separator: "/")
            var info = stat()
            guard lstat(path, &info) == 0 else { return nil }
            if info.st_mode & S_IFMT == S_IFLNK {
                hops += 1
                guard hops <= 40, let target = try? FileManager.default.destinationOfSymbolicLink(atPath: path) else { return nil }
                if target.hasPrefix("/") { resolved = [] }
                pending = target.split(separator: "/").map(String.init) + pending
                continue
            }
            guard pending.isEmpty || info.st_mode & S_IFMT == S_IFDIR else { return nil }
            resolved.append(component)
        }
        let path = ([root] + resolved).joined(separator: "/")
        var info = stat()
        guard !resolved.isEmpty, stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
        return path
    }
}
