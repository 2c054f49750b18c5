import ImprintCore
import Testing
@testable import ImprintBuilder

@Suite struct ModuleIndexTests {
    @Test func indexRoundTripKeepsDirectDependencies() throws {
        func module(_ name: String, _ path: String, depends: [String] = [], pre: [String] = [], aliases: [String] = [], firmware: [String] = []) -> ModuleGraph.Module {
            var info = ModInfo(name: name, modinfo: [UInt8]())
            info.depends = depends; info.softdepPre = pre; info.aliases = aliases; info.firmware = firmware
            return .init(name: name, path: path, info: info)
        }
        let modules = [
            module("virtio_net", "kernel/drivers/net/virtio_net.ko", depends: ["net_failover", "virtio"], aliases: ["virtio:d00000001v*"]),
            module("net_failover", "kernel/drivers/net/net_failover.ko", depends: ["failover"]),
            module("failover", "kernel/net/core/failover.ko"),
            module("virtio", "kernel/drivers/virtio/virtio.ko"),
            module("ext4", "kernel/fs/ext4/ext4.ko", pre: ["crypto-crc32c"], aliases: ["fs-ext4", "ext3"]),
            module("rtl8xxxu", "kernel/drivers/net/wireless/rtl8xxxu.ko", firmware: ["rtlwifi/rtl8192eu_nic.bin"]),
        ]
        let text = ModuleTree.renderIndex(modules)
        let parsed = try #require(ModuleTree.parseIndex(text))
        #expect(parsed == modules)
        let reasons = Dictionary(uniqueKeysWithValues: try ModuleGraph(parsed).closure(of: ["virtio_net"]).map { ($0.name, $0.reason) })
        #expect(reasons["failover"] == .dependency(of: "net_failover"))
        #expect(ModuleTree.parseIndex("alias x y\n") == nil, "a file that is not an index is refused")
        #expect(ModuleTree.parseIndex(ModuleTree.indexHeader + "\nonly\ttwo\n") == nil)
    }
}
