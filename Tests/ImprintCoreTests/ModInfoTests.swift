import Testing

@testable import ImprintCore

@Suite("ModInfo")
struct ModInfoTests {
    static let vermagic = "6.1.0-56-amd64 SMP preempt mod_unload modversions "

    /// The `.modinfo` section of Debian 6.1's fs/ext4/ext4.ko, byte for byte
    /// (`objcopy -O binary --only-section=.modinfo`): one NUL-terminated string per line.
    static let ext4: [UInt8] = Array(
        ("softdep=pre: crypto-crc32c\0"  // ext4 wants crc32c loaded first, by alias
            + "license=GPL\0"
            + "description=Fourth Extended Filesystem\0"
            + "author=Remy Card, Stephen Tweedie, Andrew Morton, Andreas Dilger, Theodore Ts'o and others\0"
            + "alias=fs-ext4\0" + "alias=ext3\0" + "alias=fs-ext3\0" + "alias=ext2\0" + "alias=fs-ext2\0"
            + "depends=jbd2,mbcache,crc16\0"
            + "retpoline=Y\0" + "intree=Y\0"
            + "name=ext4\0"
            + "vermagic=\(vermagic)\0").utf8)

    /// The `.modinfo` section of Debian 6.1's drivers/net/virtio_net.ko.
    static let virtioNet: [UInt8] = Array(
        ("license=GPL\0"
            + "description=Virtio network driver\0"
            + "parmtype=napi_tx:bool\0" + "parmtype=gso:bool\0" + "parmtype=csum:bool\0" + "parmtype=napi_weight:int\0"
            + "alias=virtio:d00000001v*\0"
            + "depends=virtio_ring,virtio,net_failover\0"
            + "retpoline=Y\0" + "intree=Y\0"
            + "name=virtio_net\0"
            + "vermagic=\(vermagic)\0").utf8)

    @Test func vectorsAreTheRealSections() throws {
        #expect(Self.ext4 == (try Fixtures.bytes("modinfo/ext4.modinfo")))
        #expect(Self.virtioNet == (try Fixtures.bytes("modinfo/virtio_net.modinfo")))
    }

    @Test func ext4() {
        let info = ModInfo(name: "ignored", modinfo: Self.ext4)
        #expect(info.name == "ext4")
        #expect(info.depends == ["jbd2", "mbcache", "crc16"])
        #expect(info.softdepPre == ["crypto-crc32c"])
        #expect(info.softdepPost == [])
        #expect(info.aliases == ["fs-ext4", "ext3", "fs-ext3", "ext2", "fs-ext2"])
        #expect(info.firmware == [])
        #expect(info.vermagic == Self.vermagic)
    }

    @Test func virtioNet() {
        let info = ModInfo(name: "virtio_net", modinfo: Self.virtioNet)
        #expect(info == ModInfo(
            name: "virtio_net", depends: ["virtio_ring", "virtio", "net_failover"],
            aliases: ["virtio:d00000001v*"], vermagic: Self.vermagic))
    }

    @Test func emptyDependsIsEmpty() throws {
        let info = ModInfo(name: "failover", modinfo: try Fixtures.bytes("modinfo/failover.modinfo"))
        #expect(info.depends == [])
        #expect(info.name == "failover")
    }

    /// btrfs has four `softdep=` entries; all of them count, in order.
    @Test func severalSoftdeps() throws {
        let info = ModInfo(name: "btrfs", modinfo: try Fixtures.bytes("modinfo/btrfs.modinfo"))
        #expect(info.softdepPre == ["blake2b-256", "sha256", "xxhash64", "crypto-crc32c"])
        #expect(info.depends == ["zstd_compress", "raid6_pq", "xor", "libcrc32c"])
    }

    @Test func firmware() throws {
        let info = ModInfo(name: "r8169", modinfo: try Fixtures.bytes("modinfo/r8169.modinfo"))
        #expect(info.firmware.count == 20)
        #expect(info.firmware.first == "rtl_nic/rtl8125b-2.fw")
        #expect(info.softdepPre == ["realtek"])
    }

    @Test func nameKeyOverridesAndDashesNormalise() throws {
        let info = ModInfo(name: "crc32c-intel", modinfo: try Fixtures.bytes("modinfo/crc32c-intel.modinfo"))
        #expect(info.name == "crc32c_intel")
        #expect(info.aliases.contains("crypto-crc32c"))
        #expect(info.aliases.contains("cpu:type:x86,ven*fam*mod*:feature:*0094*"))
    }

    @Test func preAndPostInOneEntry() {
        let bytes = Array("softdep=pre: a b post: c\0softdep=post: d\0\0\0padding-without-equals\0".utf8)
        let info = ModInfo(name: "m", modinfo: bytes)
        #expect(info.softdepPre == ["a", "b"])
        #expect(info.softdepPost == ["c", "d"])
        #expect(info.name == "m")  // no name= key: the given name stands
    }

    /// The collection may be a slice with non-zero indices, as ELFFile.section(named:) returns.
    @Test func parsesASlice() {
        let bytes = Array("junk".utf8) + Self.virtioNet
        let info = ModInfo(name: "x", modinfo: bytes[4...])
        #expect(info.name == "virtio_net")
    }

    @Test(arguments: [
        ("pre: crc32c", ["crc32c"], [String]()),
        ("pre: a\tb  post:  c", ["a", "b"], ["c"]),
        ("post: x pre: y", ["y"], ["x"]),
        ("stray pre: z", ["z"], []),
        ("", [], []),
    ])
    func softdepValues(_ value: String, _ pre: [String], _ post: [String]) {
        let parsed = ModInfo.parseSoftdep(value)
        #expect(parsed.pre == pre)
        #expect(parsed.post == post)
    }

    @Test(arguments: [
        ("kernel/drivers/net/virtio_net.ko", "virtio_net"),
        ("kernel/arch/x86/crypto/crc32c-intel.ko", "crc32c_intel"),
        ("kernel/fs/ext4/ext4.ko.xz", "ext4"),
        ("kernel/fs/ext4/ext4.ko.zst", "ext4"),
        ("/lib/modules/6.1.0-56-amd64/kernel/net/core/failover.ko.gz", "failover"),
        ("virtio_blk.ko", "virtio_blk"),
        ("kvm-intel", "kvm_intel"),
    ])
    func moduleNames(_ path: String, _ name: String) {
        #expect(ModInfo.moduleName(fromPath: path) == name)
    }
}
