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
    /// A PCI function the recipe names (`drivers.pci`, or a controller of `drivers.inventory`) and the
    /// modules whose aliases match it: which ID pulled in which module.
    public struct Device: Codable, Equatable, Sendable {
        /// The recipe form: `8086:100e`, `1b36:0010/010802`.
        public var id: String
        /// `drivers.pci (line 7)`, `drivers.inventory lab.txt, slot 00:03.0`.
        public var from: String
        /// pci.ids' names: `8086:100e (Ethernet controller [0200]: Intel Corporation 82540EM ...)`.
        public var name: String
        public var modules: [String]
    }
    /// A firmware file in the initrd, and where it came from.
    public struct FirmwareFile: Codable, Equatable, Sendable {
        /// Where the initrd holds it: `lib/firmware/rtl_nic/rtl8168d-1.fw`.
        public var path: String
        /// The Debian package (and its version) it was taken from.
        public var package: String
        public var version: String
        /// The modules whose `.modinfo` declares it.
        public var modules: [String]
        public var size: Int
    }
    public struct Package: Codable, Equatable, Sendable {
        public var name: String
        public var version: String
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
        /// The firmware files' bytes; optional so an older `build.json` still decodes.
        public var firmware: Int? = nil
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
    /// The recipe's PCI functions and their drivers. This and the firmware fields below are optional
    /// so a `build.json` written before profiles named hardware still decodes.
    public var devices: [Device]? = nil
    /// `drivers.firmware`, resolved to versions.
    public var firmwarePackages: [Package]? = nil
    /// The firmware files in the initrd.
    public var firmware: [FirmwareFile]? = nil
    /// What the build let pass but someone should know: firmware a module declares that no listed
    /// package holds, for modules that drive no device the recipe names.
    public var warnings: [String]? = nil
}
