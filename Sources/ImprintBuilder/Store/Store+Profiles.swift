import Foundation
import ImprintCore

extension Store {
    /// What device scripts need from a built profile's `build.json`.
    public struct BuiltProfile: Equatable, Sendable {
        public var name: String
        public var cmdline: String
        /// The recipe's `agent.server`: the store URL identities get when `device add` is given no `--server`.
        public var defaultServer: String?

        public var script: IPXEScript.Profile { IPXEScript.Profile(name: name, cmdline: cmdline) }
    }

    /// Reads `boot/<profile>/build.json` and checks the kernel and initrd are there.
    public func loadProfile(_ name: String) throws -> BuiltProfile {
        let built = builtProfileNames()
        let hint = built.isEmpty ? "build it first: imprint build recipes/\(name).yaml --store \(root)"
            : "built profiles: \(built.joined(separator: ", ")); or build it: imprint build recipes/\(name).yaml --store \(root)"
        guard ImageDescriptor.problem(withName: name) == nil, name != "ipxe",
              let data = FileIO.read(buildReport(name)) else {
            throw StoreError("profile '\(name)' is not built in \(root): \(hint)")
        }
        for file in ["vmlinuz", "initrd.img"] where !FileIO.exists("\(profileDirectory(name))/\(file)") {
            throw StoreError("profile '\(name)' has no \(file) in \(profileDirectory(name)): rebuild it: imprint build recipes/\(name).yaml --store \(root)")
        }
        let report: BuildReport
        do {
            report = try JSONDecoder().decode(BuildReport.self, from: Data(data))
        } catch {
            throw StoreError("\(buildReport(name)) cannot be read (\(error)): rebuild the profile: imprint build recipes/\(name).yaml --store \(root)")
        }
        if let problem = IPXEScript.problem(withCmdline: report.cmdline) {
            throw StoreError("profile '\(name)': its kernel command line \(problem): fix cmdline in the recipe and rebuild")
        }
        return BuiltProfile(name: name, cmdline: report.cmdline, defaultServer: report.agentServer ?? serverFromInitrd(name))
    }

    /// Profiles under `boot/` with a `build.json`, sorted.
    public func builtProfileNames() -> [String] {
        FileIO.list("\(root)/boot").filter { !$0.hasPrefix(".") && $0 != "ipxe" && FileIO.exists(buildReport($0)) }
    }

    /// The `server` of the initrd's `etc/imprint/profile.json`, for a `build.json` written before it
    /// recorded `agentServer`. The initrd's entries are sorted, so `etc/` comes early in the stream.
    private func serverFromInitrd(_ profile: String) -> String? {
        guard let reader = try? ArchiveReader(path: "\(profileDirectory(profile))/initrd.img", formats: .cpio) else { return nil }
        while let entry = try? reader.next() {
            guard entry.path == "etc/imprint/profile.json" else {
                if entry.path > "etc/imprint/profile.json" { return nil }
                continue
            }
            guard let bytes = try? reader.readData(), let json = try? JSONValue.parse(String(decoding: bytes, as: UTF8.self)) else { return nil }
            return json["server"]?.stringValue
        }
        return nil
    }

    /// (Re)writes `devices/default.ipxe`, the discovery script for machines with no
    /// `devices/<mac>/`. It keeps the profile it names while that profile stays built; otherwise
    /// it takes the first built profile by name. With no profile built it writes nothing.
    /// `imprint build` and `device add` both call it; the file is only rewritten when it changes.
    /// Returns the profile it boots, if any.
    @discardableResult
    public func writeDiscoveryScript() throws -> String? {
        let built = builtProfileNames()
        let current = FileIO.readText(discoveryScript).flatMap(Self.profileInDiscoveryScript)
        guard let chosen = current.flatMap({ built.contains($0) ? $0 : nil }) ?? built.first else { return nil }
        let profile = try loadProfile(chosen)
        let text = IPXEScript.discovery(profile: profile.script)
        if FileIO.readText(discoveryScript) == text { return chosen }
        try makeFolders(["devices"])
        try FileIO.writeAtomically(Array(text.utf8), to: discoveryScript, mode: 0o644)
        return chosen
    }

    /// The profile a discovery script boots, from its `initrd ../boot/<profile>/initrd.img` line.
    static func profileInDiscoveryScript(_ text: String) -> String? {
        for line in text.split(separator: "\n") where line.hasPrefix("initrd ../boot/") && line.hasSuffix("/initrd.img") {
            return String(line.dropFirst("initrd ../boot/".count).dropLast("/initrd.img".count))
        }
        return nil
    }
}
