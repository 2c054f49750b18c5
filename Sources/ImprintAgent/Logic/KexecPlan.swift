import ImprintCore

/// What `kexec` after a deploy boots (pure): the deployed root's `/boot/vmlinuz` and
/// `/boot/initrd.img`, with the agent's own consoles and the root by its GPT unique GUID.
public enum KexecPlan {
    public static let kernelPath = "/boot/vmlinuz"
    public static let initrdPath = "/boot/initrd.img"

    /// `console=...` arguments of the agent's command line (the deployed system should talk
    /// where the agent did), then `root=PARTUUID=<guid> ro panic=-1`.
    public static func commandLine(agentCommandLine: String, rootPartition: GUID) -> String {
        let consoles = agentCommandLine.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" })
            .filter { $0.hasPrefix("console=") }.map(String.init)
        return (consoles + ["root=PARTUUID=\(rootPartition.description.lowercased())", "ro", "panic=-1"]).joined(separator: " ")
    }

    /// Resolves `path` inside a root directory whose symlinks are read with `readLink` (nil: not a
    /// symlink): relative targets against their directory, absolute ones against the root, never
    /// above it, at most 16 links. Returns the resolved absolute path (inside the root), or nil.
    public static func resolve(_ path: String, readLink: (String) -> String?) -> String? {
        var pending = path.split(separator: "/").map(String.init)
        var resolved: [String] = []
        var hops = 0
        while !pending.isEmpty {
            let component = pending.removeFirst()
            if component == "." || component.isEmpty { continue }
            if component == ".." {
                if !resolved.isEmpty { resolved.removeLast() }
                continue
            }
            let candidate = "/" + (resolved + [component]).joined(separator: "/")
            if let target = readLink(candidate) {
                hops += 1
                guard hops <= 16 else { return nil }
                if target.hasPrefix("/") { resolved = [] }
                pending = target.split(separator: "/").map(String.init) + pending
                continue
            }
            resolved.append(component)
        }
        return "/" + resolved.joined(separator: "/")
    }
}
