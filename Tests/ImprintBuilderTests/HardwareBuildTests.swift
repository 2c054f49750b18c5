import Foundation
import ImprintCore
import Testing
@testable import ImprintBuilder

/// Builds with the real Debian kernel (through apt, cached, as BuilderTests) whose drivers come from
/// PCI IDs, and whose firmware comes from Debian's non-free-firmware packages through the builder's
/// private apt configuration (the first run downloads firmware-realtek into the builder cache).
@Suite(.serialized) struct HardwareBuildTests {
    /// A small profile: the PCI IDs and firmware packages given, sd_mod the only named module.
    static func recipe(_ yamlDrivers: String, file: String) throws -> Recipe {
        try Recipe.parse(yaml: """
            profile: hw-test
            kernel:
              debian: linux-image-amd64
            drivers:
              modules: [sd_mod]
            \(yamlDrivers)
            agent:
              server: "http://10.0.2.2:8080"
            """, file: file)
    }

    static func build(_ recipe: Recipe, into store: String) throws -> BuildReport {
        try Builder(recipe: recipe, store: store, agent: try TestPaths.agent, overlay: nil, log: { _ in }).build()
    }

    /// The initrd's entries by path, with the contents of those `keep` picks.
    static func initrd(_ path: String, keep: (String) -> Bool) throws -> (entries: Set<String>, contents: [String: [UInt8]]) {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var lastError: Error?
        // libarchive takes the kernel's 0-3 bytes of zero padding for a broken next zstd frame.
        for padding in 0...3 where bytes.suffix(padding).allSatisfy({ $0 == 0 }) {
            do {
                let reader = try ArchiveReader(bytes: Array(bytes.dropLast(padding)), label: "initrd.img", formats: .cpio)
                var entries = Set<String>()
                var contents: [String: [UInt8]] = [:]
                while let entry = try reader.next() {
                    entries.insert(entry.path)
                    if entry.isRegularFile, keep(entry.path) { contents[entry.path] = try reader.readData() }
                }
                return (entries, contents)
            } catch {
                lastError = error
            }
        }
        throw lastError ?? TestSetupError("cannot read \(path)")
    }

    @Test func aPCIIDPullsInTheModulesThatMatchIt() throws {
        let work = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let report = try Self.build(try Self.recipe("  pci: [\"8086:100e\"]", file: "\(work)/hw.yaml"), into: "\(work)/store")
        let device = try #require(report.devices?.first)
        #expect(report.devices?.count == 1)
        #expect(device.id == "8086:100e" && device.modules == ["e1000"] && device.from == "drivers.pci (line 6)", "\(device)")
        #expect(device.name.contains("Intel Corporation 82540EM Gigabit Ethernet Controller"), "pci.ids names it: \(device.name)")
        #expect(report.modules.first { $0.name == "e1000" }?.reason == "drives 8086:100e")
        #expect(report.firmware == [] && report.firmwarePackages == [] && report.warnings == [])
        let dir = "\(work)/store/boot/hw-test"
        let decoded = try JSONDecoder().decode(BuildReport.self, from: try Data(contentsOf: URL(fileURLWithPath: "\(dir)/build.json")))
        #expect(decoded.devices == report.devices)

        let release = report.kernel.release
        let initrd = try Self.initrd("\(dir)/initrd.img") { $0.hasSuffix("/modules.alias") }
        #expect(initrd.entries.contains("lib/modules/\(release)/kernel/drivers/net/ethernet/intel/e1000/e1000.ko"))
        let aliases = String(decoding: initrd.contents["lib/modules/\(release)/modules.alias"] ?? [], as: UTF8.self)
        #expect(aliases.contains("alias pci:v00008086d0000100Esv*sd*bc*sc*i* e1000"), "the agent's coldplug finds e1000 by the device's modalias")
    }

