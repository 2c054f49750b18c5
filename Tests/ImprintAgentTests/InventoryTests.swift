import Testing
@testable import ImprintAgent

@Suite("Inventory and banner")
struct InventoryTests {
    static func machine() -> FakeRoot {
        let root = FakeRoot()
        root.makeDirectory("sys/devices/virtual/net/lo")
        root.symlink("sys/class/net/lo", to: "../../devices/virtual/net/lo")
        root.write("sys/devices/pci0000:00/0000:00:03.0/virtio0/net/eth0/address", "52:54:00:12:34:56\n")
        root.write("sys/devices/pci0000:00/0000:00:03.0/virtio0/net/eth0/operstate", "up\n")
        root.makeDirectory("sys/bus/virtio/drivers/virtio_net")
        root.symlink("sys/devices/pci0000:00/0000:00:03.0/virtio0/driver", to: "../../../../bus/virtio/drivers/virtio_net")
        root.symlink("sys/devices/pci0000:00/0000:00:03.0/virtio0/net/eth0/device", to: "../../../virtio0")
        root.symlink("sys/class/net/eth0", to: "../../devices/pci0000:00/0000:00:03.0/virtio0/net/eth0")
        root.write("sys/class/net/eth1/address", "52:54:00:AA:BB:CC\n")
        root.write("sys/class/net/eth1/operstate", "lowerlayerdown\n")
        root.write("sys/class/net/sit0/address", "00:00:00:00\n")
        root.write("sys/block/vda/size", "131072\n")
        root.write("sys/block/vda/removable", "0\n")
        root.write("sys/block/sda/size", "7864320\n")
        root.write("sys/block/sda/removable", "1\n")
        root.write("sys/block/loop0/size", "2048\n")
        root.write("sys/block/zram0/size", "2048\n")
        root.write("sys/block/ram0/size", "8192\n")
        root.write("sys/block/sr0/size", "0\n")
        root.write("sys/block/sr1/size", "1300000\n")
        root.write("sys/block/sr1/removable", "1\n")
        return root
    }

    @Test("NICs but lo, with driver and link; disks but loop, ram, zram and empty optical drives")
    func gathers() {
        let root = Self.machine()
        let inventory = Inventory.gather(from: root.fs)
        #expect(inventory.interfaces == [
            NetworkInterface(name: "eth0", mac: "52:54:00:12:34:56", driver: "virtio_net", link: .up),
            NetworkInterface(name: "eth1", mac: "52:54:00:AA:BB:CC", driver: nil, link: .down),
            NetworkInterface(name: "sit0", mac: "00:00:00:00", driver: nil, link: .unknown),
        ])
        #expect(inventory.disks == [
            Disk(name: "sda", bytes: 4_026_531_840, removable: true),
            Disk(name: "sr1", bytes: 665_600_000, removable: true),
            Disk(name: "vda", bytes: 67_108_864, removable: false),
        ])
    }

    @Test("sector counts", arguments: [
        ("131072", UInt64(67_108_864)), ("0", 0), ("garbage", 0), ("-1", 0),
        ("36028797018963968", UInt64.max),  // 2^55 sectors overflow: clamp
    ] as [(String, UInt64)])
    func sectors(text: String, bytes: UInt64) {
        #expect(Disk.bytes(fromSectors: text) == bytes)
    }

    @Test("banner lines, whole")
    func banner() {
        let root = Self.machine()
        let banner = Banner(agentVersion: "0.1.0", kernelRelease: "6.1.0-56-amd64", profile: "qemu-virtio",
                            libraries: testLibraries, inventory: Inventory.gather(from: root.fs),
                            identity: .present(Identity(mac: "52:54:00:12:34:56", hostname: "lab-01")))
        #expect(banner.lines == [
            "imprint-agent 0.1.0 kernel 6.1.0-56-amd64 profile qemu-virtio",
            "libs curl 7.88.1 openssl 3.0.19 libarchive 3.6.2",
            "nic eth0 mac 52:54:00:12:34:56 driver virtio_net link up",
            "nic eth1 mac 52:54:00:AA:BB:CC driver - link down",
            "nic sit0 mac 00:00:00:00 driver - link unknown",
            "disk sda size 4026531840 (3.8 GiB) removable",
            "disk sr1 size 665600000 (634.8 MiB) removable",
            "disk vda size 67108864 (64.0 MiB)",
            "identity mac 52:54:00:12:34:56 hostname lab-01",
        ])
    }

    @Test("identity lines", arguments: [
        (IdentityStatus.absent, "identity none"),
        (.present(Identity(mac: "52:54:00:12:34:56")), "identity mac 52:54:00:12:34:56 hostname -"),
        (.invalid("schema version 2 not understood"), "identity invalid: schema version 2 not understood"),
    ])
    func identity(status: IdentityStatus, line: String) {
        let banner = Banner(agentVersion: "0.1.0", kernelRelease: "k", profile: nil, libraries: testLibraries,
                            inventory: Inventory(), identity: status)
        #expect(banner.lines == ["imprint-agent 0.1.0 kernel k profile -",
                                 "libs curl 7.88.1 openssl 3.0.19 libarchive 3.6.2", line])
    }

    @Test("the linked libraries answer")
    func libraries() {
        let linked = LibraryVersions.linked()
        #expect(linked.curl.first?.isNumber == true)
        #expect(linked.openssl.hasPrefix("3."))
        #expect(linked.libarchive.first?.isNumber == true)
    }
}
