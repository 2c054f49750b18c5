import Foundation
import ImprintCore
import Testing
@testable import ImprintBuilder

/// A slice of Debian 6.1's module tree (`linux-image-6.1.0-56-amd64`) with the `pci:` and
/// `virtio:` aliases and `depends=` its `.modinfo` sections carry (a few of ahci's 313 aliases).
enum KernelSlice {
    static func module(_ name: String, _ path: String, depends: [String] = [], aliases: [String] = []) -> ModuleGraph.Module {
        ModuleGraph.Module(name: name, path: path, info: ModInfo(name: name, depends: depends, aliases: aliases))
    }

    static let graph = ModuleGraph([
        module("e1000", "kernel/drivers/net/ethernet/intel/e1000/e1000.ko",
               aliases: ["pci:v00008086d0000100Esv*sd*bc*sc*i*", "pci:v00008086d0000108Asv*sd*bc*sc*i*"]),
        module("e1000e", "kernel/drivers/net/ethernet/intel/e1000e/e1000e.ko",
               aliases: ["pci:v00008086d000010D3sv*sd*bc*sc*i*", "pci:v00008086d0000108Csv*sd*bc*sc*i*"]),
        module("libata", "kernel/drivers/ata/libata.ko"),
        module("libahci", "kernel/drivers/ata/libahci.ko", depends: ["libata"]),
        module("ahci", "kernel/drivers/ata/ahci.ko", depends: ["libahci", "libata"],
               aliases: ["pci:v00008086d00002922sv*sd*bc*sc*i*", "pci:v00001B4Bd00009123sv*sd*bc01sc06i01*",
                         "pci:v*d*sv*sd*bc01sc06i01*"]),
        module("nvme_core", "kernel/drivers/nvme/host/nvme-core.ko"),
        module("nvme", "kernel/drivers/nvme/host/nvme.ko", depends: ["nvme-core"], aliases: ["pci:v*d*sv*sd*bc01sc08i02*"]),
        module("virtio", "kernel/drivers/virtio/virtio.ko"),
        module("virtio_pci", "kernel/drivers/virtio/virtio_pci.ko", depends: ["virtio"], aliases: ["pci:v00001AF4d*sv*sd*bc*sc*i*"]),
        module("virtio_net", "kernel/drivers/net/virtio_net.ko", depends: ["virtio"], aliases: ["virtio:d00000001v*"]),
        module("virtio_blk", "kernel/drivers/block/virtio_blk.ko", depends: ["virtio"], aliases: ["virtio:d00000002v*"]),
        module("virtio_scsi", "kernel/drivers/scsi/virtio_scsi.ko", depends: ["virtio"], aliases: ["virtio:d00000008v*"]),
    ])

    /// The pci.ids lines for these devices, as Debian's pci.ids package has them.
    static let pciIDs = """
        # List of PCI ID's
        1af4  Red Hat, Inc.
        \t1000  Virtio network device
        \t1001  Virtio block device
        1b36  Red Hat, Inc.
        \t0010  QEMU NVM Express Controller
        8086  Intel Corporation
        \t100e  82540EM Gigabit Ethernet Controller
        \t\t8086 001e  PRO/1000 MT Mobile Connection
        \t10d3  82574L Gigabit Network Connection
        \t2922  82801IR/IO/IH (ICH9R/DO/DH) 6 port SATA Controller [AHCI mode]
        C 01  Mass storage controller
        \t00  SCSI storage controller
        \t06  SATA controller
        \t\t01  AHCI 1.0
        \t08  Non-Volatile memory controller
        C 02  Network controller
        \t00  Ethernet controller

        """

    static let legacyLspci = """
        00:00.0 Host bridge [0600]: Intel Corporation 82G33/G31/P35/P31 Express DRAM Controller [8086:29c0]
        00:02.0 Ethernet controller [0200]: Intel Corporation 82540EM Gigabit Ethernet Controller [8086:100e] (rev 03)
        00:1f.2 SATA controller [0106]: Intel Corporation 82801IR/IO/IH (ICH9R/DO/DH) 6 port SATA Controller [AHCI mode] [8086:2922] (rev 02)

        """
}

@Suite("profile check: verdicts from controllers, aliases and the initrd's modules")
struct DriverCheckTests {
    let database = PCIDatabase(text: KernelSlice.pciIDs)

    func verdicts(_ listing: String, included: [String]) throws -> [DriverVerdict] {
        DriverCheck.verdicts(for: try HardwareListing.parse(listing).controllers, graph: KernelSlice.graph,
                             included: included, database: database)
    }

