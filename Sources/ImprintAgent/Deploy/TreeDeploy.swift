import Glibc
import ImprintCore
import ImprintDigest

/// A `tar` image onto the assignment's layout (docs/deploy.md "Tar images"):
/// GPT -> mkfs -> mount -> extract through libarchive -> customize -> unmount.
///
/// On a machine each partition with a mounted file system is made with the initrd's `mke2fs` or
/// `mkfs.fat` and mounted at `/run/imprint/tree/p<N>`. Host mode mounts nothing: the tree is
/// extracted into a staging folder, one `p<N>` per partition, and each file system is then made
/// from it inside the disk file (`mke2fs -d` at the partition's offset; `mkfs.fat` and `mcopy`).
final class TreeDeploy {
    let context: AgentContext
    let disk: any DiskDevice
    let layout: DiskLayout
    let hostMode: Bool
    /// Seeds the GUIDs: the same assignment and image give the same disk and partition GUIDs.
    let seed: String
    private var log: Log { context.log }

    private(set) var table: GPTLayout?
    private(set) var base = "/run/imprint/tree"
    private var mounted: [String] = []
    private var staging: String?

    init(context: AgentContext, disk: any DiskDevice, layout: DiskLayout, hostMode: Bool, seed: String) {
        self.context = context
        self.disk = disk
        self.layout = layout
        self.hostMode = hostMode
        self.seed = seed
    }

    deinit { release() }

    /// Where partition `index`'s tree is written.
    func directory(_ index: Int) -> String { "\(base)/p\(index + 1)" }

    func device(_ index: Int) -> String { CustomizationPlan.partitionDevice(disk: disk.path, number: index + 1) }

    /// The tools this agent needs for the layout's file systems, or what is missing.
    static func missingTools(_ layout: DiskLayout, hostMode: Bool) -> String? {
        var missing: [String] = []
        let kinds = Set(layout.partitions.map(\.filesystem))
        if kinds.contains(.ext4), Tools.mke2fs == nil { missing.append("mke2fs (e2fsprogs)") }
        if kinds.contains(.vfat), Tools.mkfsFat == nil { missing.append("mkfs.fat (dosfstools)") }
        if hostMode, kinds.contains(.vfat), Tools.mcopy == nil { missing.append("mcopy (mtools)") }
        return missing.isEmpty ? nil : missing.joined(separator: ", ")
    }

    enum Tools {
        static var mke2fs: String? { Spawn.find(["/usr/sbin/mke2fs", "/sbin/mke2fs"]) }
        static var mkfsFat: String? { Spawn.find(["/usr/sbin/mkfs.fat", "/sbin/mkfs.fat"]) }
        static var mcopy: String? { Spawn.find(["/usr/bin/mcopy", "/bin/mcopy"]) }
    }

    /// Disk GUID (index 0) and partition GUIDs (index n), derived from the seed.
    func guid(_ index: Int) -> GUID {
        GUID.derived(from: SHA256.bytes(of: Array("imprint-layout \(seed) \(index)".utf8)))
    }

    // MARK: Before the stream

