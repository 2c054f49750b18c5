import ImprintCore
import Testing
@testable import ImprintAgent

/// Network and storage controllers left without a driver after coldplug: on the console and in
/// inventory.json (docs/agent.md).
@Suite("Unbound controllers")
struct UnboundTests {
    /// A q35 machine as sysfs shows it after coldplug with the qemu-virtio profile: the virtio NIC is
    /// bound, the e1000e NIC and the AHCI controller are not, nor are the host bridge and ISA bridge
    /// (which are no controllers a deploy needs).
    static func machine(_ root: FakeRoot = FakeRoot()) -> FakeRoot {
        func function(_ slot: String, vendor: String, device: String, class deviceClass: String,
                      subsystem: (String, String), driver: String?) {
            let base = "sys/devices/pci0000:00/\(slot)"
            root.write("\(base)/vendor", "\(vendor)\n")
            root.write("\(base)/device", "\(device)\n")
            root.write("\(base)/class", "\(deviceClass)\n")
            root.write("\(base)/subsystem_vendor", "\(subsystem.0)\n")
            root.write("\(base)/subsystem_device", "\(subsystem.1)\n")
            if let driver {
                root.makeDirectory("sys/bus/pci/drivers/\(driver)")
                root.symlink("\(base)/driver", to: "../../../bus/pci/drivers/\(driver)")
            }
            // As in sysfs: /sys/bus/pci/devices holds links to the functions.
            root.symlink("sys/bus/pci/devices/\(slot)", to: "../../../devices/pci0000:00/\(slot)")
        }
        function("0000:00:00.0", vendor: "0x8086", device: "0x29c0", class: "0x060000", subsystem: ("0x1af4", "0x1100"), driver: nil)
        function("0000:00:02.0", vendor: "0x8086", device: "0x10d3", class: "0x020000", subsystem: ("0x8086", "0x0000"), driver: nil)
        function("0000:00:03.0", vendor: "0x1af4", device: "0x1000", class: "0x020000", subsystem: ("0x1af4", "0x0001"), driver: "virtio-pci")
        function("0000:00:1f.0", vendor: "0x8086", device: "0x2918", class: "0x060100", subsystem: ("0x1af4", "0x1100"), driver: "lpc_ich")
        function("0000:00:1f.2", vendor: "0x8086", device: "0x2922", class: "0x010601", subsystem: ("0x1af4", "0x1100"), driver: nil)
        return root
    }

    @Test("gather reads the subsystem IDs and the bound driver's name")
    func gathers() {
        let root = Self.machine()
        let devices = PCIDevice.gather(from: root.fs)
        #expect(devices.map(\.slot) == ["0000:00:00.0", "0000:00:02.0", "0000:00:03.0", "0000:00:1f.0", "0000:00:1f.2"])
        #expect(devices[2] == PCIDevice(slot: "0000:00:03.0", id: "1af4:1000", deviceClass: "0x020000",
                                        subsystem: "1af4:0001", driver: "virtio-pci"))
        #expect(devices[1].driver == nil)
        #expect(devices[1].subsystem == "8086:0000")
    }

    @Test("the unbound list: network and storage controllers with no driver, in slot order")
    func unbound() {
        let root = Self.machine()  // kept alive: FakeRoot removes its tree when released
        let devices = PCIDevice.gather(from: root.fs)
        #expect(PCIDevice.unbound(devices).map(\.slot) == ["0000:00:02.0", "0000:00:1f.2"])
        #expect(PCIDevice.unbound([]).isEmpty)
        #expect(PCIDevice.unbound([PCIDevice(slot: "s", id: "1b36:0010", deviceClass: "0x010802")]).count == 1)
        #expect(PCIDevice.unbound([PCIDevice(slot: "s", id: "1b36:0010", deviceClass: "0x010802", driver: "nvme")]).isEmpty)
        #expect(PCIDevice.unbound([PCIDevice(slot: "s", id: "8086:2918", deviceClass: "-")]).isEmpty, "an unreadable class is no controller")
    }

    @Test("coldplug logs each unbound controller and keeps it in its report")
    func coldplugLogs() throws {
        let root = Self.machine(VirtioModules.root())
        let sink = MemorySink()
        let context = makeContext(root, loader: VirtioModules.loader(root), sink: sink)
        try Agent(steps: [FindKernelRelease(), Coldplug()]).run(context)
        #expect(context.coldplug?.unbound.map(\.slot) == ["0000:00:02.0", "0000:00:1f.2"])
        #expect(Array(sink.lines.suffix(2)) == [
            "imprint: warning: coldplug: no driver for 0000:00:02.0 8086:10d3 (class 020000): the profile lacks its module — imprint profile check",
            "imprint: warning: coldplug: no driver for 0000:00:1f.2 8086:2922 (class 010601): the profile lacks its module — imprint profile check",
        ])
    }

    @Test("a dry run binds nothing, so it reports nothing unbound")
    func dryRun() throws {
        let root = Self.machine(VirtioModules.root())
        let sink = MemorySink()
        let context = makeContext(root, loader: DryRunModuleLoader(), sink: sink)
        try Agent(steps: [FindKernelRelease(), Coldplug()]).run(context)
        #expect(context.coldplug?.unbound == [])
        #expect(!sink.lines.contains { $0.contains("no driver for") })
    }

    @Test("inventory.json lists them under unbound, and Core reads the pci list back with driver and subsystem")
    func inventory() throws {
        let root = Self.machine()
        let devices = PCIDevice.gather(from: root.fs)
        let json = BootReports.inventory(mac: try MACAddress(parsing: "52:54:00:12:34:56"), inventory: Inventory(),
                                         dmi: DMIInfo(), pci: devices)
        #expect(json["unbound"]?.serialized() == """
            [{"slot":"0000:00:02.0","id":"8086:10d3","class":"0x020000"},{"slot":"0000:00:1f.2","id":"8086:2922","class":"0x010601"}]
            """)
        #expect(json["pci"]?[2]?.serialized() == """
            {"slot":"0000:00:03.0","id":"1af4:1000","class":"0x020000","subsystem":"1af4:0001","driver":"virtio-pci"}
            """)
        let listing = try HardwareListing.parse(json.serialized(pretty: true))
        #expect(listing.source == .inventory(mac: "52:54:00:12:34:56"))
        #expect(listing.controllers.map(\.slot) == ["0000:00:02.0", "0000:00:03.0", "0000:00:1f.2"])
        #expect(listing.controllers[1].driver == "virtio-pci")
        #expect(listing.controllers[1].id == PCIID(vendor: 0x1af4, device: 0x1000, subvendor: 0x1af4, subdevice: 0x0001,
                                                   baseClass: 0x02, subclass: 0x00, progIf: 0x00))
    }
}
