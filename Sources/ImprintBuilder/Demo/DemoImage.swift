import Foundation
import ImprintCore
import ImprintDigest

/// Builds the demo disk image (docs/demo-image.md): a GPT disk with an ESP holding a unified kernel
/// image as `EFI/BOOT/BOOTX64.EFI` and an ext4 root whose init prints `hello from <hostname>` and the
/// customization it finds, then powers off. Everything comes from Debian packages in the cache; no
/// loop mounts, no root privileges needed beyond writing files. As ``Format/tar``, the same root tree
/// and the UKI under `boot/efi/` as a tar, for an agent that lays out the partitions itself.
public struct DemoImage {
    /// What `build()` writes.
    public enum Format: String, CaseIterable, Sendable {
        /// A GPT disk: ESP and ext4 root.
        case raw
        /// An uncompressed tar of the root tree with the UKI under `boot/efi/` (the ESP's mount point),
        /// for an agent that makes the partitions and file systems itself.
        case tar
    }

    /// The kernel comes from the recipe (the same Debian kernel the profile's agent runs).
    public var recipe: Recipe
    public var output: String
    public var format: Format
    public var cache: Cache
    public var log: (String) -> Void

    /// The modules the root disk needs, named; their dependencies and soft dependencies come from the resolver.
    public static let rootModules = ["virtio_pci", "virtio_blk", "ext4"]
    /// The UKI's kernel command line: the last `console=` becomes `/dev/console`.
    public static let cmdline = "console=tty0 console=ttyS0 quiet panic=-1"
    public static let hostname = "imprint-demo"
    /// Every timestamp in the image: 2024-01-01T00:00:00Z.
    public static let epoch = 1_704_067_200
    /// Changes whenever the same inputs should give different bytes.
    static let formatVersion = "imprint-demo-2"

    public init(recipe: Recipe, output: String, format: Format = .raw, cache: Cache = Cache(), log: @escaping (String) -> Void) {
        self.recipe = recipe
        self.output = output
        self.format = format
        self.cache = cache
        self.log = log
    }

    public struct Report: Sendable {
        public var path: String
        public var format: Format
        /// The bytes written to `path`.
        public var size: Int
        /// Entries in the tar; nil for a raw disk.
        public var entries: Int?
        /// The raw disk's sizes; 0 for a tar.
        public var diskSize: Int
        public var espSize: Int
        public var rootSize: Int
        public var ukiSize: Int
        public var initrdSize: Int
        public var kernelRelease: String
        public var modules: [String]
        public var seconds: Double
    }

    @discardableResult
    public func build() throws -> Report {
        let started = Date()
        let missing = DemoTool.missing(for: format)
        guard missing.isEmpty else {
            let packages = Set(missing.map(\.package)).sorted().joined(separator: " ")
            throw DemoError("missing tools: \(missing.map(\.rawValue).joined(separator: ", ")); install Debian's \(packages) (scripts/bootstrap does)")
        }
        let folder = (output as NSString).deletingLastPathComponent
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.isEmpty ? "." : folder, isDirectory: &isDirectory), isDirectory.boolValue,
              FileManager.default.isWritableFile(atPath: folder.isEmpty ? "." : folder) else {
            throw DemoError("cannot write \(output): \(folder.isEmpty ? "." : folder) is not a writable folder")
        }
        let inputs = try fetchInputs()

        let fm = FileManager.default
        let work = try Self.temporaryDirectory()
        defer { try? fm.removeItem(atPath: work) }

        let initrd = try buildInitrd(inputs, into: work)
        log("initrd: \(initrd.modules.count) modules (\(initrd.modules.joined(separator: " "))), \(initrd.size) bytes")
        let uki = try buildUKI(inputs, initrd: initrd.path, into: work)
        let ukiSize = try FileManagerSize.size(of: uki)
        log("uki: \(ukiSize) bytes (systemd-boot stub \(inputs.stub.version), kernel \(inputs.kernel.release))")
        if format == .tar {
            let tar = try writeTar(inputs, initrd: initrd.path, uki: uki, into: work)
            log("tar: \(output), \(tar.entries) entries, \(tar.size) bytes (the root tree, \(Self.espMountPoint)/EFI/BOOT/BOOTX64.EFI)")
            return Report(path: output, format: format, size: tar.size, entries: tar.entries, diskSize: 0, espSize: 0, rootSize: 0,
                          ukiSize: ukiSize, initrdSize: initrd.size, kernelRelease: inputs.kernel.release, modules: initrd.modules,
                          seconds: (Date().timeIntervalSince(started) * 1000).rounded() / 1000)
        }
        let ids = try DemoIDs(seed: "\(Self.formatVersion) kernel=\(inputs.kernel.source) busybox=\(inputs.busybox.version) stub=\(inputs.stub.version)")
        let esp = try buildESP(uki: uki, ids: ids, into: work)
        log("esp: FAT, \(esp.size >> 20) MiB, EFI/BOOT/BOOTX64.EFI")
        let root = try buildRoot(inputs, initrd: initrd.path, ids: ids, into: work)
        log("root: ext4, \(root.size >> 20) MiB, busybox \(inputs.busybox.version), hostname \(Self.hostname), /boot/vmlinuz and /boot/initrd.img")
        let layout = try assemble(esp: esp, root: root, ids: ids)
        log("disk: \(output), \(layout.diskSize >> 20) MiB GPT (esp at \(layout.partitions[0].offset >> 20) MiB, root at \(layout.partitions[1].offset >> 20) MiB)")

