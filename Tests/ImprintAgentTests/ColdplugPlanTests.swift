import ImprintCore
import Testing
@testable import ImprintAgent

@Suite("Coldplug planning")
struct ColdplugPlanTests {
    let graph: ModuleGraph

    init() throws {
        graph = try ModuleGraph(modulesDep: VirtioModules.dep + """
            kernel/fs/ext4/ext4.ko: kernel/fs/jbd2/jbd2.ko
            kernel/fs/jbd2/jbd2.ko:
            kernel/crypto/crc32c_generic.ko:
            kernel/drivers/scsi/sd_mod.ko:
            kernel/drivers/scsi/virtio_scsi.ko: kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko
            kernel/drivers/crypto/crc-t10dif.ko:

            """,
            modulesAlias: VirtioModules.alias + """
            alias virtio:d00000008v* virtio_scsi
            alias scsi:t-0x00* sd_mod
            alias fs-ext4 ext4

            """,
            modulesSoftdep: "softdep ext4 pre: crc32c_generic\nsoftdep sd_mod pre: crc-t10dif\n")
    }

    func plan(_ modaliases: [String], loaded: Set<String> = []) -> [String] {
        planColdplug(modaliases: modaliases, graph: graph, loaded: loaded).map(\.name)
    }

    @Test("a bus driver after its dependencies (ties broken by name, as ImprintCore's loadOrder does)")
    func virtioPCI() {
        let loads = planColdplug(modaliases: [VirtioModules.nicModalias], graph: graph, loaded: [])
        #expect(loads.map(\.name) == ["virtio", "virtio_pci_legacy_dev", "virtio_pci_modern_dev", "virtio_ring", "virtio_pci"])
        #expect(loads.allSatisfy { $0.modalias == VirtioModules.nicModalias })
        #expect(loads.last?.path == "kernel/drivers/virtio/virtio_pci.ko")
    }

    @Test("what is loaded or already planned is skipped; devices in the order given")
    func skipsLoaded() {
        #expect(plan([VirtioModules.netModalias, "virtio:d00000002v00001AF4"], loaded: ["virtio", "virtio_ring"])
                == ["failover", "net_failover", "virtio_net", "virtio_blk"])
        #expect(plan(["virtio:d00000002v00001AF4", VirtioModules.netModalias], loaded: ["virtio", "virtio_ring"])
                == ["virtio_blk", "failover", "net_failover", "virtio_net"])
    }

    @Test("a loaded driver's dependencies are not looked at")
    func loadedDriver() {
        #expect(plan([VirtioModules.nicModalias], loaded: ["virtio_pci"]).isEmpty)
        #expect(plan([VirtioModules.nicModalias, VirtioModules.netModalias], loaded: ["virtio_pci"])
                == ["failover", "net_failover", "virtio", "virtio_ring", "virtio_net"])
    }

    @Test("loaded names match with - and _ alike")
    func dashes() {
        #expect(plan(["scsi:t-0x00"]) == ["crc_t10dif", "sd_mod"])
        #expect(plan(["scsi:t-0x00"], loaded: ["crc_t10dif"]) == ["sd_mod"])
    }

    @Test("softdep pre modules come first")
    func softdep() {
        #expect(plan(["fs-ext4"]) == ["crc32c_generic", "jbd2", "ext4"])
    }

    @Test("every module after what it needs, whatever the tie-breaking")
    func dependenciesFirst() {
        let modaliases = [VirtioModules.nicModalias, VirtioModules.netModalias, "virtio:d00000002v00001AF4",
                          "virtio:d00000008v00001AF4", "scsi:t-0x00", "fs-ext4"]
        let loads = planColdplug(modaliases: modaliases, graph: graph, loaded: []).map(\.name)
        #expect(Set(loads).count == loads.count)
        #expect(loads.count == 15)
        for (index, name) in loads.enumerated() {
            let info = graph[name]?.info
            for needed in (info?.depends ?? []) + (info?.softdepPre ?? []) {
                let at = loads.firstIndex(of: ModInfo.normalizedModuleName(needed)) ?? Int.max
                #expect(at < index, "\(needed) must come before \(name)")
            }
        }
    }

    @Test("devices no driver claims plan nothing")
    func unmatched() {
        #expect(plan(["pci:v00008086d00001237sv00000000sd00000000bc06sc00i00", "acpi:PNP0A03:"]).isEmpty)
    }
}