    @Test func anIDNoModuleMatchesFailsNamingItAndLeavesNoStore() throws {
        let work = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let recipe = try Self.recipe("  pci: [\"8086:100e\", \"ffff:0001/0200\"]", file: "\(work)/hw.yaml")
        let started = Date()
        let error = #expect(throws: DriverError.self) { try Self.build(recipe, into: "\(work)/store") }
        let text = error?.description ?? ""
        #expect(text.hasPrefix("\(work)/hw.yaml: no driver in kernel 6.1."), "\(text)")
        #expect(text.contains("for a device the profile names:\n  ffff:0001 (Ethernet controller [0200]"), "\(text)")
        #expect(text.contains("from drivers.pci (line 6)"), "\(text)")
        #expect(!text.contains("8086:100e"), "only the device without a driver: \(text)")
        #expect(!FileManager.default.fileExists(atPath: "\(work)/store"), "a failed build left a store behind")
        #expect(Date().timeIntervalSince(started) < 30)
    }

    @Test func anInventoryWithoutDriversForItsNICAndDiskControllerNamesBoth() throws {
        let work = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        // lspci -nn of a machine whose NIC and SAS controller Debian 6.1 has no driver for; its e1000 is fine.
        try """
            00:00.0 Host bridge [0600]: Intel Corporation 440FX - 82441FX PMC [Natoma] [8086:1237] (rev 02)
            00:03.0 Ethernet controller [0200]: Intel Corporation 82540EM Gigabit Ethernet Controller [8086:100e] (rev 03)
            02:00.0 Ethernet controller [0200]: Realtek Semiconductor Co., Ltd. RTL8104E PCIe Fast Ethernet Controller [10ec:8137] (rev 01)
            03:00.0 Serial Attached SCSI controller [0107]: Broadcom / LSI SAS3404 Fusion-MPT Tri-Mode I/O Controller Chip (IOC) [1000:00bf] (rev 01)
            """.write(toFile: "\(work)/machine.txt", atomically: true, encoding: .utf8)
        let recipe = try Self.recipe("  inventory: machine.txt", file: "\(work)/hw.yaml")
        let error = #expect(throws: DriverError.self) { try Self.build(recipe, into: "\(work)/store") }
        let text = error?.description ?? ""
        #expect(text.contains("for 2 devices the profile names:"), "\(text)")
        #expect(text.contains("  10ec:8137 (Ethernet controller [0200]: Realtek Semiconductor Co., Ltd. RTL8104E PCIe Fast Ethernet Controller), from drivers.inventory machine.txt, slot 02:00.0"), "\(text)")
        #expect(text.contains("  1000:00bf (Serial Attached SCSI controller [0107]: Broadcom / LSI SAS3404 Fusion-MPT Tri-Mode I/O Controller Chip (IOC)), from drivers.inventory machine.txt, slot 03:00.0"), "\(text)")
        #expect(!text.contains("8086:100e"), "\(text)")
    }

    /// The QEMU recipes' IDs (and a few more) give the same drivers through the builder's alias index
    /// as through Core's matcher over every module (which takes about 0.4 s an ID in a debug build).
    @Test func theAliasIndexAgreesWithCore() throws {
        let kernel = try DebianKernel(package: "linux-image-amd64", cache: Cache(), log: { _ in }).fetch()
        let cache = Cache()
        let tree = try ModuleTree(dir: kernel.modulesDir, cacheFile: cache.moduleIndexFile(for: kernel.modulesDir))
        let index = PCIAliasIndex(tree.graph)
        let ids = try ["qemu-legacy", "qemu-modern"].flatMap {
            try Recipe.load(path: "\(TestPaths.packageRoot)/recipes/\($0).yaml").pci
        } + ["8086:100e", "1af4:1041/0200", "10ec:8168/0200", "ffff:0001/0200"].compactMap { PCIID(recipe: $0) }
        for id in ids {
            #expect(index.modules(matching: id) == tree.graph.modules(matchingPCI: id), "\(id)")
        }
        #expect(index.modules(matching: PCIID(recipe: "144d:a808/010802")!) == ["nvme"])
        #expect(index.modules(matching: PCIID(recipe: "144d:a808")!) == [], "without its class, nvme's class alias does not match")
    }