    @Test("qemu-virtio's modules against an e1000 + AHCI machine: e1000 drives the NIC, ahci is missing")
    func legacyMachine() throws {
        let included = ["virtio", "virtio_pci", "virtio_net", "virtio_blk", "virtio_scsi", "e1000", "sd_mod"]
        let result = try verdicts(KernelSlice.legacyLspci, included: included)
        #expect(result.map(\.device.slot) == ["00:02.0", "00:1f.2"], "the host bridge is no controller")
        #expect(result[0].isDriven)
        #expect(result[0].driving == ["e1000"])
        #expect(result[0].kind == .network)
        #expect(result[0].name == "Ethernet controller [0200]: Intel Corporation 82540EM Gigabit Ethernet Controller")
        #expect(!result[1].isDriven)
        #expect(result[1].kind == .storage)
        #expect(result[1].missing == ["ahci"])
        #expect(result[1].needsPCIDriver)
        #expect(result[1].recipeID == "8086:2922")
        #expect(result[1].name == "SATA controller [0106]: Intel Corporation 82801IR/IO/IH (ICH9R/DO/DH) 6 port SATA Controller [AHCI mode]")
        #expect(DriverCheck.hint(for: result, recipe: "recipes/qemu-virtio.yaml")
                == #"add drivers.pci: ["8086:2922"] or drivers.modules: [ahci] to recipes/qemu-virtio.yaml and rebuild"#)
    }

    @Test("without e1000 either, both are named, in the order of the listing")
    func neither() throws {
        let result = try verdicts(KernelSlice.legacyLspci, included: ["virtio_pci", "virtio_net"])
        #expect(result.map(\.isDriven) == [false, false])
        #expect(DriverCheck.hint(for: result, recipe: "r.yaml")
                == #"add drivers.pci: ["8086:100e", "8086:2922"] or drivers.modules: [e1000, ahci] to r.yaml and rebuild"#)
    }

    @Test("a virtio NIC needs virtio_pci and virtio_net; virtio-blk needs virtio_blk")
    func virtio() throws {
        let inventory = """
            {"version":1,"mac":"52:54:00:12:34:56","pci":[
             {"slot":"0000:00:03.0","id":"1af4:1000","class":"0x020000","subsystem":"1af4:0001","driver":"virtio-pci"},
             {"slot":"0000:00:04.0","id":"1af4:1001","class":"0x010000","subsystem":"1af4:0002","driver":null}]}
            """
        let all = try verdicts(inventory, included: ["virtio", "virtio_pci", "virtio_net", "virtio_blk"])
        #expect(all.map(\.isDriven) == [true, true])
        #expect(all.map(\.driving) == [["virtio_pci", "virtio_net"], ["virtio_pci", "virtio_blk"]])

        let noNet = try verdicts(inventory, included: ["virtio_pci", "virtio_blk"])
        #expect(!noNet[0].isDriven && noNet[1].isDriven)
        #expect(noNet[0].missing == ["virtio_net"])
        #expect(!noNet[0].needsPCIDriver, "virtio_pci is there: only the virtio device's driver is missing")
        #expect(DriverCheck.hint(for: noNet, recipe: "r.yaml") == "add drivers.modules: [virtio_net] to r.yaml and rebuild")
    }

    @Test("virtio types: modern IDs, the subsystem of transitional ones, else the spec's table", arguments: [
        (PCIID(vendor: 0x1af4, device: 0x1041), "virtio:d00000001v00001AF4"),
        (PCIID(vendor: 0x1af4, device: 0x1048), "virtio:d00000008v00001AF4"),
        (PCIID(vendor: 0x1af4, device: 0x1000, subvendor: 0x1af4, subdevice: 0x0001), "virtio:d00000001v00001AF4"),
        (PCIID(vendor: 0x1af4, device: 0x1004), "virtio:d00000008v00001AF4"),
        (PCIID(vendor: 0x1af4, device: 0x1110), nil),
        (PCIID(vendor: 0x8086, device: 0x1000), nil),
    ] as [(PCIID, String?)])
    func virtioModalias(id: PCIID, modalias: String?) {
        #expect(DriverCheck.virtioModalias(id) == modalias)
    }