    /// Writes the GPT, clears each partition's first MiB (old file system signatures), has the
    /// kernel re-read the table, and (on a machine) makes and mounts the file systems.
    func prepare() throws(DeployFailure) {
        let table: GPTLayout
        do {
            table = try layout.gpt(diskSize: disk.size, guid: guid)
        } catch {
            throw DeployFailure(.preflight, "the layout does not fit \(disk.path): \(error)", hint: "give smaller partitions (--part)", retryable: false)
        }
        self.table = table
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        for partition in table.partitions {
            try write(Array(zeros.prefix(min(zeros.count, partition.size))), at: partition.offset)
        }
        try write(table.head, at: 0)
        try write(table.tail, at: table.tailOffset)
        if let warning = try disk.flush() {
            if disk.isBlockDevice {
                throw DeployFailure(.stream, warning, hint: "a partition of the disk is in use: reboot the machine and let it deploy again", retryable: false)
            }
            log.warning(warning)
        }
        log.info("layout: \(table.partitions.map { "\($0.number) \($0.name) \(humanSize($0.size))" }.joined(separator: ", ")) on \(disk.path)")

        if hostMode {
            var template = Array("\(tmpdir())/imprint-tree-XXXXXX".utf8CString)
            guard let made = mkdtemp(&template) else {
                throw DeployFailure(.stream, "cannot make a staging folder in \(tmpdir()): \(errorText(errno))", hint: "set TMPDIR to a folder with room for the tree", retryable: false)
            }
            base = String(cString: made)
            staging = base
            for (index, partition) in layout.partitions.enumerated() where partition.mount != nil {
                guard mkdir(directory(index), 0o755) == 0 else {
                    throw DeployFailure(.stream, "cannot make \(directory(index)): \(errorText(errno))", hint: "check TMPDIR", retryable: false)
                }
            }
            return
        }
        let customizer = Customizer(context: context, hostMode: false)
        for (index, partition) in layout.partitions.enumerated() where partition.filesystem != .none {
            try customizer.waitFor(device(index))
            try makeFilesystem(index, partition, on: device(index), offset: nil, size: nil, from: nil)
        }
        for type in Set(layout.partitions.filter { $0.mount != nil }.map(\.filesystem.rawValue)).sorted() {
            if let problem = Coldplug.loadFilesystem(type, context: context) { log.warning("layout: could not load \(type)'s modules: \(problem)") }
        }
        for (index, partition) in layout.partitions.enumerated() where partition.mount != nil {
            do {
                try context.machine.makeDirectory(directory(index))
                try context.machine.mount(MountSpec(source: device(index), target: directory(index), type: partition.filesystem.rawValue, flags: 0))
            } catch {
                throw DeployFailure(.stream, "cannot mount \(device(index)) (\(partition.name)) as \(partition.filesystem.rawValue): \(error.reason)",
                                    hint: "the profile needs the \(partition.filesystem.rawValue) module (recipe drivers.modules)", retryable: false)
            }
            mounted.append(directory(index))
        }
    }

    // MARK: After the stream

