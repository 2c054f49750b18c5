/// The partition layout a `tar` image is deployed onto (the assignment's `layout`,
/// docs/deploy.md "Tar images"): a GPT with these partitions in order, a file system on each
/// that has one, and the tree's paths sent to the partition mounted deepest above them.
public struct DiskLayout: Equatable, Sendable {
    public enum Filesystem: String, Sendable, CaseIterable {
        case ext4, vfat, none
    }

    public struct Partition: Equatable, Sendable {
        /// GPT partition name; also the file system's label (upper-cased for vfat).
        public var name: String
        public var type: GUID
        /// Whole MiB; nil: the rest of the disk (the last partition only).
        public var sizeMiB: Int?
        public var filesystem: Filesystem
        /// Where the partition sits in the deployed tree (`/`, `/boot/efi`); nil: not mounted, left empty.
        public var mount: String?

        public init(name: String, type: GUID, sizeMiB: Int?, filesystem: Filesystem, mount: String?) {
            self.name = name
            self.type = type
            self.sizeMiB = sizeMiB
            self.filesystem = filesystem
            self.mount = mount
        }
    }

    public var partitions: [Partition]

    /// Checks the layout (see ``validate()``).
    public init(_ partitions: [Partition]) throws(StoreManifestError) {
        self.partitions = partitions
        try validate()
    }

    private init(unchecked partitions: [Partition]) { self.partitions = partitions }

    /// What a tar image gets when its assignment names no layout: a 256 MiB ESP (vfat, `/boot/efi`)
    /// and the rest as an ext4 root.
    public static let standard = DiskLayout(unchecked: [
        Partition(name: "esp", type: .efiSystem, sizeMiB: 256, filesystem: .vfat, mount: "/boot/efi"),
        Partition(name: "root", type: .linuxFilesystem, sizeMiB: nil, filesystem: .ext4, mount: "/"),
    ])

    /// The GPT partition number (1-based) of the partition mounted at `/`.
    public var rootNumber: Int { (partitions.firstIndex { $0.mount == "/" } ?? 0) + 1 }

    /// Bytes the layout needs at least: the fixed partitions, 1 MiB for a rest-of-disk partition,
    /// the 1 MiB head and 1 MiB tail of the GPT.
    public var minimumDiskBytes: Int {
        let mib = 1 << 20
        return mib * (2 + partitions.reduce(0) { $0 + ($1.sizeMiB ?? 1) })
    }

