import Foundation

/// apt with its own sources list, package lists and caches under the builder's cache (`CACHE/apt/`):
/// firmware packages live in Debian's `non-free-firmware` component, which the machine's own sources
/// may not list, and the builder never edits those (DESIGN section 10). Every apt call gets
/// `-o Dir::Etc::sourcelist=CACHE/apt/sources.list -o Dir::Etc::sourceparts=- -o Dir::State::Lists=...`.
struct PrivateApt {
    var cache: Cache
    var log: (String) -> Void
    /// The system's Debian sources, read for the mirror and the suite.
    var systemSources = ["/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list"]
    /// Lists older than this are refreshed before a look-up.
    var maxAge: TimeInterval = 7 * 24 * 3600

    static let defaultMirror = "http://deb.debian.org/debian"
    static let defaultSuite = "bookworm"
    static let components = "main non-free-firmware"
    static let keyring = "/usr/share/keyrings/debian-archive-keyring.gpg"

    var root: String { cache.path("apt") }
    var sourcesFile: String { "\(root)/sources.list" }
    var listsDir: String { "\(root)/lists" }
    /// Touched after each successful `apt-get update`.
    var stamp: String { "\(root)/lists/.updated" }

    /// The options that make apt use only the private state. `Dir::Cache` keeps apt's caches out of
    /// /var/cache/apt; the source cache is named even where the system's configuration turns it off
    /// (Debian's container images do), since parsing main's package list takes a second per call
    /// without it. As root, the download sandbox user `_apt` cannot enter a cache under /root, and
    /// apt would fall back to root with a warning: say so up front.
    var options: [String] {
        var out = ["-o", "Dir::Etc::sourcelist=\(sourcesFile)", "-o", "Dir::Etc::sourceparts=-",
                   "-o", "Dir::State::Lists=\(listsDir)", "-o", "Dir::Cache=\(root)/cache",
                   "-o", "Dir::Cache::srcpkgcache=srcpkgcache.bin", "-o", "Acquire::Languages=none", "-q"]
        if getuid() == 0 { out += ["-o", "APT::Sandbox::User=root"] }
        return out
    }

    /// The one line of the private sources list.
    var sourceLine: String {
        let texts = systemSources.compactMap { try? String(contentsOfFile: $0, encoding: .utf8) }
        let (mirror, suite) = texts.lazy.compactMap(Self.debianSource).first ?? (Self.defaultMirror, Self.defaultSuite)
        let signed = FileManager.default.fileExists(atPath: Self.keyring) ? "[signed-by=\(Self.keyring)] " : ""
        return "deb \(signed)\(mirror) \(suite) \(Self.components)"
    }

