import Glibc
import ImprintCore

/// Writes the ``CustomizationPlan`` into the deployed system: finds the partition in the
/// disk's GPT, mounts it (ext4) and writes each file. Host mode mounts nothing: with a
/// partition to customize it says so and skips, as DESIGN section 6 allows.
struct Customizer {
    let context: AgentContext
    let hostMode: Bool
    /// Where the partition is mounted on the machine.
    var mountPoint = "/run/imprint/target"

    private var log: Log { context.log }

    /// Writes the plan into the deployed root partition. Returns that partition (kexec boots from it),
    /// nil when the image has none; reads the disk's GPT once for both.
    @discardableResult
    func customize(_ assignment: DeviceAssignment, disk: any DiskDevice) throws(DeployFailure) -> (device: String, partition: GPTPartition)? {
        let plan = CustomizationPlan.make(assignment)
        let nothing = "customize: nothing to write (no hostname, files or cloud-init seed in the assignment)"
        let table: GPTTable
        do {
            table = try GPT.parse(disk: disk.readExactly, diskSize: disk.size)
        } catch {
            if plan.isEmpty { log.info(nothing) } else {
                log.warning("customize: skipped — the image has no partition table to find a partition in (\(error)); \(plan.items.count - 1) item(s) not written")
            }
            return nil
        }
        let partition: GPTPartition
        switch CustomizationPlan.partition(in: table, number: assignment.partition) {
        case .success(let found): partition = found
        case .failure(let failure):
            if plan.isEmpty { log.info(nothing) } else { log.warning("customize: skipped — \(failure.what)") }
            return nil
        }
        let device = CustomizationPlan.partitionDevice(disk: disk.path, number: partition.number)
        guard !plan.isEmpty else {
            log.info(nothing)
            return (device, partition)
        }
        guard !hostMode else {
            log.warning("customize: skipped in host mode — partition \(partition.number) (\(partition.name)) would get: \(plan.items.map(\.note).joined(separator: ", ")); host mode mounts nothing")
            return (device, partition)
        }
        try waitFor(device)
        if let problem = Coldplug.loadFilesystem("ext4", context: context) {
            log.warning("customize: could not load ext4's modules: \(problem)")
        }
        do {
            try context.machine.makeDirectory(mountPoint)
            try context.machine.mount(MountSpec(source: device, target: mountPoint, type: "ext4", flags: 0))
        } catch {
            throw DeployFailure(.customize, "cannot mount \(device) (partition \(partition.number) \(partition.name)) as ext4: \(error.reason)",
                                hint: "customization needs an ext4 partition and the ext4 module in the profile; name another partition in the assignment", retryable: false)
        }
        defer {
            Glibc.sync()
            if umount2(mountPoint, 0) != 0 { log.warning("customize: unmount \(mountPoint): \(errorText(errno))") }
        }
        try write(plan, into: mountPoint, device: device, partition: partition)
        return (device, partition)
    }

    /// Writes the plan's files under `directory` (the deployed root, mounted or staged).
    func write(_ plan: CustomizationPlan, into directory: String, device: String, partition: GPTPartition) throws(DeployFailure) {
        let root = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard root >= 0 else { throw DeployFailure(.customize, "open \(directory): \(errorText(errno))", hint: "check the console", retryable: false) }
        defer { close(root) }
        for item in plan.items {
            do {
                try TargetFiles.write(item.content, to: item.path, mode: item.mode, under: root)
            } catch {
                throw DeployFailure(.customize, "cannot write \(item.path) on \(device): \(error.description)",
                                    hint: "paths must go through real directories, not symlinks (write /usr/lib/..., not /lib/...)", retryable: false)
            }
            log.info("customize: \(item.note)")
        }
        log.info("customize: \(plan.items.count) file(s) written to \(device) (partition \(partition.number) \(partition.name))")
    }

    /// The partition's device node appears once the kernel has re-read the table: up to 10 s.
    func waitFor(_ device: String) throws(DeployFailure) {
        let start = context.clock.milliseconds()
        while access(device, F_OK) != 0 {
            if context.clock.milliseconds() &- start > 10_000 {
                throw DeployFailure(.customize, "\(device) did not appear after the partition table was re-read",
                                    hint: "the kernel kept the old table: check the console for BLKRRPART warnings", retryable: false)
            }
            context.clock.sleep(milliseconds: 100)
        }
    }
}

/// Writes files under a directory descriptor, never following a symlink: each directory is
/// opened with `O_NOFOLLOW` (made 0755 when missing) and the file with `O_NOFOLLOW`, so a
/// deployed system's symlink cannot send a write outside it.
public enum TargetFiles {
    /// Creates `path` (relative or absolute, under `root`) and its parents, 0755, never through a symlink.
    public static func makeDirectories(_ path: String, under root: Int32) throws(SystemError) {
        let components = path.split(separator: "/").map(String.init)
        guard !components.contains(".."), !components.contains(".") else { throw SystemError("create \(path): not a clean path", code: EINVAL) }
        close(try openDirectories(components[...], of: path, under: root))
    }

    /// The directory `components` name under `root`, each made 0755 when missing and opened with
    /// `O_NOFOLLOW`; the caller closes the descriptor.
    static func openDirectories(_ components: ArraySlice<String>, of path: String, under root: Int32) throws(SystemError) -> Int32 {
        var directory = dup(root)
        guard directory >= 0 else { throw SystemError("dup", code: errno) }
        for component in components {
            var next = openat(directory, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if next < 0 && errno == ENOENT {
                if mkdirat(directory, component, 0o755) != 0 && errno != EEXIST {
                    let code = errno
                    close(directory)
                    throw SystemError("create directory \(component) of \(path)", code: code)
                }
                next = openat(directory, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            }
            let code = errno
            close(directory)
            guard next >= 0 else { throw SystemError("open directory \(component) of \(path)", code: code) }
            directory = next
        }
        return directory
    }

    public static func write(_ content: [UInt8], to path: String, mode: UInt32, under root: Int32) throws(SystemError) {
        let components = path.split(separator: "/").map(String.init)
        guard let name = components.last, !components.contains(".."), !components.contains(".") else {
            throw SystemError("write \(path): not a clean absolute path", code: EINVAL)
        }
        let directory = try openDirectories(components.dropLast(), of: path, under: root)
        defer { close(directory) }
        let fd = openat(directory, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode_t(mode & 0o7777))
        guard fd >= 0 else { throw SystemError("open \(path)", code: errno) }
        defer { close(fd) }
        var done = 0
        while done < content.count {
            let written = content.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, content.count - done) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { throw SystemError("write \(path)", code: errno) }
            done += written
        }
        guard fchmod(fd, mode_t(mode & 0o7777)) == 0 else { throw SystemError("chmod \(path)", code: errno) }
        guard fsync(fd) == 0 else { throw SystemError("fsync \(path)", code: errno) }
    }
}
