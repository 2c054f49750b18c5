/// A hardware profile: which kernel, which drivers, how the agent boots (DESIGN section 3).
public struct Recipe: Equatable, Sendable {
    public enum KernelSource: Equatable, Sendable {
        /// A Debian package name (`linux-image-amd64` or a versioned `linux-image-6.1.0-NN-amd64`), fetched with apt.
        case debian(package: String)
        /// A local kernel: a `vmlinuz` file (modules from `modules`, default `/lib/modules/<release>`),
        /// or a directory holding `boot/vmlinuz-*` and `lib/modules/<release>/`.
        case path(String, modules: String?)
    }

    public var profile: String
    public var arch: String
    public var kernel: KernelSource
    /// Module names the profile asks for by name.
    public var modules: [String]
    /// PCI vendor:device IDs whose drivers the profile needs.
    public var pci: [String]
    /// Debian firmware packages.
    public var firmware: [String]
    public var cmdline: String
    /// Default store URL for agents with no identity.
    public var agentServer: String?
    public var formats: [String]
    /// The file the recipe came from, for error messages and relative paths.
    public var sourcePath: String

    public init(profile: String, arch: String = "x86_64", kernel: KernelSource, modules: [String] = [],
                pci: [String] = [], firmware: [String] = [], cmdline: String = "console=tty0 console=ttyS0",
                agentServer: String? = nil, formats: [String] = ["pxe"], sourcePath: String = "<memory>") {
        self.profile = profile
        self.arch = arch
        self.kernel = kernel
        self.modules = modules
        self.pci = pci
        self.firmware = firmware
        self.cmdline = cmdline
        self.agentServer = agentServer
        self.formats = formats
        self.sourcePath = sourcePath
    }
}

/// A recipe that cannot be used, with the place in the file that says why.
public struct RecipeError: Error, CustomStringConvertible, Equatable {
    public var file: String
    public var line: Int?
    public var column: Int?
    public var key: String?
    public var message: String

    public var description: String {
        var place = file
        if let line { place += ":\(line)" }
        if let column { place += ":\(column)" }
        if let key { return "\(place): \(key): \(message)" }
        return "\(place): \(message)"
    }
}