    @Test("lspci -nn gives no programming interface: nvme, bound by class alone, still matches, with a note")
    func classBound() throws {
        let lspci = "01:00.0 Non-Volatile memory controller [0108]: Red Hat, Inc. QEMU NVM Express Controller [1b36:0010] (rev 02)\n"
        let driven = try verdicts(lspci, included: ["nvme", "nvme_core"])
        #expect(driven[0].isDriven)
        #expect(driven[0].note?.contains("programming interface 02") == true)
        let missing = try verdicts(lspci, included: [])
        #expect(missing[0].missing == ["nvme"])
        #expect(missing[0].recipeID == "1b36:0010/010802", "the ID alone matches no driver: the class it needs")

        let inventory = #"{"pci":[{"slot":"0000:01:00.0","id":"1b36:0010","class":"0x010802"}]}"#
        let exact = try verdicts(inventory, included: ["nvme"])
        #expect(exact[0].isDriven && exact[0].note == nil)
    }

    @Test("a controller no module of the kernel drives: no recipe change helps, and no hint says one does")
    func noDriver() throws {
        let lspci = "03:00.0 Ethernet controller [0200]: Intel Corporation Ethernet Controller I225-V [8086:15f3] (rev 03)\n"
        let result = try verdicts(lspci, included: ["e1000e"])
        #expect(!result[0].isDriven)
        #expect(result[0].lacksKernelDriver)
        #expect(result[0].missing.isEmpty)
        #expect(result[0].name == "Ethernet controller: Intel Corporation Ethernet Controller I225-V", "lspci's text when pci.ids does not know it")
        #expect(DriverCheck.hint(for: result, recipe: "r.yaml") == nil)
    }

    @Test("module names compare with dashes and underscores alike")
    func normalised() throws {
        let lspci = "01:00.0 Non-Volatile memory controller [0108]: Red Hat, Inc. QEMU NVM Express Controller [1b36:0010] (rev 02)\n"
        #expect(try verdicts(lspci, included: ["nvme"])[0].isDriven)
        let e1000e = "00:02.0 Ethernet controller [0200]: Intel Corporation 82574L Gigabit Network Connection [8086:10d3]\n"
        #expect(try verdicts(e1000e, included: ["e1000e"])[0].driving == ["e1000e"])
    }
}

@Suite("profile from-inventory: the recipe")
struct InventoryRecipeTests {
    static let inventory = """
        {"version":1,"mac":"52:54:00:12:34:56","pci":[
         {"slot":"0000:00:00.0","id":"8086:29c0","class":"0x060000","subsystem":"1af4:1100","driver":null},
         {"slot":"0000:00:02.0","id":"8086:100e","class":"0x020000","subsystem":"8086:001e","driver":"e1000"},
         {"slot":"0000:00:03.0","id":"8086:100e","class":"0x020000","subsystem":"8086:001e","driver":"e1000"},
         {"slot":"0000:00:04.0","id":"1af4:1001","class":"0x010000","subsystem":"1af4:0002","driver":null}],
         "unbound":[{"slot":"0000:00:04.0","id":"1af4:1001","class":"0x010000"}]}
        """

