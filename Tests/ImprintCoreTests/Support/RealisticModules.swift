@testable import ImprintCore

/// A slice of Debian 6.1's module tree, with the `depends=`, `softdep=` and aliases their
/// `.modinfo` sections really carry.
enum RealisticModules {
    static func module(
        _ name: String, _ path: String, depends: [String] = [], pre: [String] = [], post: [String] = [],
        aliases: [String] = []
    ) -> ModuleGraph.Module {
        ModuleGraph.Module(
            name: name, path: path,
            info: ModInfo(name: name, depends: depends, softdepPre: pre, softdepPost: post, aliases: aliases))
    }

    static let modules: [ModuleGraph.Module] = [
        module("virtio_ring", "kernel/drivers/virtio/virtio_ring.ko"),
        module("virtio", "kernel/drivers/virtio/virtio.ko", depends: ["virtio_ring"]),
        module("virtio_pci_modern_dev", "kernel/drivers/virtio/virtio_pci_modern_dev.ko"),
        module("virtio_pci_legacy_dev", "kernel/drivers/virtio/virtio_pci_legacy_dev.ko"),
        module(
            "virtio_pci", "kernel/drivers/virtio/virtio_pci.ko",
            depends: ["virtio_ring", "virtio_pci_modern_dev", "virtio_pci_legacy_dev", "virtio"],
            aliases: ["pci:v00001AF4d*sv*sd*bc*sc*i*"]),
        module("failover", "kernel/net/core/failover.ko"),
        module("net_failover", "kernel/drivers/net/net_failover.ko", depends: ["failover"]),
        module(
            "virtio_net", "kernel/drivers/net/virtio_net.ko", depends: ["virtio_ring", "virtio", "net_failover"],
            aliases: ["virtio:d00000001v*"]),
        module(
            "virtio_blk", "kernel/drivers/block/virtio_blk.ko", depends: ["virtio", "virtio_ring"],
            aliases: ["virtio:d00000002v*"]),
        module("crc16", "kernel/lib/crc16.ko"),
        module("mbcache", "kernel/fs/mbcache.ko"),
        module("jbd2", "kernel/fs/jbd2/jbd2.ko", pre: ["crypto-crc32c"]),
        module(
            "ext4", "kernel/fs/ext4/ext4.ko", depends: ["jbd2", "mbcache", "crc16"], pre: ["crypto-crc32c"],
            aliases: ["fs-ext4", "ext3", "fs-ext3", "ext2", "fs-ext2"]),
        module(
            "crc32c_generic", "kernel/crypto/crc32c_generic.ko",
            aliases: ["crypto-crc32c-generic", "crc32c-generic", "crypto-crc32c", "crc32c"]),
        module(
            "crc32c_intel", "kernel/arch/x86/crypto/crc32c-intel.ko",
            aliases: [
                "crypto-crc32c-intel", "crc32c-intel", "crypto-crc32c", "crc32c",
                "cpu:type:x86,ven*fam*mod*:feature:*0094*",
            ]),
        module("libcrc32c", "kernel/lib/libcrc32c.ko", pre: ["crc32c"]),
        module(
            "sd_mod", "kernel/drivers/scsi/sd_mod.ko",
            aliases: ["scsi:t-0x14*", "scsi:t-0x0e*", "scsi:t-0x07*", "scsi:t-0x00*", "block-major-8-*"]),
        module("r8169", "kernel/drivers/net/ethernet/realtek/r8169.ko", pre: ["realtek"]),
    ]

    static var graph: ModuleGraph { ModuleGraph(modules) }
}
