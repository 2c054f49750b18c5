import Foundation
import Testing
import CArchive
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
        var lastError: Error?
        for padding in 0...3 where bytes.suffix(padding).allSatisfy({ $0 == 0 }) {
            do {
                let reader = try ArchiveReader(bytes: Array(bytes.dropLast(padding)), label: "initrd.img", formats: .cpio)
                entries = [:]; order = []
                while let entry = try reader.next() {
                    entries[entry.path] = entry
                    order.append(entry.path)
                    if entry.path.hasSuffix("/modules.dep") { modulesDep = String(decoding: try reader.readData(), as: UTF8.self) }
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
