import Foundation
import Testing
import CArchive
import ImprintCore
@testable import ImprintBuilder

/// Builds the real qemu-virtio profile (Debian kernel through apt, cached) and checks what lands in the store.
@Suite(.serialized) struct BuilderTests {
    static func recipe() throws -> Recipe {
        try Recipe.load(path: "\(TestPaths.packageRoot)/recipes/qemu-virtio.yaml")
    }

    static func build(into store: String, recipe: Recipe? = nil) throws -> BuildReport {
        let builder = Builder(recipe: try recipe ?? Self.recipe(), store: store, agent: try TestPaths.agent,
                              overlay: "\(TestPaths.packageRoot)/overlay", log: { _ in })
        return try builder.build()
    }

    @Test func sameInputsGiveTheSameBytes() throws {
        let work = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        _ = try Self.build(into: "\(work)/a")
        _ = try Self.build(into: "\(work)/b")
        let a = FileManager.default.contents(atPath: "\(work)/a/boot/qemu-virtio/initrd.img")
        let b = FileManager.default.contents(atPath: "\(work)/b/boot/qemu-virtio/initrd.img")
        #expect(a != nil && a == b)
        #expect((a?.count ?? 1) % 4 == 0, "initrd not padded to 4 bytes")
    }

    @Test func storeLayoutAndInitrdContents() throws {
        let work = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let report = try Self.build(into: "\(work)/store")
        let dir = "\(work)/store/boot/qemu-virtio"
        let fm = FileManager.default
        for name in ["vmlinuz", "initrd.img", "build.json"] {
            let mode = (try fm.attributesOfItem(atPath: "\(dir)/\(name)")[.posixPermissions] as? NSNumber)?.intValue
            #expect(mode == 0o644, "\(name) mode \(String(mode ?? 0, radix: 8))")
        }
        #expect(try fm.contentsOfDirectory(atPath: "\(work)/store/boot").sorted() == ["ipxe", "qemu-virtio"], "staging left behind")
        // Debian's chain-loaders, byte for byte (scripts/bootstrap installs the ipxe package).
        for name in ["undionly.kpxe", "ipxe.efi"] {
            let copy = fm.contents(atPath: "\(work)/store/boot/ipxe/\(name)")
            #expect(copy != nil && copy == fm.contents(atPath: "/usr/lib/ipxe/\(name)"), "boot/ipxe/\(name)")
        }

        // build.json says why each module is in.
        let reasons = Dictionary(uniqueKeysWithValues: report.modules.map { ($0.name, $0.reason) })
        #expect(reasons["virtio_net"] == "named in the recipe")
        #expect(reasons["net_failover"] == "needed by virtio_net")
        #expect(reasons["failover"] == "needed by net_failover")
        #expect(reasons["virtio_pci_modern_dev"] == "needed by virtio_pci")
        #expect(reasons["crc32c_generic"] == "soft dependency of ext4", "ext4's softdep pre: crypto-crc32c resolves through aliases")
        #expect(reasons["jbd2"] == "needed by ext4")
        #expect(report.kernel.release.hasSuffix("-amd64"))
        #expect(report.kernel.source.hasPrefix("debian:linux-image-6.1.0-"))
        #expect(report.libraries.contains { $0.name == "libcurl.so.4" })
        #expect(report.sizes.initrdCompressed == (try FileManagerSize.size(of: "\(dir)/initrd.img")))
        #expect(report.sizes.initrdUncompressed > report.sizes.initrdCompressed)
        let decoded = try JSONDecoder().decode(BuildReport.self, from: try Data(contentsOf: URL(fileURLWithPath: "\(dir)/build.json")))
        #expect(decoded.modules == report.modules)

        // The initrd, read back through libarchive.
        // libarchive's zstd reader takes the kernel's 0-3 bytes of zero padding for a broken next frame:
        // read the frame alone, trying each possible padding length.
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(dir)/initrd.img")))
        var entries: [String: ArchiveReader.Entry] = [:]
        var order: [String] = []
        var modulesDep = ""
        // The tools, their configuration and the libraries, to check and run below.
        var contents: [String: [UInt8]] = [:]
        var lastError: Error?
        for padding in 0...3 where bytes.suffix(padding).allSatisfy({ $0 == 0 }) {
            do {
                let reader = try ArchiveReader(bytes: Array(bytes.dropLast(padding)), label: "initrd.img", formats: .cpio)
                entries = [:]; order = []; contents = [:]
                while let entry = try reader.next() {
                    entries[entry.path] = entry
                    order.append(entry.path)
                    if entry.path.hasSuffix("/modules.dep") { modulesDep = String(decoding: try reader.readData(), as: UTF8.self) }
                    if entry.isRegularFile, entry.path.hasPrefix("usr/sbin/") || entry.path.hasPrefix("lib/x86_64-linux-gnu/") || entry.path == "etc/mke2fs.conf" {
                        contents[entry.path] = try reader.readData()
                    }
                }
                lastError = nil
                break
            } catch {
                lastError = error
            }
        }
        if let lastError { throw lastError }
        #expect(order == order.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }, "entries not sorted")
        #expect(entries["init"]?.symlink == "usr/bin/imprint-agent")
        #expect(entries["dev/console"]?.type == imprint_ae_ifchr)
        #expect(entries["usr/bin/imprint-agent"]?.isRegularFile == true)
        #expect(entries["lib/x86_64-linux-gnu/libc.so.6"]?.isRegularFile == true)
        #expect(entries["lib64/ld-linux-x86-64.so.2"]?.symlink == "../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")
        #expect(entries["etc/imprint/profile.json"] != nil)
        #expect(entries["etc/hosts"] != nil, "overlay not copied")
        let release = report.kernel.release
        for module in report.modules {
            #expect(entries["lib/modules/\(release)/\(module.path)"] != nil, "\(module.name) missing")
        }
        #expect(modulesDep.contains("virtio_net.ko:"), "\(modulesDep)")

        try Self.checkTools(report: report, entries: entries, contents: contents)
    }