    // Firmware: r8169 (RTL8111/8168) declares its rtl_nic/ files; Debian ships them in firmware-realtek.

    @Test func firmwareComesFromTheListedPackage() throws {
        let work = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let recipe = try Self.recipe("  pci: [\"10ec:8168/0200\"]\n  firmware: [firmware-realtek]", file: "\(work)/hw.yaml")
        let report = try Self.build(recipe, into: "\(work)/store")
        #expect(report.devices?.first?.modules == ["r8169"])
        #expect(report.firmwarePackages?.map(\.name) == ["firmware-realtek"])
        let firmware = report.firmware ?? []
        let paths = Set(firmware.map(\.path))
        for name in ["rtl_nic/rtl8168d-1.fw", "rtl_nic/rtl8168h-2.fw", "rtl_nic/rtl8125b-2.fw"] {
            #expect(paths.contains("lib/firmware/\(name)"), "\(name) in build.json")
        }
        #expect(firmware.allSatisfy { $0.package == "firmware-realtek" && $0.modules == ["r8169"] && $0.size > 0 })
        #expect(report.sizes.firmware == firmware.reduce(0) { $0 + $1.size })

        let initrd = try Self.initrd("\(work)/store/boot/hw-test/initrd.img") { $0.hasPrefix("lib/firmware/") }
        let inInitrd = initrd.entries.filter { $0.hasPrefix("lib/firmware/") && initrd.contents[$0] != nil }
        #expect(inInitrd == paths, "exactly the files build.json lists, nothing else of the package")
        // The bytes are the package's (as unpacked in the builder cache).
        let packageFile = try #require(FileManager.default.enumerator(atPath: Cache().path("firmware"))?.allObjects
            .compactMap { $0 as? String }.first { $0.hasPrefix("firmware-realtek_") && $0.hasSuffix("/lib/firmware/rtl_nic/rtl8168d-1.fw") })
        #expect(initrd.contents["lib/firmware/rtl_nic/rtl8168d-1.fw"].map { Data($0) } == FileManager.default.contents(atPath: Cache().path("firmware/\(packageFile)")))
    }

    @Test func withoutTheFirmwarePackageTheBuildNamesTheMissingFiles() throws {
        let work = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let recipe = try Self.recipe("  pci: [\"10ec:8168/0200\"]", file: "\(work)/hw.yaml")
        let error = #expect(throws: FirmwareError.self) { try Self.build(recipe, into: "\(work)/store") }
        let text = error?.description ?? ""
        #expect(text.hasPrefix("\(work)/hw.yaml: firmware missing for devices the profile names; drivers.firmware lists no package"), "\(text)")
        #expect(text.contains("10ec:8168 (Ethernet controller [0200]: Realtek Semiconductor Co., Ltd. RTL8111/8168/8411 PCI Express Gigabit Ethernet Controller), from drivers.pci (line 6): r8169 needs "), "\(text)")
        #expect(text.contains("rtl_nic/rtl8168d-1.fw") && text.contains("rtl_nic/rtl8125b-2.fw"), "\(text)")
        #expect(text.contains("hint: add firmware-realtek to drivers.firmware"), "\(text)")
        #expect(!FileManager.default.fileExists(atPath: "\(work)/store"))
    }

    @Test func aFirmwarePackageThatDoesNotExistIsNamedWithItsLine() throws {
        let work = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let recipe = try Self.recipe("  pci: [\"10ec:8168/0200\"]\n  firmware: [firmware-realtek, firmware-realtec-nonfree]", file: "\(work)/hw.yaml")
        let error = #expect(throws: FirmwareError.self) { try Self.build(recipe, into: "\(work)/store") }
        let text = error?.description ?? ""
        #expect(text.hasPrefix("\(work)/hw.yaml:7: drivers.firmware: no package 'firmware-realtec-nonfree' in deb "), "\(text)")
        #expect(text.contains("non-free-firmware"), "\(text)")
        #expect(!FileManager.default.fileExists(atPath: "\(work)/store"))
    }
}
