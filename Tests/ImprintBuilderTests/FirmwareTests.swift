import Foundation
import ImprintCore
import Testing
@testable import ImprintBuilder

/// Firmware lookup and selection over a package tree made here, the private apt's pure parts, and
/// the PCI alias index (docs/profiles.md).
@Suite struct FirmwareTests {
    /// A firmware package's tree: a plain file, a symlink to it, an absolute symlink, a compressed
    /// file, a symlink out of the tree and a loop.
    static func makePackage(_ dir: String) throws -> FirmwarePackage {
        let fm = FileManager.default
        let root = "\(dir)/pkg"
        let base = "\(root)/lib/firmware"
        for folder in ["rtl_nic", "intel/ice/ddp", "vendor", "tigon"] {
            try fm.createDirectory(atPath: "\(base)/\(folder)", withIntermediateDirectories: true)
        }
        try Data("rtl".utf8).write(to: URL(fileURLWithPath: "\(base)/rtl_nic/rtl8168d-1.fw"))
        try Data("ice".utf8).write(to: URL(fileURLWithPath: "\(base)/intel/ice/ddp/ice-1.3.30.0.pkg"))
        try fm.createSymbolicLink(atPath: "\(base)/intel/ice/ddp/ice.pkg", withDestinationPath: "ice-1.3.30.0.pkg")
        try fm.createSymbolicLink(atPath: "\(base)/vendor/abs.bin", withDestinationPath: "/lib/firmware/rtl_nic/rtl8168d-1.fw")
        try fm.createSymbolicLink(atPath: "\(base)/vendor/out.bin", withDestinationPath: "../../../../../etc/passwd")
        try fm.createSymbolicLink(atPath: "\(base)/vendor/loop.bin", withDestinationPath: "loop.bin")
        // tigon/tg3.bin stored xz-compressed, as newer Debian packages store firmware.
        try Data(String(repeating: "tg3", count: 100).utf8).write(to: URL(fileURLWithPath: "\(base)/tigon/tg3.bin"))
        let xz = try run("xz", ["-z", "\(base)/tigon/tg3.bin"])
        #expect(xz.status == 0, "xz: \(xz.stderr)")
        return FirmwarePackage(name: "firmware-test", version: "1", root: root)
    }

    @Test func lookupFollowsSymlinksInsideThePackageOnly() throws {
        let dir = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let package = try Self.makePackage(dir)
        let base = "\(package.root)/lib/firmware"
        #expect(package.lookup("rtl_nic/rtl8168d-1.fw").map(\.file) == ["\(base)/rtl_nic/rtl8168d-1.fw"])
        #expect(package.lookup("intel/ice/ddp/ice.pkg").map(\.file) == ["\(base)/intel/ice/ddp/ice-1.3.30.0.pkg"])
        #expect(package.lookup("vendor/abs.bin").map(\.file) == ["\(base)/rtl_nic/rtl8168d-1.fw"], "absolute links resolve from the package's root")
        #expect(package.lookup("vendor/out.bin").isEmpty, "a link out of the package is not followed")
        #expect(package.lookup("vendor/loop.bin").isEmpty)
        #expect(package.lookup("rtl_nic").isEmpty, "a folder is not a file")
        #expect(package.lookup("rtl_nic/rtl8168e-1.fw").isEmpty)
        let tg3 = package.lookup("tigon/tg3.bin")
        #expect(tg3.map(\.member) == ["lib/firmware/tigon/tg3.bin.xz"] && tg3.first?.compression == .xz)
        #expect(package.lookup("rtl_nic/rtl8168*.fw").map(\.name) == ["rtl_nic/rtl8168d-1.fw"], "globs match the package's names")
    }

    /// A driver selection over a made-up graph: r8169 drives a listed device, tg3 and ice are named.
    static func selection(devices: Bool) -> DriverSelection {
        func module(_ name: String, _ firmware: [String]) -> ModuleGraph.Module {
            .init(name: name, path: "kernel/\(name).ko", info: ModInfo(name: name, firmware: firmware))
        }
        let modules = [
            module("r8169", ["rtl_nic/rtl8168d-1.fw", "rtl_nic/rtl8168e-1.fw"]),
            module("tg3", ["tigon/tg3.bin", "tigon/tg3_tso.bin"]),
            module("ice", ["intel/ice/ddp/ice.pkg", "intel/ice/ddp/*.pkg"]),
        ]
        var selection = DriverSelection(modules: modules.map { .init(name: $0.name, path: $0.path, reason: "named in the recipe", size: 1) },
                                        graph: ModuleGraph(modules))
        if devices, let id = PCIID(recipe: "10ec:8168/0200") {
            selection.devices = [.init(device: .init(id: id, origin: .pci(line: 7)), name: "10ec:8168 (Ethernet controller [0200]: Realtek RTL8111)", modules: ["r8169"])]
        }
        return selection
    }