    @Test("controllers by ID with class and pci.ids name, one line per ID; the modules; whole")
    func golden() throws {
        let listing = try HardwareListing.parse(Self.inventory)
        let recipe = try InventoryRecipe(profile: "rack3", listing: listing, origin: "reports/52-54-00-12-34-56/inventory.json",
                                         server: nil, database: PCIDatabase(text: KernelSlice.pciIDs))
        #expect(recipe.yaml == """
            # Hardware profile written by `imprint profile from-inventory` from reports/52-54-00-12-34-56/inventory.json
            # (DESIGN section 3; docs/profile-check.md).
            profile: rack3
            arch: x86_64
            kernel:
              debian: linux-image-amd64          # resolved with apt to linux-image-6.1.0-NN-amd64, cached
            drivers:
              # The machine's network (class 02) and storage (class 01) controllers, matched through the
              # kernel's module aliases; the build adds each driver's depends= and softdep= closure.
              pci:
                - "8086:100e/020000"   # Ethernet controller [0200]: Intel Corporation 82540EM Gigabit Ethernet Controller at 0000:00:02.0, 0000:00:03.0
                - "1af4:1001/010000"   # SCSI storage controller [0100]: Red Hat, Inc. Virtio block device at 0000:00:04.0
              # Modules no dependency pulls in: sd_mod for SATA, SAS and SCSI disks, the file systems a
              # deploy makes, vfat's code pages (the initrd has no modprobe for request_module), and the
              # drivers of the virtio devices virtio_pci creates.
              modules: [sd_mod, ext4, vfat, nls_cp437, nls_ascii, virtio_blk]
              firmware: []
            cmdline: "console=tty0 console=ttyS0"    # the last console= becomes /dev/console
            agent:
              server: "http://10.0.2.2:8080"
            formats: [pxe, iso, usb]

            """)
    }

    @Test("the recipe parses with the recipe parser and says what it was made from")
    func parses() throws {
        let listing = try HardwareListing.parse(KernelSlice.legacyLspci)
        let made = try InventoryRecipe(profile: "legacy", listing: listing, origin: "lspci.txt", server: "http://imprint.lab:8080")
        let recipe = try Recipe.parse(yaml: made.yaml, file: "recipes/legacy.yaml")
        #expect(recipe.profile == "legacy")
        #expect(recipe.kernel == .debian(package: "linux-image-amd64"))
        #expect(recipe.pci.map(\.description) == ["8086:100e/0200", "8086:2922/0106"])
        #expect(recipe.modules == ["sd_mod", "ext4", "vfat", "nls_cp437", "nls_ascii"])
        #expect(recipe.cmdline == "console=tty0 console=ttyS0")
        #expect(recipe.agentServer == "http://imprint.lab:8080")
        #expect(recipe.formats == ["pxe", "iso", "usb"])
    }

    @Test("a listing with no controller, or a name the parser would refuse, is an error")
    func refusals() throws {
        let bridge = try HardwareListing.parse("00:00.0 Host bridge [0600]: Intel Corporation 440FX - 82441FX PMC [Natoma] [8086:1237] (rev 02)\n")
        #expect(throws: ProfileError.self) { try InventoryRecipe(profile: "p", listing: bridge, origin: "x", server: nil) }
        let listing = try HardwareListing.parse(KernelSlice.legacyLspci)
        #expect(throws: ProfileError.self) { try InventoryRecipe(profile: "a b", listing: listing, origin: "x", server: nil) }
        #expect(InventoryRecipe.profileName(forOutput: "recipes/rack3.yaml") == "rack3")
        #expect(InventoryRecipe.profileName(forOutput: "rack3.yml") == "rack3")
        #expect(InventoryRecipe.profileName(forOutput: "recipes/rack3") == nil)
        #expect(InventoryRecipe.profileName(forOutput: ".yaml") == nil)
    }

    @Test("written atomically; an existing file is refused without force, replaced with it")
    func writes() throws {
        let dir = NSTemporaryDirectory() + "imprint-recipe-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = "\(dir)/recipes/a.yaml"
        try InventoryRecipe.write("one\n", to: path, force: false)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "one\n")
        #expect(throws: ProfileError("\(path) exists: pass --force to overwrite it, or choose another --out")) {
            try InventoryRecipe.write("two\n", to: path, force: false)
        }
        try InventoryRecipe.write("three\n", to: path, force: true)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "three\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(dir)/recipes") == ["a.yaml"], "no temporary left behind")
    }

    @Test("a reported inventory takes the server of the store's discovery profile")
    func discoveryServer() throws {
        let store = NSTemporaryDirectory() + "imprint-discovery-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: store) }
        let fm = FileManager.default
        try fm.createDirectory(atPath: "\(store)/boot/lab", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: "\(store)/devices", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: "\(store)/reports/52-54-00-12-34-56", withIntermediateDirectories: true)
        let report = BuildReport(profile: "lab", imprintVersion: "test", recipe: "recipes/lab.yaml", cmdline: "console=ttyS0",
                                 kernel: .init(release: "r", source: "s", vmlinuzSize: 0), modules: [], libraries: [], agent: "a",
                                 sizes: .init(initrdCompressed: 0, initrdUncompressed: 0, agent: 0, libraries: 0, modules: 0),
                                 buildSeconds: 0, agentServer: "http://192.168.7.1:8080")
        try JSONEncoder().encode(report).write(to: URL(fileURLWithPath: "\(store)/boot/lab/build.json"))
        try IPXEScript.discovery(profile: .init(name: "lab", cmdline: "console=ttyS0"))
            .write(toFile: "\(store)/devices/default.ipxe", atomically: true, encoding: .utf8)
        #expect(InventoryRecipe.discoveryServer(forInventory: "\(store)/reports/52-54-00-12-34-56/inventory.json") == "http://192.168.7.1:8080")
        #expect(InventoryRecipe.discoveryServer(forInventory: "\(store)/elsewhere/inventory.json") == nil)
    }
}
