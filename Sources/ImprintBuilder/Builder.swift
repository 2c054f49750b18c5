import Foundation
import ImprintCore

/// Builds a profile's base agent image into `store/boot/<profile>/`: vmlinuz, initrd.img, build.json.
public struct Builder {
    public var recipe: Recipe
    public var store: String
    /// The `imprint-agent` binary to put into the initrd (unstripped is fine: it is stripped here).
    public var agent: String
    /// Files copied into every initrd (`overlay/`), if present.
    public var overlay: String?
    /// The store's manifest public key (raw Ed25519, base64): `etc/imprint/manifest.pub` in the
    /// initrd, the key a booted agent trusts (DESIGN section 8).
    public var manifestKey: String?
    public var cache: Cache
    public var log: (String) -> Void
    /// zstd level of the initrd. Measured on the qemu-virtio initrd (33 MB): level 3 gives 13.0 MB in 0.2 s,
    /// 12 gives 11.9 MB in 1.4 s, 19 gives 10.4 MB in 15 s; 12 keeps a warm build within seconds.
    public var zstdLevel = 12
    /// What the initrd carries beside the agent for it to run: the mkfs tools of a `tar` deploy.
    var tools = InitrdTool.all

    public init(recipe: Recipe, store: String, agent: String, overlay: String?, cache: Cache = Cache(), log: @escaping (String) -> Void) {
        self.recipe = recipe
        self.store = store
        self.agent = agent
        self.overlay = overlay
        self.cache = cache
        self.log = log
    }

