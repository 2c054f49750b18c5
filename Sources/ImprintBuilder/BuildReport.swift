/// `build.json`: what went into a profile's boot image, and why (DESIGN section 3).
public struct BuildReport: Codable, Equatable, Sendable {
    public struct Kernel: Codable, Equatable, Sendable {
        public var release: String
        public var source: String
        public var vmlinuzSize: Int
    }
    public struct Module: Codable, Equatable, Sendable {
        public var name: String
        public var path: String
        public var reason: String
        public var size: Int
    }
    public struct Library: Codable, Equatable, Sendable {
        public var name: String
        public var source: String
        public var size: Int
    }
    /// A program (or its configuration) the agent runs from the initrd, copied from this machine.
    public struct Tool: Codable, Equatable, Sendable {
        /// `mke2fs`, `mkfs.fat`, `mke2fs.conf`.
        public var name: String
        /// Where the initrd holds it (`usr/sbin/mke2fs`).
        public var path: String
        /// Where it came from here (`/usr/sbin/mke2fs`).
        public var source: String
        /// The Debian package that ships it.
        public var package: String
        public var size: Int
    }
    public struct Sizes: Codable, Equatable, Sendable {
        public var initrdCompressed: Int
        public var initrdUncompressed: Int
        public var agent: Int
        public var libraries: Int
        public var modules: Int
        /// The tools' own bytes (their libraries count under `libraries`); optional so a
        /// `build.json` written before the initrd carried tools still decodes.
        public var tools: Int? = nil
    }

    public var version: Int = 1
    public var profile: String
    public var imprintVersion: String
    public var recipe: String
    public var cmdline: String
    public var kernel: Kernel
    public var modules: [Module]
    /// The shared libraries of the agent and the tools, one copy of each.
    public var libraries: [Library]
    /// What the initrd carries beside the agent for it to run (docs/initrd.md). Optional so a
    /// `build.json` written before the initrd carried tools still decodes.
    public var tools: [Tool]? = nil
    public var agent: String
    public var sizes: Sizes
    public var buildSeconds: Double
    /// The recipe's `agent.server`, the store URL `device add` puts into identities by default.
    /// Optional so a `build.json` written before it existed still decodes.
    public var agentServer: String? = nil
}
