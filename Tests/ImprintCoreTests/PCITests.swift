import Testing

@testable import ImprintCore

/// Alias vectors are copied from Debian's linux-image-6.1.0-56-amd64 (`modinfo -F alias`).
@Suite("PCI IDs, module aliases, lspci and inventories")
struct PCITests {
    static let e1000 = "pci:v00008086d0000100Esv*sd*bc*sc*i*"
    static let e1000e = "pci:v00008086d000010D3sv*sd*bc*sc*i*"
    static let nvmeClass = "pci:v*d*sv*sd*bc01sc08i02*"
    static let ahciClass = "pci:v*d*sv*sd*bc01sc06i01*"
    static let ahciICH9 = "pci:v00008086d00002922sv*sd*bc*sc*i*"
    static let virtioPCI = "pci:v00001AF4d*sv*sd*bc*sc*i*"
    static let tg3Acer = "pci:v000014E4d00001692sv00001025sd00000612bc*sc*i*"

    @Test("recipe IDs: vendor:device, optionally a class; anything else refused")
    func recipeIDs() {
        #expect(PCIID(recipe: "8086:100e") == PCIID(vendor: 0x8086, device: 0x100E))
        #expect(PCIID(recipe: "8086:100E/0200") == PCIID(vendor: 0x8086, device: 0x100E, baseClass: 2, subclass: 0))
        #expect(PCIID(recipe: "144d:a808/010802")?.classCode == "010802")
        #expect(PCIID(recipe: "144d:a808/01")?.description == "144d:a808/01")
        for bad in ["8086", "8086:100", "8086:100e:1", "zzzz:100e", "8086:100e/2", "8086:100e/0200/1", ""] {
            #expect(PCIID(recipe: bad) == nil, "\(bad)")
        }
    }

    @Test("aliases match IDs; unknown fields match only a * in the alias")
    func aliasMatching() throws {
        let intel = try #require(PCIID(recipe: "8086:100e"))
        #expect(intel.matches(alias: Self.e1000))
        #expect(!intel.matches(alias: Self.e1000e))
        #expect(!intel.matches(alias: Self.nvmeClass), "no class given: a class-only driver is not certain")
        let nvme = try #require(PCIID(recipe: "144d:a808/010802"))
        #expect(nvme.matches(alias: Self.nvmeClass))
        #expect(!nvme.matches(alias: Self.ahciClass))
        #expect(!(try #require(PCIID(recipe: "144d:a808/0108"))).matches(alias: Self.nvmeClass), "prog-if unknown")
        #expect(try #require(PCIID(recipe: "8086:2922/010601")).matches(alias: Self.ahciClass))
        #expect(try #require(PCIID(recipe: "8086:2922")).matches(alias: Self.ahciICH9))
        #expect(try #require(PCIID(recipe: "1af4:1041")).matches(alias: Self.virtioPCI))
        var tg3 = try #require(PCIID(recipe: "14e4:1692"))
        #expect(!tg3.matches(alias: Self.tg3Acer), "subsystem unknown")
        (tg3.subvendor, tg3.subdevice) = (0x1025, 0x0612)
        #expect(tg3.matches(alias: Self.tg3Acer))
        (tg3.subvendor, tg3.subdevice) = (0x1025, 0x0601)
        #expect(!tg3.matches(alias: Self.tg3Acer))
        for bad in ["usb:v*", "pci:", "pci:v*d*", "pci:v00008086d0000100E", "acpi*:PNP0A08:*"] {
            #expect(!intel.matches(alias: bad), "\(bad)")
        }
    }

    @Test("the module graph finds drivers by PCI ID")
    func graph() {
        let graph = ModuleGraph([
            ModuleGraph.Module(name: "e1000", path: "e1000.ko", info: ModInfo(name: "e1000", aliases: [Self.e1000])),
            ModuleGraph.Module(name: "nvme", path: "nvme.ko", info: ModInfo(name: "nvme", depends: ["nvme_core"], aliases: [Self.nvmeClass])),
            ModuleGraph.Module(name: "nvme_core", path: "nvme_core.ko", info: ModInfo(name: "nvme_core")),
            ModuleGraph.Module(name: "ahci", path: "ahci.ko", info: ModInfo(name: "ahci", aliases: [Self.ahciClass, Self.ahciICH9])),
        ])
        #expect(graph.modules(matchingPCI: PCIID(recipe: "8086:100e")!) == ["e1000"])
        #expect(graph.modules(matchingPCI: PCIID(recipe: "1b36:0010/010802")!) == ["nvme"])
        #expect(graph.modules(matchingPCI: PCIID(recipe: "8086:2922")!) == ["ahci"])
        #expect(graph.modules(matchingPCI: PCIID(recipe: "10ec:8168/0200")!) == [])
    }