    @discardableResult
    public func build() throws -> BuildReport {
        let started = Date()
        let fm = FileManager.default

        // Everything that can fail on bad input fails before the store is touched.
        // Before the kernel download: a missing host package is the cheapest failure to report.
        let tools = try InitrdTool.locate(self.tools)
        let kernel: KernelTree
        switch recipe.kernel {
        case let .debian(package):
            kernel = try DebianKernel(package: package, cache: cache, log: log).fetch()
        case let .path(path, modules):
            kernel = try KernelTree.local(path: path, modules: modules)
        }
        log("kernel \(kernel.release) (\(kernel.source))")
        // One scan of a module tree at a time; the next build finds the index the first one wrote.
        let indexLock = try cache.lock("modindex/scan")
        let tree: ModuleTree
        do {
            defer { indexLock.unlock() }
            tree = try ModuleTree(dir: kernel.modulesDir, cacheFile: cache.moduleIndexFile(for: kernel.modulesDir))
        }
        let devices = recipe.devices
        var names = PCIDatabase()
        if !devices.isEmpty {
            if let system = PCIDatabase.system() { names = system } else {
                log("warning: no pci.ids (\(PCIDatabase.systemPaths.joined(separator: ", "))): messages give PCI IDs without names; install Debian's pci.ids package")
            }
        }
        let drivers = try tree.select(recipe.modules, devices: devices, names: names, recipe: recipe.sourcePath, kernel: kernel.release)
        log("drivers: \(drivers.modules.count) modules (\(recipe.modules.count) named, \(devices.count) PCI IDs)")
        for match in drivers.devices { log("  \(match.device.id) -> \(match.modules.joined(separator: ", "))") }
        let firmware = try FirmwareSelection.gather(drivers: drivers, recipe: recipe, cache: cache, log: log)
        if !firmware.files.isEmpty || !recipe.firmware.isEmpty {
            log("firmware: \(firmware.files.count) files, \(firmware.totalSize) bytes")
        }
        for warning in firmware.warnings { log("warning: firmware: \(warning)") }

        let work = try makeTemporaryDirectory()
        defer { try? fm.removeItem(atPath: work) }
        let strippedAgent = "\(work)/imprint-agent"
        try strip(agent, to: strippedAgent)
        let agentClosure = try ELFClosure.resolve(binary: strippedAgent)
        log("agent: \(try FileManagerSize.size(of: strippedAgent)) bytes stripped, \(agentClosure.libraries.count) shared libraries")
        let programs = try tools.filter(\.tool.isProgram).map { ($0.source, try ELFClosure.resolve(binary: $0.source)) }
        let closure = try agentClosure.merging(programs)
        log("tools: \(tools.map(\.tool.destination).joined(separator: " ")), \(closure.libraries.count - agentClosure.libraries.count) more shared libraries")

        let entries = try initrdEntries(kernel: kernel, drivers: drivers, firmware: firmware, closure: closure, agent: strippedAgent, tools: tools)

        // Stage inside the store's boot/ folder so the final rename is atomic and never crosses filesystems.
        let bootDir = "\(store)/boot"
        let storeExisted = fm.fileExists(atPath: store)
        try fm.createDirectory(atPath: bootDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        let staging = "\(bootDir)/.\(recipe.profile).partial"
        try? fm.removeItem(atPath: staging)
        var published = false
        defer {
            if !published {
                try? fm.removeItem(atPath: staging)
                if !storeExisted { try? fm.removeItem(atPath: store) }
            }
        }
        try fm.createDirectory(atPath: staging, withIntermediateDirectories: true)

        let initrd = "\(staging)/initrd.img"
        let written = try CpioArchiveWriter.write(entries, to: initrd, zstdLevel: zstdLevel) { source in
            guard let data = fm.contents(atPath: source) else { throw KernelError(message: "cannot read \(source)") }
            return [UInt8](data)
        }
        // Concatenated initrds must each start on a 4-byte boundary; the kernel skips zero padding.
        let compressed = try padTo4(initrd)
        try fm.copyItem(atPath: kernel.vmlinuz, toPath: "\(staging)/vmlinuz")

        let report = BuildReport(
            profile: recipe.profile, imprintVersion: imprintVersion, recipe: recipe.sourcePath, cmdline: recipe.cmdline,
            kernel: .init(release: kernel.release, source: kernel.source, vmlinuzSize: try FileManagerSize.size(of: kernel.vmlinuz)),
            modules: drivers.modules.map { .init(name: $0.name, path: $0.path, reason: $0.reason, size: $0.size) },
            libraries: closure.libraries.map { .init(name: $0.name, source: $0.source, size: $0.size) },
            tools: tools.map { .init(name: $0.tool.name, path: $0.tool.destination, source: $0.source, package: $0.tool.package, size: $0.size) },
            agent: agent,
            sizes: .init(initrdCompressed: compressed, initrdUncompressed: written.uncompressedSize,
                         agent: try FileManagerSize.size(of: strippedAgent),
                         libraries: closure.libraries.reduce(0) { $0 + $1.size },
                         modules: drivers.modules.reduce(0) { $0 + $1.size },
                         tools: tools.reduce(0) { $0 + $1.size },
                         firmware: firmware.totalSize),
            buildSeconds: (Date().timeIntervalSince(started) * 1000).rounded() / 1000,
            agentServer: recipe.agentServer,
            devices: drivers.devices.map { .init(id: $0.device.id.description, from: $0.device.origin.description, name: $0.name, modules: $0.modules) },
            firmwarePackages: firmware.packages.map { .init(name: $0.name, version: $0.version) },
            firmware: firmware.files.map { .init(path: $0.initrdPath, package: $0.package, version: $0.version, modules: $0.modules, size: $0.size) },
            warnings: firmware.warnings)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try (encoder.encode(report) + Data("\n".utf8)).write(to: URL(fileURLWithPath: "\(staging)/build.json"))

        // World-readable, whatever the umask: other servers may serve the same store.
        for name in ["vmlinuz", "initrd.img", "build.json"] {
            try fm.setAttributes([.posixPermissions: 0o644], ofItemAtPath: "\(staging)/\(name)")
        }
        try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: staging)
        try publish(staging, as: "\(bootDir)/\(recipe.profile)")
        published = true
        try installChainLoaders(into: "\(bootDir)/ipxe")
        // Unknown machines PXE-booting this store get discovery (or their own script once they are added).
        _ = try Store(unchecked: store).writeDiscoveryScript()
        for dir in [store, bootDir] { try? fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir) }
        log("wrote \(bootDir)/\(recipe.profile): initrd \(compressed) bytes (\(written.uncompressedSize) uncompressed)")
        return report
    }

    /// Debian's iPXE chain-loaders for legacy PXE and UEFI firmware (DESIGN section 4), copied from the
    /// `ipxe` package when it is installed; a missing one is a warning, since QEMU's own iPXE ROM needs none.
    public static let chainLoaderSource = "/usr/lib/ipxe"

    private func installChainLoaders(into dir: String) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        for name in ["undionly.kpxe", "ipxe.efi"] {
            let source = "\(Self.chainLoaderSource)/\(name)"
            guard let data = fm.contents(atPath: source) else {
                log("warning: \(source) not found: install Debian's ipxe package for PXE chain-loading real machines")
                continue
            }
            let target = "\(dir)/\(name)"
            if fm.contents(atPath: target) == data { continue }
            let temporary = "\(dir)/.\(name).partial"
            try data.write(to: URL(fileURLWithPath: temporary))
            try fm.setAttributes([.posixPermissions: 0o644], ofItemAtPath: temporary)
            guard rename(temporary, target) == 0 else {
                throw KernelError(message: "cannot write \(target): \(String(cString: strerror(errno)))")
            }
        }
    }

    /// Replaces `target` with `staging`, leaving either the old or the new image, never a mix.
    private func publish(_ staging: String, as target: String) throws {
        let fm = FileManager.default
        let old = target + ".old"
        try? fm.removeItem(atPath: old)
        if fm.fileExists(atPath: target) { try fm.moveItem(atPath: target, toPath: old) }
        try fm.moveItem(atPath: staging, toPath: target)
        try? fm.removeItem(atPath: old)
    }

    private func makeTemporaryDirectory() throws -> String {
        var template = Array((NSTemporaryDirectory() + "/imprint-build-XXXXXX").utf8CString)
        guard let dir = mkdtemp(&template) else { throw KernelError(message: "cannot create a temporary directory") }
        return String(cString: dir)
    }

    private func strip(_ binary: String, to output: String) throws {
        guard FileManager.default.isReadableFile(atPath: binary) else {
            throw KernelError(message: "imprint-agent not found at \(binary): run `swift build -c release`")
        }
        let out = try run("strip", ["--strip-all", "-o", output, binary], hint: "strip comes with binutils: run scripts/bootstrap")
        guard out.status == 0 else { throw KernelError(message: "strip \(binary) failed: \(out.lastErrorLine)") }
    }

    /// Zero-pads a file to a multiple of 4 bytes; returns the new size.
    private func padTo4(_ path: String) throws -> Int {
        let size = try FileManagerSize.size(of: path)
        let padding = (4 - size % 4) % 4
        if padding > 0, let handle = FileHandle(forWritingAtPath: path) {
            defer { try? handle.close() }
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(count: padding))
        }
        return size + padding
    }
}
