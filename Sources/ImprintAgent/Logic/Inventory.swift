/// A network interface, from `/sys/class/net/<name>`.
public struct NetworkInterface: Equatable, Sendable {
    public enum Link: String, Equatable, Sendable {
        case up, down, unknown
    }

    public var name: String
    public var mac: String
    /// The bound driver's name, nil if none is bound.
    public var driver: String?
    public var link: Link

    public init(name: String, mac: String, driver: String?, link: Link) {
        self.name = name
        self.mac = mac
        self.driver = driver
        self.link = link
    }

    /// `operstate` to up, down or unknown: `dormant`, `lowerlayerdown` and
    /// the rest count as down.
    public static func link(fromOperstate state: String?) -> Link {
        switch state {
        case "up": return .up
        case nil, "unknown": return .unknown
        default: return .down
        }
    }
}

/// A block device, from `/sys/block/<name>`.
public struct Disk: Equatable, Sendable {
    public var name: String
    public var bytes: UInt64
    public var removable: Bool

    public init(name: String, bytes: UInt64, removable: Bool) {
        self.name = name
        self.bytes = bytes
        self.removable = removable
    }

    /// Block devices that are not disks to report: loop, RAM and compressed
    /// RAM devices, and empty optical drives.
    public static func isReported(name: String, bytes: UInt64) -> Bool {
        for prefix in ["loop", "ram", "zram"] where name.hasPrefix(prefix) { return false }
        if name.hasPrefix("sr") && bytes == 0 { return false }
        return true
    }

    /// `size` counts 512-byte sectors whatever the device's block size.
    public static func bytes(fromSectors text: String?) -> UInt64 {
        guard let text, let sectors = UInt64(text) else { return 0 }
        let (bytes, overflow) = sectors.multipliedReportingOverflow(by: 512)
        return overflow ? UInt64.max : bytes
    }
}

/// The machine's network interfaces and disks.
public struct Inventory: Equatable, Sendable {
    public var interfaces: [NetworkInterface]
    public var disks: [Disk]

    public init(interfaces: [NetworkInterface] = [], disks: [Disk] = []) {
        self.interfaces = interfaces
        self.disks = disks
    }

    /// Reads `/sys/class/net` and `/sys/block`; what cannot be read is left out
    /// or shown as unknown, never an error.
    public static func gather(from fs: any FileSystem) -> Inventory {
        var inventory = Inventory()
        for entry in (try? fs.listDirectory("/sys/class/net")) ?? [] where entry.name != "lo" {
            let base = "/sys/class/net/" + entry.name
            let driver = (try? fs.readLink(base + "/device/driver")).map(lastPathComponent)
            inventory.interfaces.append(NetworkInterface(
                name: entry.name,
                mac: fs.readValue(base + "/address") ?? "-",
                driver: driver,
                link: NetworkInterface.link(fromOperstate: fs.readValue(base + "/operstate"))))
        }
        for entry in (try? fs.listDirectory("/sys/block")) ?? [] {
            let base = "/sys/block/" + entry.name
            let bytes = Disk.bytes(fromSectors: fs.readValue(base + "/size"))
            guard Disk.isReported(name: entry.name, bytes: bytes) else { continue }
            inventory.disks.append(Disk(name: entry.name, bytes: bytes, removable: fs.readValue(base + "/removable") == "1"))
        }
        return inventory
    }
}
