@testable import ImprintAgent

/// The qemu-virtio profile's module files, in the kernel's text formats.
enum VirtioModules {
    static let release = "6.1.0-56-amd64"

    static let dep = """
        kernel/drivers/virtio/virtio.ko:
        kernel/drivers/virtio/virtio_ring.ko: kernel/drivers/virtio/virtio.ko
        kernel/drivers/virtio/virtio_pci_modern_dev.ko:
        kernel/drivers/virtio/virtio_pci_legacy_dev.ko:
        kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_pci_modern_dev.ko kernel/drivers/virtio/virtio_pci_legacy_dev.ko kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko
        kernel/net/core/failover.ko:
        kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko
        kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko kernel/net/core/failover.ko kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko
        kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko

        """

    static let alias = """
        # Aliases extracted from modules themselves.
        alias pci:v00001AF4d*sv*sd*bc*sc*i* virtio_pci
        alias virtio:d00000001v* virtio_net
        alias virtio:d00000002v* virtio_blk

        """

    static let softdep = """
        # Soft dependencies extracted from modules themselves.

        """

    static let nicModalias = "pci:v00001AF4d00001000sv00001AF4sd00000001bc02sc00i00"
    static let netModalias = "virtio:d00000001v00001AF4"

    /// A root with the modules and one virtio NIC on the PCI bus.
    static func root() -> FakeRoot {
        let root = FakeRoot()
        root.write("lib/modules/\(release)/modules.dep", dep)
        root.write("lib/modules/\(release)/modules.alias", alias)
        root.write("lib/modules/\(release)/modules.softdep", softdep)
        root.write("proc/sys/kernel/osrelease", release + "\n")
        root.write("sys/devices/pci0000:00/0000:00:03.0/modalias", nicModalias + "\n")
        // sysfs links everywhere; the scan must not follow them.
        root.symlink("sys/devices/pci0000:00/0000:00:03.0/subsystem", to: "../../../bus/pci")
        root.write("sys/bus/pci/devices/modalias", "pci:v00008086d00001234sv*\n")
        root.makeDirectory("sys/module/crc32c_generic")
        return root
    }

    /// A loader that makes virtio_pci create its virtio device, as the real one does.
    static func loader(_ root: FakeRoot) -> RecordingLoader {
        let loader = RecordingLoader()
        loader.onLoad = { name in
            if name == "virtio_pci" {
                root.write("sys/devices/pci0000:00/0000:00:03.0/virtio0/modalias", netModalias + "\n")
            }
        }
        return loader
    }
}