    @Test func missingFirmwareOfAListedDeviceFailsNamingFilesDeviceAndPackage() throws {
        let dir = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let package = try Self.makePackage(dir)
        let recipe = Recipe(profile: "p", kernel: .debian(package: "x"), firmware: ["firmware-test"], sourcePath: "r.yaml")
        let error = #expect(throws: FirmwareError.self) {
            try FirmwareSelection.select(drivers: Self.selection(devices: true), recipe: recipe, packages: [package])
        }
        let text = error?.description ?? ""
        #expect(text.contains("r.yaml: firmware missing for devices the profile names; none of drivers.firmware (firmware-test) holds them"), "\(text)")
        #expect(text.contains("10ec:8168 (Ethernet controller [0200]: Realtek RTL8111), from drivers.pci (line 7): r8169 needs rtl_nic/rtl8168e-1.fw"), "\(text)")
        #expect(text.contains("hint: add firmware-realtek to drivers.firmware"), "\(text)")
        #expect(!text.contains("tg3_tso"), "tg3 drives no listed device: a warning, not an error: \(text)")
    }

    @Test func namedModulesGetWhatThePackagesHoldAndWarningsForTheRest() throws {
        let dir = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let package = try Self.makePackage(dir)
        let recipe = Recipe(profile: "p", kernel: .debian(package: "x"), firmware: ["firmware-test"])
        let selection = try FirmwareSelection.select(drivers: Self.selection(devices: false), recipe: recipe, packages: [package])
        #expect(selection.files.map(\.initrdPath) == ["lib/firmware/intel/ice/ddp/ice-1.3.30.0.pkg", "lib/firmware/intel/ice/ddp/ice.pkg",
                                                    "lib/firmware/rtl_nic/rtl8168d-1.fw", "lib/firmware/tigon/tg3.bin"])
        #expect(selection.files.allSatisfy { $0.package == "firmware-test" && $0.version == "1" })
        // The compressed file is carried plain (Debian 6.1 reads no .zst firmware).
        let tg3 = try #require(selection.files.first { $0.name == "tigon/tg3.bin" })
        #expect(FileManager.default.contents(atPath: tg3.source) == Data(String(repeating: "tg3", count: 100).utf8))
        #expect(tg3.size == 300)
        #expect(selection.warnings == [
            "r8169: no drivers.firmware package holds rtl_nic/rtl8168e-1.fw (likely in firmware-realtek)",
            "tg3: no drivers.firmware package holds tigon/tg3_tso.bin (likely in firmware-misc-nonfree)",
        ])
    }

    @Test func debianSourceFromTheSystemsSources() {
        let deb822 = """
            Types: deb
            # http://snapshot.debian.org/archive/debian/20250520T000000Z
            URIs: http://mirror.example/debian
            Suites: bookworm bookworm-updates
            Components: main
            Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

            Types: deb
            URIs: http://deb.debian.org/debian-security
            Suites: bookworm-security
            Components: main
            """
        #expect(PrivateApt.debianSource(deb822)! == ("http://mirror.example/debian", "bookworm"))
        #expect(PrivateApt.debianSource("deb [arch=amd64 signed-by=/k.gpg] http://m/debian trixie main\n")! == ("http://m/debian", "trixie"))
        #expect(PrivateApt.debianSource("deb http://security.debian.org/debian-security bookworm-security main\n") == nil)
        #expect(PrivateApt.debianSource("") == nil)
        let apt = PrivateApt(cache: Cache(root: "/nonexistent"), log: { _ in }, systemSources: ["/nonexistent/sources"])
        #expect(apt.sourceLine.hasSuffix("http://deb.debian.org/debian bookworm main non-free-firmware"), "the default: \(apt.sourceLine)")
        #expect(apt.options.contains("Dir::Etc::sourceparts=-") && apt.options.contains("Dir::State::Lists=/nonexistent/apt/lists"))
    }

    @Test func candidatesFromAptCacheShow() {
        let found = PrivateApt.parseCandidates("""
            Package: firmware-realtek
            Version: 20230210-5
            Architecture: all

            Package: firmware-misc-nonfree
            Source: firmware-nonfree
            Version: 1:20230210-5
            Architecture: all

            """)
        #expect(found["firmware-realtek"] == .init(package: "firmware-realtek", version: "20230210-5", architecture: "all"))
        #expect(found["firmware-misc-nonfree"]?.version == "1:20230210-5")
        #expect(found.count == 2)
    }

    @Test func hintsByFolder() {
        #expect(FirmwareHints.package(for: "rtl_nic/rtl8168d-1.fw") == "firmware-realtek")
        #expect(FirmwareHints.package(for: "intel/ice/ddp/ice.pkg") == "firmware-misc-nonfree")
        #expect(FirmwareHints.package(for: "bnx2x/bnx2x-e2-7.13.21.0.fw") == "firmware-bnx2x")
        #expect(FirmwareHints.package(for: "unknown/thing.bin") == nil)
    }

    @Test func aliasIndexVendors() {
        #expect(PCIAliasIndex.vendor(of: "pci:v00008086d0000100Esv*sd*bc*sc*i*") == 0x8086)
        #expect(PCIAliasIndex.vendor(of: "pci:v*d*sv*sd*bc01sc08i02*") == nil)
        #expect(PCIAliasIndex.vendor(of: "pci:v0000808?d*sv*sd*bc*sc*i*") == nil)
    }
}