    static let lspci = """
        00:00.0 Host bridge [0600]: Intel Corporation 82G33/G31/P35/P31 Express DRAM Controller [8086:29c0]
        00:02.0 Ethernet controller [0200]: Intel Corporation 82574L Gigabit Network Connection [8086:10d3]
        \tSubsystem: Intel Corporation Device [8086:0000]
        \tKernel driver in use: e1000e
        00:03.0 Non-Volatile memory controller [0108]: Red Hat, Inc. QEMU NVM Express Controller [1b36:0010] (rev 02)
        00:1f.2 SATA controller [0106]: Intel Corporation 82801IR/IO/IH (ICH9R/DO/DH) 6 port SATA Controller [AHCI mode] [8086:2922] (rev 02)

        """

    @Test("lspci -nn(k) output: slot, IDs, class, subsystem, driver")
    func lspciOutput() throws {
        let listing = try HardwareListing.parse(Self.lspci)
        #expect(listing.source == .lspci)
        #expect(listing.devices.map(\.slot) == ["00:00.0", "00:02.0", "00:03.0", "00:1f.2"])
        #expect(listing.devices[1].id == PCIID(vendor: 0x8086, device: 0x10D3, subvendor: 0x8086, subdevice: 0, baseClass: 2, subclass: 0))
        #expect(listing.devices[1].driver == "e1000e" && listing.devices[2].driver == nil)
        #expect(listing.devices[3].id.description == "8086:2922/0106", "the [AHCI mode] in the name is not an ID")
        #expect(listing.devices[2].description == "Non-Volatile memory controller: Red Hat, Inc. QEMU NVM Express Controller [1b36:0010] (rev 02)")
        #expect(listing.controllers.map(\.slot) == ["00:02.0", "00:03.0", "00:1f.2"])
    }

    @Test("an agent's inventory.json")
    func inventory() throws {
        let text = """
            {"version": 1, "mac": "52:54:00:12:34:56", "pci": [
              {"slot": "0000:00:02.0", "id": "8086:100e", "class": "0x020000", "driver": "e1000"},
              {"slot": "0000:00:04.0", "id": "1af4:1001", "class": "0x010000", "subsystem": "1af4:0002"}]}
            """
        let listing = try HardwareListing.parse(text)
        #expect(listing.source == .inventory(mac: "52:54:00:12:34:56"))
        #expect(listing.devices[0].id.description == "8086:100e/020000" && listing.devices[0].driver == "e1000")
        #expect(listing.devices[1].id.subvendor == 0x1af4 && listing.devices[1].id.subdevice == 2)
        #expect(listing.controllers.count == 2)
    }

    @Test("other formats and bad lines are named")
    func badInput() {
        let cases: [(String, String)] = [
            ("{\"version\": 1}", "not an imprint inventory.json"),
            ("{\"pci\": [{\"id\": \"8086\"}]}", "pci[0]: id '8086'"),
            ("{\"pci\": [{\"id\": \"8086:100e\", \"class\": \"net\"}]}", "class 'net'"),
            ("{not json", "not valid JSON"),
            ("00:02.0 Ethernet controller [0200]: Intel [8086:10d3]\nhello world\n", "line 2:"),
            ("\tKernel driver in use: e1000\n", "line 1: an indented line before any device"),
            ("\n\n", "no PCI device found"),
        ]
        for (text, message) in cases {
            do {
                _ = try HardwareListing.parse(text)
                Issue.record("accepted: \(text)")
            } catch {
                #expect(error.description.contains(message), "\(text): \(error)")
            }
        }
    }

    @Test("pci.ids names for messages")
    func database() {
        let database = PCIDatabase(text: """
            # comment
            8086  Intel Corporation
            \t100e  82540EM Gigabit Ethernet Controller
            \t\t1028 002e  Optiplex GX260
            \t10d3  82574L Gigabit Network Connection
            1af4  Red Hat, Inc.
            C 01  Mass storage controller
            \t08  Non-Volatile memory controller
            C 02  Network controller
            \t00  Ethernet controller
            """)
        let intel = PCIID(recipe: "8086:100e/0200")!
        #expect(database.vendorName(intel) == "Intel Corporation")
        #expect(database.deviceName(intel) == "82540EM Gigabit Ethernet Controller")
        #expect(database.className(intel) == "Ethernet controller")
        #expect(database.describe(intel) == "8086:100e (Ethernet controller [0200]: Intel Corporation 82540EM Gigabit Ethernet Controller)")
        #expect(database.describe(PCIID(recipe: "1234:5678")!) == "1234:5678")
        #expect(database.className(PCIID(recipe: "144d:a808/0108")!) == "Non-Volatile memory controller")
    }
}