    /// The mirror and suite of the first Debian archive source (not security, not `-updates`) in a
    /// deb822 `.sources` file or a one-line `sources.list`; nil when there is none.
    static func debianSource(_ text: String) -> (mirror: String, suite: String)? {
        func pick(uris: [Substring], suites: [Substring]) -> (String, String)? {
            guard let uri = uris.first(where: { !$0.contains("security") }),
                  let suite = suites.first(where: { !$0.contains("-") && !$0.contains("/") }) else { return nil }
            return (String(uri), String(suite))
        }
        // deb822: stanzas of `Key: value` lines separated by blank lines.
        for stanza in text.components(separatedBy: "\n\n") {
            var fields: [String: [Substring]] = [:]
            for line in stanza.split(separator: "\n") where !line.hasPrefix("#") {
                guard let colon = line.firstIndex(of: ":"), !line.hasPrefix(" ") else { continue }
                fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].split(separator: " ")
            }
            guard fields["types"]?.contains("deb") == true, let uris = fields["uris"], let suites = fields["suites"] else { continue }
            if let found = pick(uris: uris, suites: suites) { return found }
        }
        // One-line: `deb [options] URI SUITE COMPONENTS...`.
        for line in text.split(separator: "\n") {
            var words = line.split(separator: " ")
            guard words.first == "deb" else { continue }
            words.removeFirst()
            if words.first?.hasPrefix("[") == true {
                while let word = words.first, !word.hasSuffix("]") { words.removeFirst() }
                if !words.isEmpty { words.removeFirst() }
            }
            guard words.count >= 2, let found = pick(uris: [words[0]], suites: [words[1]]) else { continue }
            return found
        }
        return nil
    }

    /// Writes the sources list and runs `apt-get update` when the lists are missing, older than
    /// `maxAge`, or `force`d (a package not found in lists an hour old). A failed update with lists
    /// from an earlier one is a warning, so a warm cache builds offline. The caller holds the lock.
    func updateLists(force: Bool = false) throws {
        let fm = FileManager.default
        for dir in ["\(listsDir)/partial", "\(root)/cache/archives/partial"] {
            try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }
        let line = sourceLine + "\n"
        let changed = (try? String(contentsOfFile: sourcesFile, encoding: .utf8)) != line
        if changed { try line.write(toFile: sourcesFile, atomically: true, encoding: .utf8) }
        let age = (try? fm.attributesOfItem(atPath: stamp)[.modificationDate] as? Date).map { Date().timeIntervalSince($0) }
        if !changed, let age, age < (force ? 3600 : maxAge) { return }
        log("apt-get update (private lists in \(listsDir): \(line.dropLast()))")
        let out = try run("apt-get", options + ["update"], hint: "firmware packages are fetched with apt: install apt, or leave drivers.firmware empty")
        guard out.status == 0, !out.stderr.contains("E: ") else {
            // Stale lists still name the packages the cache holds: an offline rebuild goes on.
            if !changed, age != nil {
                log("warning: apt-get update failed (\(out.lastErrorLine)); using the lists of the last update (\(listsDir))")
                return
            }
            throw FirmwareError.apt("apt-get update with the builder's own sources (\(line.dropLast())) failed: \(out.lastErrorLine.isEmpty ? "status \(out.status)" : out.lastErrorLine); check network access to the mirror")
        }
        guard fm.createFile(atPath: stamp, contents: Data()) else { throw FirmwareError.apt("cannot write \(stamp)") }
    }

    struct Candidate: Equatable {
        var package: String
        var version: String
        var architecture: String
    }

    /// The candidate versions of `names` in the private lists (one apt-cache call); names they do not
    /// hold are absent from the answer.
    func candidates(_ names: [String]) throws -> [String: Candidate] {
        guard !names.isEmpty else { return [:] }
        let out = try run("apt-cache", options + ["show", "--no-all-versions"] + names)
        return Self.parseCandidates(out.stdout)
    }

    /// `Package:`, `Version:` and `Architecture:` of each stanza of `apt-cache show` output.
    static func parseCandidates(_ text: String) -> [String: Candidate] {
        var found: [String: Candidate] = [:]
        var current = Candidate(package: "", version: "", architecture: "all")
        func finish() {
            if !current.package.isEmpty, !current.version.isEmpty, found[current.package] == nil { found[current.package] = current }
            current = Candidate(package: "", version: "", architecture: "all")
        }
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.isEmpty { finish() }
            if line.hasPrefix("Package: ") { current.package = String(line.dropFirst(9)) }
            if line.hasPrefix("Version: ") { current.version = String(line.dropFirst(9)) }
            if line.hasPrefix("Architecture: ") { current.architecture = String(line.dropFirst(14)) }
        }
        finish()
        return found
    }

    /// Names in the private lists that start with `prefix`, for suggestions.
    func packageNames(prefix: String) throws -> [String] {
        let out = try run("apt-cache", options + ["pkgnames", prefix])
        return out.stdout.split(separator: "\n").map(String.init).sorted()
    }

    /// The `.deb` of a candidate in `CACHE/debs/`, downloaded with `apt-get download` (which checks it
    /// against the signed lists) when it is not there yet.
    func download(_ candidate: Candidate) throws -> String {
        let fm = FileManager.default
        let dir = cache.path("debs")
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        // apt-get download names the file with the version's ':' escaped as %3a.
        let version = candidate.version.replacingOccurrences(of: ":", with: "%3a")
        let name = "\(candidate.package)_\(version)_\(candidate.architecture).deb"
        let file = "\(dir)/\(name)"
        if fm.fileExists(atPath: file) { return file }
        log("downloading \(candidate.package) \(candidate.version) with apt (private lists)")
        // Into a folder of its own, so an interrupted download never leaves a file under the final name.
        let partial = "\(dir)/.\(candidate.package).partial"
        try? fm.removeItem(atPath: partial)
        try fm.createDirectory(atPath: partial, withIntermediateDirectories: true)
        defer { try? fm.removeItem(atPath: partial) }
        let out = try run("apt-get", options + ["download", "\(candidate.package)=\(candidate.version)"], cwd: partial)
        guard out.status == 0, fm.fileExists(atPath: "\(partial)/\(name)") else {
            throw FirmwareError.apt("apt could not download \(candidate.package) \(candidate.version): \(out.lastErrorLine.isEmpty ? "no file" : out.lastErrorLine); check network access to the Debian mirror")
        }
        try fm.moveItem(atPath: "\(partial)/\(name)", toPath: file)
        return file
    }
}