    /// Names unique and at most 36 UTF-16 units; one partition at `/`; mounts clean, absolute and
    /// unique, only on partitions with a file system; only the last partition without a size.
    public func validate() throws(StoreManifestError) {
        guard !partitions.isEmpty else { throw StoreManifestError("\"layout\" is empty: it needs at least a partition mounted at /") }
        guard partitions.count <= 128 else { throw StoreManifestError("\"layout\" has \(partitions.count) partitions; a GPT holds 128") }
        var names = Set<String>()
        var mounts = Set<String>()
        for (index, partition) in partitions.enumerated() {
            let label = "\"layout[\(index)]\" (\(partition.name))"
            guard !partition.name.isEmpty, partition.name.utf16.count <= 36,
                  partition.name.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }) else {
                throw StoreManifestError("\"layout[\(index)].name\" must be 1-36 printable characters (a GPT partition name)")
            }
            guard names.insert(partition.name).inserted else { throw StoreManifestError("\(label): the name is used twice") }
            guard !partition.type.isZero else { throw StoreManifestError("\(label): the zero type GUID marks an unused entry") }
            if let size = partition.sizeMiB {
                guard size >= 1 && size <= 1 << 30 else { throw StoreManifestError("\(label): size \(size) MiB is out of range") }
            } else if index != partitions.count - 1 {
                throw StoreManifestError("\(label): only the last partition may take the rest of the disk")
            }
            if let mount = partition.mount {
                guard partition.filesystem != .none else { throw StoreManifestError("\(label): mounted at \(mount) but has no file system") }
                guard Self.isCleanMount(mount) else {
                    throw StoreManifestError("\(label): mount \(mount) must be an absolute path without ., .. or repeated /")
                }
                guard mounts.insert(mount).inserted else { throw StoreManifestError("\(label): \(mount) is mounted twice") }
            }
            if partition.filesystem == .vfat, partition.mount == "/" {
                throw StoreManifestError("\(label): the root (/) must be ext4")
            }
        }
        guard mounts.contains("/") else { throw StoreManifestError("\"layout\" has no partition mounted at /") }
    }

    static func isCleanMount(_ path: String) -> Bool {
        guard path.hasPrefix("/") else { return false }
        if path == "/" { return true }
        guard !path.hasSuffix("/") else { return false }
        return path.dropFirst().split(separator: "/", omittingEmptySubsequences: false).allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." }
    }

    /// The GPT for a disk of `diskSize` bytes, every GUID from `guid` (index 0: the disk, n: partition n).
    public func gpt(diskSize: Int, guid: (Int) -> GUID) throws(GPTError) -> GPTLayout {
        let specs = partitions.enumerated().map { index, partition in
            GPTPartitionSpec(name: partition.name, type: partition.type, unique: guid(index + 1), size: partition.sizeMiB.map { $0 << 20 })
        }
        return try GPT.layout(diskSize: diskSize - diskSize % 512, diskGUID: guid(0), partitions: specs)
    }

    // MARK: Routing the tree

    /// Where a tree entry goes: the (0-based) partition index and the path inside that partition's
    /// file system, without a leading `/` (empty: the partition's own root directory).
    public struct Route: Equatable, Sendable {
        public var partition: Int
        public var path: String
    }

    /// The partition mounted deepest above `entry` (a tar member name: leading `./` and `/` ignored),
    /// and the path inside it; nil for a name with a `..` component or a NUL.
    public func route(_ entry: String) -> Route? {
        guard let clean = Self.cleanEntry(entry) else { return nil }
        var best: (index: Int, depth: Int, rest: String)?
        for (index, partition) in partitions.enumerated() {
            guard let mount = partition.mount else { continue }
            let prefix = String(mount.dropFirst())
            let rest: String
            if prefix.isEmpty {
                rest = clean
            } else if clean == prefix {
                rest = ""
            } else if clean.hasPrefix(prefix + "/") {
                rest = String(clean.dropFirst(prefix.count + 1))
            } else {
                continue
            }
            let depth = prefix.isEmpty ? 0 : prefix.split(separator: "/").count
            if best == nil || depth > best!.depth { best = (index, depth, rest) }
        }
        return best.map { Route(partition: $0.index, path: $0.rest) }
    }

    /// `a/b` for `./a//b/`, `/a/b`; "" for `.` and `./`; nil when a component is `..` or the name holds a NUL.
    static func cleanEntry(_ entry: String) -> String? {
        guard !entry.utf8.contains(0) else { return nil }
        var parts: [Substring] = []
        for part in entry.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." { return nil }
            parts.append(part)
        }
        return parts.joined(separator: "/")
    }

    /// The directories the root file system needs as mount points for the other partitions
    /// (relative, parents first).
    public var mountPointsInRoot: [String] {
        partitions.compactMap(\.mount).filter { $0 != "/" }.sorted().map { String($0.dropFirst()) }
    }

    // MARK: JSON

    public var json: JSONValue {
        .array(partitions.map { partition in
            var object: JSONObject = ["name": .string(partition.name), "type": .string(Self.typeName(partition.type))]
            if let size = partition.sizeMiB { object["sizeMiB"] = .number(Double(size)) }
            object["filesystem"] = .string(partition.filesystem.rawValue)
            if let mount = partition.mount { object["mount"] = .string(mount) }
            return .object(object)
        })
    }

    /// `esp`, `linux`, `bios`, `swap` or a GUID.
    public static func typeName(_ type: GUID) -> String {
        for (name, known) in knownTypes where known == type { return name }
        return type.description
    }

    public static func type(named text: String) -> GUID? {
        knownTypes.first { $0.0 == text.lowercased() }?.1 ?? GUID(text)
    }

    static let knownTypes: [(String, GUID)] = [
        ("esp", .efiSystem), ("linux", .linuxFilesystem),
        ("bios", GUID("21686148-6449-6E6F-744E-656564454649")!),
        ("swap", GUID("0657FD6D-A4AB-43C4-84E5-0933C84B4F4F")!),
    ]

    static func parse(_ value: JSONValue) throws(StoreManifestError) -> DiskLayout {
        guard let list = value.arrayValue else { throw StoreManifestError("\"layout\" is not a list") }
        var partitions: [Partition] = []
        for (index, item) in list.enumerated() {
            guard let object = item.objectValue else { throw StoreManifestError("\"layout[\(index)]\" is not an object") }
            let fields = ManifestFields(object: object)
            let typeText = try fields.optionalString("type") ?? "linux"
            guard let type = type(named: typeText) else {
                throw StoreManifestError("\"layout[\(index)].type\" \(typeText) is neither esp, linux, bios, swap nor a GUID")
            }
            let filesystem = try fields.optionalString("filesystem").map { (text: String) throws(StoreManifestError) -> Filesystem in
                guard let known = Filesystem(rawValue: text) else {
                    throw StoreManifestError("\"layout[\(index)].filesystem\" \(text) not understood (ext4, vfat or none)")
                }
                return known
            } ?? Filesystem.none
            partitions.append(Partition(name: try fields.string("name"), type: type, sizeMiB: try fields.optionalInt("sizeMiB"),
                                        filesystem: filesystem, mount: try fields.optionalString("mount")))
        }
        return try DiskLayout(partitions)
    }

    // MARK: The command line

    /// One `NAME:SIZE:FILESYSTEM[:MOUNT]` as `device add --part` takes it: SIZE is `64M`, `2G`,
    /// `512` (MiB) or `rest`; FILESYSTEM `ext4`, `vfat` or `none`. The type: EFI System for a
    /// partition named `esp` or a vfat one at `/boot/efi` or `/efi`, BIOS boot for one named
    /// `bios`, Linux swap for one named `swap` without a file system, Linux filesystem otherwise.
    public static func partition(spec: String) throws(StoreManifestError) -> Partition {
        let fields = spec.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard fields.count == 3 || fields.count == 4 else {
            throw StoreManifestError("--part \(spec): expected NAME:SIZE:FILESYSTEM[:MOUNT], e.g. root:rest:ext4:/ or esp:256M:vfat:/boot/efi")
        }
        let name = fields[0]
        let sizeText = fields[1].uppercased()
        var size: Int?
        if sizeText != "REST" {
            var digits = Substring(sizeText)
            var scale = 1
            if digits.hasSuffix("MIB") { digits = digits.dropLast(3) } else if digits.hasSuffix("GIB") { digits = digits.dropLast(3); scale = 1024 }
            else if digits.hasSuffix("M") { digits = digits.dropLast() } else if digits.hasSuffix("G") { digits = digits.dropLast(); scale = 1024 }
            guard let number = Int(digits), number > 0, number <= (1 << 30) / scale else {
                throw StoreManifestError("--part \(spec): size \(fields[1]) is not a number of MiB (64M, 2G) or rest")
            }
            size = number * scale
        }
        guard let filesystem = Filesystem(rawValue: fields[2]) else {
            throw StoreManifestError("--part \(spec): file system \(fields[2]) not understood (ext4, vfat or none)")
        }
        let mount = fields.count == 4 && !fields[3].isEmpty ? fields[3] : nil
        let type: GUID
        if name.lowercased() == "esp" || (filesystem == .vfat && (mount == "/boot/efi" || mount == "/efi")) {
            type = .efiSystem
        } else if name.lowercased() == "bios" {
            type = knownTypes[2].1
        } else if name.lowercased() == "swap" && filesystem == .none {
            type = knownTypes[3].1
        } else {
            type = .linuxFilesystem
        }
        return Partition(name: name, type: type, sizeMiB: size, filesystem: filesystem, mount: mount)
    }
}
