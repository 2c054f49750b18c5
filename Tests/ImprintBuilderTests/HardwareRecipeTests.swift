import Foundation
import ImprintCore
import Testing
@testable import ImprintBuilder

/// `drivers.pci`, `drivers.inventory` and `drivers.firmware` in recipes (docs/profiles.md).
@Suite struct HardwareRecipeTests {
    @Test func pciIDsWithAndWithoutClass() throws {
        let recipe = try Recipe.parse(yaml: """
            profile: p
            kernel:
              debian: linux-image-amd64
            drivers:
              pci:
                - "8086:100E"
                - "1b36:0010/010802"
                - 8086:2922/0106
              firmware: [firmware-realtek, firmware-misc-nonfree]
            """, file: "/r/p.yaml")
        #expect(recipe.pci.map(\.description) == ["8086:100e", "1b36:0010/010802", "8086:2922/0106"])
        #expect(recipe.firmware == ["firmware-realtek", "firmware-misc-nonfree"])
        #expect(recipe.devices.map(\.origin) == [.pci(line: 6), .pci(line: 7), .pci(line: 8)])
        #expect(recipe.place("drivers.firmware[1]") == "/r/p.yaml:9")
    }

    @Test func inventoryControllersJoinTheDevices() throws {
        let dir = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: "\(dir)/machines", withIntermediateDirectories: true)
        try """
            00:00.0 Host bridge [0600]: Intel Corporation 440FX - 82441FX PMC [Natoma] [8086:1237] (rev 02)
            00:02.0 Ethernet controller [0200]: Intel Corporation 82540EM Gigabit Ethernet Controller [8086:100e] (rev 03)
            \tSubsystem: Red Hat, Inc. QEMU Virtual Machine [1af4:1100]
            00:04.0 SATA controller [0106]: Intel Corporation 82801IR/IO/IH (ICH9R/DO/DH) 6 port SATA Controller [AHCI mode] [8086:2922] (rev 02)
            """.write(toFile: "\(dir)/machines/lab.txt", atomically: true, encoding: .utf8)
        let recipe = try Recipe.parse(yaml: """
            profile: p
            kernel: {debian: linux-image-amd64}
            drivers:
              pci: ["8086:2922/0106"]
              inventory: machines/lab.txt
            """, file: "\(dir)/p.yaml")
        #expect(recipe.inventory.map { $0.hasSuffix("/machines/lab.txt") && FileManager.default.fileExists(atPath: $0) } == true)
        #expect(recipe.inventoryControllers.map(\.slot) == ["00:02.0", "00:04.0"], "the host bridge is not a controller")
        let devices = recipe.devices
        // 8086:2922/0106 is in drivers.pci already; the NIC comes with its class and subsystem.
        #expect(devices.map(\.id.description) == ["8086:2922/0106", "8086:100e/0200"])
        #expect(devices[1].id.subvendor == 0x1af4 && devices[1].id.subdevice == 0x1100)
        #expect(devices[1].origin.description == "drivers.inventory lab.txt, slot 00:02.0")
    }

    /// (yaml, inventory file text or nil, expected line, key, words)
    static let bad: [(String, String?, Int, String, String)] = [
        ("drivers:\n  pci:\n    - \"8086:100e\"\n    - \"8086-100e\"\n", nil, 7, "drivers.pci", "'8086-100e' is not a PCI ID"),
        ("drivers:\n  pci: [\"8086:100e/02000\"]\n", nil, 5, "drivers.pci", "optionally with the class"),
        ("drivers:\n  pci: [\"8086:100e/0200/1\"]\n", nil, 5, "drivers.pci", "vendor:device"),
        ("drivers:\n  firmware: [firmware-realtek, Firmware_Realtek]\n", nil, 5, "drivers.firmware", "not a Debian package name"),
        ("drivers:\n  inventory: missing.txt\n", nil, 5, "drivers.inventory", "cannot read"),
        ("drivers:\n  inventory: inv.txt\n", "00:02.0 Ethernet controller [0200]: Intel [8086:100e]\nthis is not lspci\n", 5, "drivers.inventory", "line 2: 'this is not lspci'"),
        ("drivers:\n  inventory: inv.txt\n", "{\"disks\": []}", 5, "drivers.inventory", "not an imprint inventory.json"),
        ("drivers:\n  inventory: inv.txt\n", "00:00.0 Host bridge [0600]: Intel [8086:1237]\n", 5, "drivers.inventory", "no network or storage controller"),
    ]

    @Test(arguments: bad)
    func badHardwareNamesTheLine(drivers: String, inventory: String?, line: Int, key: String, words: String) throws {
        let dir = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        if let inventory { try inventory.write(toFile: "\(dir)/inv.txt", atomically: true, encoding: .utf8) }
        let yaml = "profile: p\nkernel:\n  debian: x\n" + drivers
        let error = #expect(throws: RecipeError.self) { try Recipe.parse(yaml: yaml, file: "\(dir)/bad.yaml") }
        #expect(error?.line == line, "\(String(describing: error))")
        #expect(error?.key == key, "\(String(describing: error))")
        #expect(error?.description.contains(words) == true, "\(String(describing: error))")
        #expect(error?.description.hasPrefix("\(dir)/bad.yaml:\(line)") == true, "\(String(describing: error))")
    }

    @Test func packageNames() {
        for name in ["firmware-realtek", "firmware-misc-nonfree", "g++", "lib2to3.x"] { #expect(Recipe.isPackageName(name), "\(name)") }
        for name in ["", "f", "-firmware", "Firmware", "firmware realtek", "firmware_realtek"] { #expect(!Recipe.isPackageName(name), "\(name)") }
    }

    /// Every shipped recipe reads; those meant to drive their hardware by PCI ID do.
    @Test func shippedRecipes() throws {
        let dir = "\(TestPaths.packageRoot)/recipes"
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".yaml") }.sorted()
        #expect(Set(["qemu-virtio.yaml", "qemu-legacy.yaml", "qemu-modern.yaml", "qemu-scsi.yaml", "generic-x86_64.yaml"]).isSubset(of: Set(names)))
        for name in names {
            let recipe = try Recipe.load(path: "\(dir)/\(name)")
            #expect("\(recipe.profile).yaml" == name)
            #expect(Set(["sd_mod", "ext4", "vfat", "nls_cp437", "nls_ascii"]).isSubset(of: Set(recipe.modules)), "\(name)")
            #expect(recipe.agentServer == "http://10.0.2.2:8080" && recipe.cmdline == "console=tty0 console=ttyS0", "\(name)")
        }
        #expect(try Recipe.load(path: "\(dir)/qemu-legacy.yaml").pci.map(\.id) == ["8086:100e", "8086:2922"])
        #expect(try Recipe.load(path: "\(dir)/qemu-modern.yaml").pci.map(\.description) == ["8086:10d3/0200", "1b36:0010/010802"])
        #expect(!(try Recipe.load(path: "\(dir)/qemu-legacy.yaml").modules.contains { ["e1000", "ahci"].contains($0) }), "driven by ID, not by name")
    }
}
