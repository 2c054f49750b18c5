/// Whether a block device may be overwritten with a medium (`imprint usb MAC --device /dev/sdX`),
/// decided from what `/sys/block` and `/proc/self/mounts` say (pure; ``StickCheck/Facts`` gathers them).
public enum StickCheck {
    /// One disk as `/sys/block/<name>` describes it.
    public struct Disk: Equatable, Sendable {
        public var name: String
        /// `removable`: 1 for most USB sticks and card readers.
        public var removable: Bool
        /// `size` in bytes (512-byte sectors times 512).
        public var bytes: Int
        /// Its partitions' names (`sdb1`), and what is stacked on it or them (`dm-0`, `md127`) from `holders/`.
        public var partitions: [String]
        public var holders: [String]

        public init(name: String, removable: Bool, bytes: Int, partitions: [String] = [], holders: [String] = []) {
            self.name = name
            self.removable = removable
            self.bytes = bytes
            self.partitions = partitions
            self.holders = holders
        }
    }

    /// Why the device is refused; `overridable` ones give way to `--force`.
    public enum Problem: Equatable, Sendable, CustomStringConvertible {
        case notADisk(String)
        case partition(String, disk: String)
        case noMedium(String)
        case holdsTheSystem(String, mountPoints: [String])
        case mounted(String, mountPoints: [String])
        case notRemovable(String)

        public var overridable: Bool {
            switch self {
            case .mounted, .notRemovable: return true
            default: return false
            }
        }

        public var description: String {
            switch self {
            case .notADisk(let path):
                return "\(path) is not a disk this machine lists in /sys/block: give a stick's whole-disk device, such as /dev/sdb (lsblk lists them)"
            case let .partition(name, disk):
                return "/dev/\(name) is a partition of /dev/\(disk): give the whole stick, /dev/\(disk)"
            case .noMedium(let name):
                return "/dev/\(name) has no medium (0 bytes): insert the stick"
            case let .holdsTheSystem(name, points):
                return "/dev/\(name) holds the running system (\(points.joined(separator: ", "))): refused even with --force; choose the stick, not this machine's disk"
            case let .mounted(name, points):
                return "/dev/\(name) is mounted (\(points.joined(separator: ", "))): unmount it first (umount), or pass --force"
            case .notRemovable(let name):
                return "/dev/\(name) is not a removable disk: if it really is the stick (some USB disks say they are fixed), pass --force"
            }
        }
    }

    /// Mount points that are the running system: a disk behind one of these is never written.
    static let systemMountPoints: Set<String> = ["/", "/boot", "/boot/efi", "/efi", "/usr", "/var", "/etc", "/home", "[swap]"]

    /// The problems with writing `name` (a `/dev/` path's last component). `disks` is `/sys/block`;
    /// `mounts` the text of `/proc/self/mounts` (and `/proc/swaps` lines, whose first field is a
    /// device); `deviceNames` maps `/dev/mapper/...` and other aliases to kernel names (`dm-0`).
    public static func problems(name: String, disks: [Disk], mounts: String, swaps: String = "", deviceNames: [String: String] = [:]) -> [Problem] {
        guard let disk = disks.first(where: { $0.name == name }) else {
            if let parent = disks.first(where: { $0.partitions.contains(name) }) { return [.partition(name, disk: parent.name)] }
            return [.notADisk("/dev/\(name)")]
        }
        var problems: [Problem] = []
        if disk.bytes == 0 { problems.append(.noMedium(name)) }
        // The disk, its partitions and whatever is stacked on them (LVM, RAID, dm-crypt).
        let involved = Set([disk.name] + disk.partitions + disk.holders)
        var points: [String] = []
        for line in mounts.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 2 else { continue }
            if involved.contains(kernelName(String(fields[0]), deviceNames)) { points.append(unescape(String(fields[1]))) }
        }
        for line in swaps.split(separator: "\n").dropFirst() {
            guard let device = line.split(separator: " ").first else { continue }
            if involved.contains(kernelName(String(device), deviceNames)) { points.append("[swap]") }
        }
        if !points.isEmpty {
            let system = points.filter { systemMountPoints.contains($0) }
            problems.append(system.isEmpty ? .mounted(name, mountPoints: points) : .holdsTheSystem(name, mountPoints: points))
        }
        if !disk.removable { problems.append(.notRemovable(name)) }
        return problems
    }

    /// The refusals that stand: all of them, or with `force` those `--force` does not override.
    public static func refusals(_ problems: [Problem], force: Bool) -> [Problem] {
        force ? problems.filter { !$0.overridable } : problems
    }

    /// `/dev/sdb1` -> `sdb1`; `/dev/mapper/vg-root` -> `dm-0` through `deviceNames`.
    static func kernelName(_ source: String, _ deviceNames: [String: String]) -> String {
        if let mapped = deviceNames[source] { return mapped }
        guard source.hasPrefix("/dev/") else { return source }
        return String(source.dropFirst(5))
    }

    /// `/proc/self/mounts` writes a space as `\040`, a tab `\011`, a newline `\012`, a backslash `\134`.
    static func unescape(_ field: String) -> String {
        field.replacingOccurrences(of: "\\040", with: " ").replacingOccurrences(of: "\\011", with: "\t")
            .replacingOccurrences(of: "\\012", with: "\n").replacingOccurrences(of: "\\134", with: "\\")
    }
}
