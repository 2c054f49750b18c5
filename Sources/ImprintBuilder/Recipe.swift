import Foundation
import ImprintCore

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
    /// `drivers.pci`: the PCI functions whose drivers the profile needs (vendor:device, optionally
    /// with the class: `8086:100e`, `1b36:0010/010802`).
    public var pci: [PCIID]
    /// `drivers.inventory`, resolved against the recipe's folder: an agent's `inventory.json` or
    /// `lspci -nn` output, read with the recipe.
    public var inventory: String?
    /// The network and storage controllers (class 02 and 01) of `inventory`, with their class and
    /// subsystem: they count as if listed in `drivers.pci`.
    public var inventoryControllers: [HardwareListing.Device]
    /// `drivers.firmware`: the Debian packages a driver's firmware files are taken from.
    public var firmware: [String]
    public var cmdline: String
    /// Default store URL for agents with no identity.
    public var agentServer: String?
    public var formats: [String]
    /// The file the recipe came from, for error messages and relative paths.
    public var sourcePath: String
    /// Lines of list items the build may complain about later (`drivers.pci[0]`, `drivers.firmware[1]`),
    /// when the recipe was read from YAML.
    public var lines: [String: Int] = [:]

    public init(profile: String, arch: String = "x86_64", kernel: KernelSource, modules: [String] = [],
                pci: [PCIID] = [], inventory: String? = nil, inventoryControllers: [HardwareListing.Device] = [],
                firmware: [String] = [], cmdline: String = "console=tty0 console=ttyS0",
                agentServer: String? = nil, formats: [String] = ["pxe"], sourcePath: String = "<memory>") {
        self.profile = profile
        self.arch = arch
        self.kernel = kernel
        self.modules = modules
        self.pci = pci
        self.inventory = inventory
        self.inventoryControllers = inventoryControllers
        self.firmware = firmware
        self.cmdline = cmdline
        self.agentServer = agentServer
        self.formats = formats
        self.sourcePath = sourcePath
    }
}

extension Recipe {
    /// A PCI function the profile must drive, and where the recipe names it.
    public struct Device: Equatable, Sendable {
        public enum Origin: Equatable, Sendable, CustomStringConvertible {
            /// `drivers.pci`, at that line of the recipe when known.
            case pci(line: Int?)
            /// A controller of `drivers.inventory` (the file as the recipe gives it), at that slot.
            case inventory(file: String, slot: String)

            public var description: String {
                switch self {
                case let .pci(line): return "drivers.pci" + (line.map { " (line \($0))" } ?? "")
                case let .inventory(file, slot): return "drivers.inventory \(file), slot \(slot)"
                }
            }
        }
        public var id: PCIID
        public var origin: Origin

        public init(id: PCIID, origin: Origin) {
            self.id = id
            self.origin = origin
        }
    }

    /// `drivers.pci`, then the inventory's controllers; an ID already listed (with the same class and
    /// subsystem) is not repeated.
    public var devices: [Device] {
        var seen = Set<PCIID>()
        var out: [Device] = []
        for (index, id) in pci.enumerated() where seen.insert(id).inserted {
            out.append(Device(id: id, origin: .pci(line: lines["drivers.pci[\(index)]"])))
        }
        let file = inventory.map { ($0 as NSString).lastPathComponent } ?? "inventory"
        for device in inventoryControllers where seen.insert(device.id).inserted {
            out.append(Device(id: device.id, origin: .inventory(file: file, slot: device.slot)))
        }
        return out
    }

    /// `recipes/x.yaml:12` for a list item the recipe's YAML placed, else the file alone.
    func place(_ key: String) -> String {
        lines[key].map { "\(sourcePath):\($0)" } ?? sourcePath
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