    /// The root partition's folder, with a mount point for every other mounted partition.
    func rootDirectory() throws(DeployFailure) -> String {
        let root = directory(layout.rootNumber - 1)
        let fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw DeployFailure(.customize, "open \(root): \(errorText(errno))", hint: "check the console", retryable: false) }
        defer { close(fd) }
        for mountPoint in layout.mountPointsInRoot {
            do { try TargetFiles.makeDirectories(mountPoint, under: fd) } catch {
                throw DeployFailure(.customize, "cannot make the mount point /\(mountPoint) in the root: \(error.description)",
                                    hint: "the tree has a symlink or a file where the layout mounts a partition", retryable: false)
            }
        }
        return root
    }

    /// The root partition as the GPT has it (for kexec).
    var rootPartition: (device: String, partition: GPTPartition)? {
        guard let table else { return nil }
        let index = layout.rootNumber - 1
        return (device(index), table.partitions[index])
    }

    /// Host mode: makes each file system inside the disk file from its staged tree. On a machine:
    /// syncs and unmounts.
    func finish() throws(DeployFailure) {
        guard hostMode else {
            context.machine.sync()
            release()
            return
        }
        guard let table else { return }
        for (index, partition) in layout.partitions.enumerated() where partition.filesystem != .none {
            let slot = table.partitions[index]
            try makeFilesystem(index, partition, on: disk.path, offset: slot.offset, size: slot.size, from: partition.mount == nil ? nil : directory(index))
        }
        release()
    }

    /// Unmounts what is mounted, removes the staging folder; safe to call twice.
    func release() {
        for path in mounted.reversed() where umount2(path, 0) != 0 {
            log.warning("layout: unmount \(path): \(errorText(errno))")
        }
        mounted.removeAll()
        if let staging {
            _ = try? Spawn.run("/bin/rm", ["-rf", "--one-file-system", staging])
            self.staging = nil
        }
    }

    // MARK: mkfs

    private func makeFilesystem(_ index: Int, _ partition: DiskLayout.Partition, on target: String, offset: Int?, size: Int?, from tree: String?) throws(DeployFailure) {
        let uuid = guid(100 + index)
        let program: String?
        var arguments: [String]
        switch partition.filesystem {
        case .none:
            return
        case .ext4:
            program = Tools.mke2fs
            arguments = ["-t", "ext4", "-F", "-q", "-L", String(partition.name.utf8.prefix(16)) ?? partition.name, "-U", uuid.description.lowercased()]
            if let offset { arguments += ["-E", "offset=\(offset)"] }
            if let tree { arguments += ["-d", tree] }
            arguments.append(target)
            if let size { arguments.append("\(size / 1024)k") }
        case .vfat:
            program = Tools.mkfsFat
            arguments = ["-n", Self.fatLabel(partition.name), "-i", hexString(Array(uuid.bytes.prefix(4))).uppercased()]
            if let offset { arguments += ["--offset", "\(offset / 512)"] }
            arguments.append(target)
            if let size { arguments.append("\(size / 1024)") }
        }
        guard let program else {
            throw DeployFailure(.stream, "no \(partition.filesystem == .ext4 ? "mke2fs" : "mkfs.fat") in this agent image", hint: "rebuild the profile with this imprint (imprint build)", retryable: false)
        }
        try run(program, arguments, what: "mkfs \(partition.filesystem.rawValue) on \(partition.name)")
        if partition.filesystem == .vfat, let tree, let offset {
            // mtools copies the staged ESP into the FAT image at its offset (host mode only).
            let entries = Self.list(tree)
            guard !entries.isEmpty else { return }
            guard let mcopy = Tools.mcopy else { throw DeployFailure(.stream, "no mcopy (mtools) on this host", hint: "install mtools (scripts/bootstrap does)", retryable: false) }
            try run(mcopy, ["-s", "-p", "-m", "-Q", "-D", "o", "-i", "\(target)@@\(offset)"] + entries.map { "\(tree)/\($0)" } + ["::/"],
                    what: "copy the tree into \(partition.name)", environment: ["MTOOLS_SKIP_CHECK=1", "TZ=UTC"])
        }
        log.info("layout: \(partition.filesystem.rawValue) on \(partition.name) (\(hostMode ? "\(target) at byte \(offset ?? 0)" : target))")
    }

    private func run(_ program: String, _ arguments: [String], what: String, environment: [String] = []) throws(DeployFailure) {
        let result: SpawnResult
        do {
            result = try Spawn.run(program, arguments, environment: environment)
        } catch {
            throw DeployFailure(.stream, "\(what): \(error)", hint: "check the console", retryable: false)
        }
        guard result.succeeded else {
            for line in result.output.split(whereSeparator: \.isNewline).suffix(10) { log.warning("\(program): \(line)") }
            throw DeployFailure(.stream, "\(what) failed (\(program) \(result.summary))",
                                hint: result.output.contains("No space") ? "the partition is too small for its tree: give it more room (--part)" : "check the console", retryable: false)
        }
    }

    private func write(_ bytes: [UInt8], at offset: Int) throws(DeployFailure) {
        var failure: DeployFailure?
        bytes.withUnsafeBytes { raw in
            do throws(DeployFailure) { try disk.write(raw, at: offset) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// A FAT volume label: upper case, at most 11 characters, `_` for what FAT does not allow.
    static func fatLabel(_ name: String) -> String {
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
        return String(name.uppercased().map { allowed.contains($0) ? $0 : "_" }.prefix(11))
    }

    /// A folder's entries, sorted, without `.` and `..`.
    static func list(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    private func tmpdir() -> String {
        getenv("TMPDIR").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
    }
}