    /// The mkfs tools of a tar deploy (docs/initrd.md): there, with mke2fs's configuration, every
    /// library they need beside the agent's, and runnable from the initrd's own loader and libraries.
    static func checkTools(report: BuildReport, entries: [String: ArchiveReader.Entry], contents: [String: [UInt8]]) throws {
        for path in ["usr/sbin/mke2fs", "usr/sbin/mkfs.fat"] {
            #expect(entries[path]?.isRegularFile == true && entries[path]?.mode == 0o755, "\(path) is a regular 0755 file")
        }
        #expect(entries["etc/mke2fs.conf"]?.isRegularFile == true && entries["etc/mke2fs.conf"]?.mode == 0o644, "etc/mke2fs.conf")
        #expect(contents["etc/mke2fs.conf"].map { Data($0) } == FileManager.default.contents(atPath: "/etc/mke2fs.conf"), "the host's mke2fs.conf")
        #expect(report.tools?.map(\.path) == ["usr/sbin/mke2fs", "usr/sbin/mkfs.fat", "etc/mke2fs.conf"], "build.json names the tools")
        #expect(report.tools?.map(\.package) == ["e2fsprogs", "dosfstools", "e2fsprogs"], "and their packages")
        #expect(report.sizes.tools == report.tools?.reduce(0) { $0 + $1.size })
        #expect(report.libraries.contains { $0.name == "libext2fs.so.2" }, "mke2fs's libraries join the agent's")
        #expect(Set(report.libraries.map(\.name)).count == report.libraries.count, "one copy of each library")

        // Every DT_NEEDED of the tools, and of the libraries they pull in, is in the initrd.
        var checked = Set<String>()
        var queue = ["usr/sbin/mke2fs", "usr/sbin/mkfs.fat"]
        while let path = queue.popLast() {
            guard checked.insert(path).inserted else { continue }
            let bytes = try #require(contents[path], "\(path) in the initrd")
            for needed in try ELFFile(bytes).needed {
                let library = "lib/x86_64-linux-gnu/\(needed)"
                #expect(entries[library]?.isRegularFile == true, "\(path) needs \(needed), missing from the initrd")
                if contents[library] != nil { queue.append(library) }
            }
        }
        #expect(checked.contains("lib/x86_64-linux-gnu/libext2fs.so.2") && checked.contains("lib/x86_64-linux-gnu/libc.so.6"), "\(checked.sorted())")

        // Unpacked, the tools run with the initrd's loader and libraries only, and make filesystems.
        let dir = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for (path, bytes) in contents {
            try FileManager.default.createDirectory(atPath: "\(dir)/\((path as NSString).deletingLastPathComponent)", withIntermediateDirectories: true)
            guard FileManager.default.createFile(atPath: "\(dir)/\(path)", contents: Data(bytes), attributes: [.posixPermissions: 0o755]) else {
                throw TestSetupError("cannot write \(dir)/\(path)")
            }
        }
        let libs = "\(dir)/lib/x86_64-linux-gnu"
        func runFromInitrd(_ tool: String, _ arguments: [String]) throws -> ProcessOutput {
            // MKE2FS_CONFIG: the initrd's configuration, as the agent's mke2fs reads /etc/mke2fs.conf.
            var env = ProcessInfo.processInfo.environment
            env["MKE2FS_CONFIG"] = "\(dir)/etc/mke2fs.conf"
            env["LD_LIBRARY_PATH"] = nil
            return try run("\(libs)/ld-linux-x86-64.so.2", ["--library-path", libs, "\(dir)/usr/sbin/\(tool)"] + arguments, environment: env)
        }
        let version = try runFromInitrd("mke2fs", ["-V"])
        #expect(version.status == 0 && version.stderr.contains("mke2fs 1."), "mke2fs -V: \(version.stderr)")
        let help = try runFromInitrd("mkfs.fat", ["--help"])
        // mkfs.fat prints its version and usage on stderr.
        #expect(help.status == 0 && (help.stdout + help.stderr).contains("mkfs.fat 4."), "mkfs.fat --help: \(help.stdout)\(help.stderr)")
        let ext4 = try runFromInitrd("mke2fs", ["-q", "-F", "-t", "ext4", "\(dir)/root.img", "8M"])
        #expect(ext4.status == 0, "mke2fs -t ext4: \(ext4.stderr)")
        let fat = try runFromInitrd("mkfs.fat", ["-C", "\(dir)/esp.img", "8192"])
        #expect(fat.status == 0, "mkfs.fat -C: \(fat.stderr)")
        let features = try run("dumpe2fs", ["-h", "\(dir)/root.img"])
        #expect(features.stdout.contains("extent") && features.stdout.contains("64bit"), "ext4 features from mke2fs.conf: \(features.stdout.prefix(600))")
    }