        return Report(path: output, format: format, size: layout.diskSize, entries: nil,
                      diskSize: layout.diskSize, espSize: esp.size, rootSize: root.size, ukiSize: ukiSize, initrdSize: initrd.size, kernelRelease: inputs.kernel.release, modules: initrd.modules,
                      seconds: (Date().timeIntervalSince(started) * 1000).rounded() / 1000)
    }

    struct Inputs {
        var kernel: KernelTree
        var tree: ModuleTree
        var busybox: DebianPackage.Unpacked
        var stub: DebianPackage.Unpacked
    }

    /// The kernel (as `imprint build` resolves it), its module index, busybox and the stub.
    func fetchInputs() throws -> Inputs {
        let kernel: KernelTree
        switch recipe.kernel {
        case let .debian(package): kernel = try DebianKernel(package: package, cache: cache, log: log).fetch()
        case let .path(path, modules): kernel = try KernelTree.local(path: path, modules: modules)
        }
        log("kernel \(kernel.release) (\(kernel.source))")
        let indexLock = try cache.lock("modindex/scan")
        let tree: ModuleTree
        do {
            defer { indexLock.unlock() }
            tree = try ModuleTree(dir: kernel.modulesDir, cacheFile: cache.moduleIndexFile(for: kernel.modulesDir))
        }
        let busybox = try DebianPackage(name: "busybox-static", cache: cache, log: log).fetch { $0 == "bin/busybox" }
        log("busybox \(busybox.version) (busybox-static)")
        let stub = try DebianPackage(name: "systemd-boot-efi", cache: cache, log: log).fetch { $0.hasSuffix("/linuxx64.efi.stub") }
        log("stub \(stub.version) (systemd-boot-efi)")
        return Inputs(kernel: kernel, tree: tree, busybox: busybox, stub: stub)
    }

    /// Host tools see fixed time and zone, so the same inputs give the same bytes.
    static var toolEnvironment: [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["SOURCE_DATE_EPOCH"] = "\(epoch)"
        // e2fsprogs 1.47.0 ignores SOURCE_DATE_EPOCH; this is its own knob.
        env["E2FSPROGS_FAKE_TIME"] = "\(epoch)"
        // mtools writes FAT dates in local time.
        env["TZ"] = "UTC"
        env["MTOOLS_SKIP_CHECK"] = "1"
        return env
    }

    static func temporaryDirectory() throws -> String {
        var template = Array((NSTemporaryDirectory() + "/imprint-demo-XXXXXX").utf8CString)
        guard let dir = mkdtemp(&template) else { throw DemoError("cannot create a temporary directory") }
        return String(cString: dir)
    }
}

/// GUIDs, the ext4 UUID and hash seed and the FAT serial, each derived from the build's inputs:
/// the same inputs give the same disk, different inputs a different one.
struct DemoIDs {
    var disk: GUID
    var espPartition: GUID
    var rootPartition: GUID
    var ext4UUID: String
    var ext4HashSeed: String
    /// Eight hex digits, as `mformat -N` takes it.
    var fatSerial: String

    init(seed: String) throws {
        func guid(_ label: String) throws -> GUID {
            guard let hasher = SHA256() else { throw DemoError("OpenSSL cannot start a SHA-256 digest") }
            hasher.update(Array("\(seed)|\(label)".utf8))
            return GUID.derived(from: hasher.finishBytes())
        }
        disk = try guid("disk")
        espPartition = try guid("esp-partition")
        rootPartition = try guid("root-partition")
        ext4UUID = try guid("ext4-uuid").description.lowercased()
        ext4HashSeed = try guid("ext4-hash-seed").description.lowercased()
        fatSerial = String(try guid("fat-serial").description.prefix(8))
    }
}