    @Test func unknownModuleNamesTheClosestAndLeavesNoStore() throws {
        let work = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        var recipe = try Self.recipe()
        recipe.modules.append("virtio_nett")
        #expect {
            _ = try Self.build(into: "\(work)/store", recipe: recipe)
        } throws: { error in
            "\(error)".contains("unknown kernel module 'virtio_nett'") && "\(error)".contains("virtio_net")
        }
        #expect(!FileManager.default.fileExists(atPath: "\(work)/store"), "a failed build left a store behind")
    }

    @Test func aMissingToolNamesThePackagesAndLeavesNoStore() throws {
        let work = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        var builder = Builder(recipe: try Self.recipe(), store: "\(work)/store", agent: try TestPaths.agent, overlay: nil, log: { _ in })
        builder.tools = InitrdTool.all.map { tool in
            var moved = tool
            if tool.name == "mkfs.fat" { moved.searchDirs = ["\(work)/nowhere"] }
            return moved
        }
        let error = #expect(throws: InitrdToolError.self) { try builder.build() }
        #expect(error?.description.contains("mkfs.fat (dosfstools") == true, "\(String(describing: error))")
        #expect(error?.description.hasSuffix("install e2fsprogs and dosfstools (scripts/bootstrap does)") == true, "\(String(describing: error))")
        #expect(!FileManager.default.fileExists(atPath: "\(work)/store"), "a failed build left a store behind")
    }

    @Test func aFailedRebuildKeepsThePreviousImage() throws {
        let work = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        _ = try Self.build(into: "\(work)/store")
        let before = FileManager.default.contents(atPath: "\(work)/store/boot/qemu-virtio/initrd.img")
        var recipe = try Self.recipe()
        recipe.modules = ["no_such_module"]
        #expect(throws: (any Error).self) { _ = try Self.build(into: "\(work)/store", recipe: recipe) }
        #expect(FileManager.default.contents(atPath: "\(work)/store/boot/qemu-virtio/initrd.img") == before)
    }
}
