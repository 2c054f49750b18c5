import Testing

@testable import ImprintCore

/// modules.dep, modules.alias and modules.softdep: rendering, reading, and reading depmod's own.
@Suite("ModuleGraph files")
struct ModuleGraphFilesTests {
    let graph = RealisticModules.graph

    static let initrdSet = ["virtio_net", "virtio_pci", "ext4"]

    @Test func modulesDepGolden() throws {
        let names = try graph.closure(of: Self.initrdSet).map(\.name)
        let expected = """
            kernel/lib/crc16.ko:
            kernel/crypto/crc32c_generic.ko:
            kernel/arch/x86/crypto/crc32c-intel.ko:
            kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko kernel/fs/mbcache.ko kernel/fs/jbd2/jbd2.ko
            kernel/net/core/failover.ko:
            kernel/fs/jbd2/jbd2.ko:
            kernel/fs/mbcache.ko:
            kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko
            kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko
            kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko kernel/net/core/failover.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
            kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_pci_legacy_dev.ko kernel/drivers/virtio/virtio_pci_modern_dev.ko kernel/drivers/virtio/virtio_ring.ko
            kernel/drivers/virtio/virtio_pci_legacy_dev.ko:
            kernel/drivers/virtio/virtio_pci_modern_dev.ko:
            kernel/drivers/virtio/virtio_ring.ko:

            """
        #expect(graph.renderModulesDep(names) == expected)
    }

    /// depmod itself (kmod 30, run over the same Debian modules) wrote these lines.
    @Test func modulesDepLinesMatchDepmod() throws {
        let depmod = try Fixtures.text("depmod/modules.dep").split(separator: "\n").map(String.init)
        let ours = graph.renderModulesDep(graph.names).split(separator: "\n").map(String.init)
        for module in ["virtio_net", "ext4", "net_failover", "virtio", "virtio_blk", "crc16"] {
            let path = try #require(graph[module]?.path)
            let line = try #require(ours.first { $0.hasPrefix(path + ":") })
            #expect(depmod.contains(line), "depmod has no line \(line)")
        }
    }

    @Test func modulesAliasGolden() throws {
        let names = try graph.closure(of: ["virtio_net", "ext4"]).map(\.name)
        let expected = """
            alias crypto-crc32c-generic crc32c_generic
            alias crc32c-generic crc32c_generic
            alias crypto-crc32c crc32c_generic
            alias crc32c crc32c_generic
            alias crypto-crc32c-intel crc32c_intel
            alias crc32c-intel crc32c_intel
            alias crypto-crc32c crc32c_intel
            alias crc32c crc32c_intel
            alias cpu:type:x86,ven*fam*mod*:feature:*0094* crc32c_intel
            alias fs-ext4 ext4
            alias ext3 ext4
            alias fs-ext3 ext4
            alias ext2 ext4
            alias fs-ext2 ext4
            alias virtio:d00000001v* virtio_net

            """
        #expect(graph.renderModulesAlias(names) == expected)
    }

    @Test func modulesSoftdepGolden() {
        var modules = RealisticModules.modules
        modules.append(RealisticModules.module("both", "both.ko", pre: ["a", "b"], post: ["c"]))
        modules.append(RealisticModules.module("postonly", "postonly.ko", post: ["d"]))
        let graph = ModuleGraph(modules)
        let text = graph.renderModulesSoftdep(["postonly", "ext4", "both", "jbd2", "virtio_net", "ext4", "unknown"])
        #expect(text == """
            softdep both pre: a b post: c
            softdep ext4 pre: crypto-crc32c
            softdep jbd2 pre: crypto-crc32c
            softdep postonly post: d

            """)
    }

    @Test func renderingIsDeterministic() {
        let shuffled = ModuleGraph(RealisticModules.modules.reversed())
        let names = graph.names
        #expect(shuffled.renderModulesDep(names.reversed()) == graph.renderModulesDep(names))
        #expect(shuffled.renderModulesAlias(names.reversed()) == graph.renderModulesAlias(names))
        #expect(graph.renderModulesDep([]) == "")
    }

    @Test func roundTripKeepsLoadOrderAndAliases() throws {
        let names = try graph.closure(of: Self.initrdSet + ["virtio_blk", "sd_mod", "libcrc32c"]).map(\.name)
        let parsed = try ModuleGraph(
            modulesDep: graph.renderModulesDep(names),
            modulesAlias: graph.renderModulesAlias(names),
            modulesSoftdep: graph.renderModulesSoftdep(names))
        #expect(parsed.names == names)
        for name in names {
            #expect(parsed.loadOrder(name) == graph.loadOrder(name), "load order of \(name)")
            #expect(parsed[name]?.path == graph[name]?.path)
            #expect(parsed[name]?.info.aliases == graph[name]?.info.aliases)
        }
        for modalias in [
            "pci:v00001AF4d00001041sv00001AF4sd00001041bc02sc00i00", "virtio:d00000001v00001AF4",
            "virtio:d00000002v00001AF4", "scsi:t-0x00", "fs-ext4", "cpu:type:x86,ven0000fam0006mod00CF:feature:,0094",
        ] {
            #expect(parsed.modules(matchingModalias: modalias) == graph.modules(matchingModalias: modalias))
        }
        // And the files it writes back are the same files.
        #expect(parsed.renderModulesDep(names) == graph.renderModulesDep(names))
        #expect(parsed.renderModulesSoftdep(names) == graph.renderModulesSoftdep(names))
    }

    /// Random acyclic graphs with depends and softdeps, rendered and read back: the load order
    /// of every module survives.
    @Test func roundTripOnRandomGraphs() throws {
        var rng = SplitMix64(seed: 2024)
        var mismatches: [String] = []
        for round in 0..<200 {
            let count = Int(2 + rng.next() % 12)
            var modules: [ModuleGraph.Module] = []
            for index in 0..<count {
                // Edges only to lower indices keep depends acyclic; softdeps may go anywhere.
                func pick(_ bound: Int, _ most: UInt64) -> [String] {
                    guard bound > 0 else { return [] }
                    let picked = (0..<Int(rng.next() % (most + 1))).map { _ in "m\(Int(rng.next() % UInt64(bound)))" }
                    var seen: Set<String> = []
                    return picked.filter { seen.insert($0).inserted }
                }
                let depends = pick(index, 3)
                let pre = rng.next() % 4 == 0 ? pick(index, 2) : []
                let post = rng.next() % 5 == 0 ? pick(count, 1) : []
                let aliases = rng.next() % 3 == 0 ? ["dev:m\(index)*"] : []
                modules.append(RealisticModules.module(
                    "m\(index)", "kernel/r\(round)/m\(index).ko", depends: depends, pre: pre, post: post, aliases: aliases))
            }
            let graph = ModuleGraph(modules)
            let parsed = try ModuleGraph(
                modulesDep: graph.renderModulesDep(graph.names),
                modulesAlias: graph.renderModulesAlias(graph.names),
                modulesSoftdep: graph.renderModulesSoftdep(graph.names))
            for name in graph.names where parsed.loadOrder(name) != graph.loadOrder(name) {
                mismatches.append("round \(round) \(name): \(graph.loadOrder(name)) vs \(parsed.loadOrder(name))")
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
    }

    /// depmod's own files for 29 Debian 6.1 modules (comments, several softdep lines for
    /// btrfs, softdeps and dependencies outside the set).
    @Test func readsDepmodOutput() throws {
        let parsed = try ModuleGraph(
            modulesDep: Fixtures.text("depmod/modules.dep"),
            modulesAlias: Fixtures.text("depmod/modules.alias"),
            modulesSoftdep: Fixtures.text("depmod/modules.softdep"))
        #expect(parsed.names.count == 29)
        #expect(parsed.loadOrder("virtio_net") == ["failover", "net_failover", "virtio_ring", "virtio", "virtio_net"])
        #expect(parsed.loadOrder("ext4") == ["crc16", "crc32c_generic", "crc32c_intel", "jbd2", "mbcache", "ext4"])
        #expect(parsed.loadOrder("btrfs") == ["crc32c_generic", "crc32c_intel", "libcrc32c", "btrfs"])
        #expect(parsed["btrfs"]?.info.softdepPre == ["blake2b-256", "sha256", "xxhash64", "crypto-crc32c"])
        #expect(parsed.modules(matchingModalias: "pci:v00001AF4d00001041sv00001AF4sd00001041bc02sc00i00") == ["virtio_pci"])
        #expect(parsed.modules(matchingModalias: "pci:v00008086d0000100Esv00001AF4sd00001100bc02sc00i00") == ["e1000"])
        #expect(parsed.modules(matchingModalias: "pci:v00008086d00002922sv00001AF4sd00001100bc01sc06i01") == ["ahci"])
        #expect(parsed.modules(matchingModalias: "scsi:t-0x05") == ["sr_mod"])
        #expect(parsed.modules(matchingModalias: GlobTests.cpu) == ["aesni_intel", "crc32c_intel"])
    }

    struct BadFiles: Sendable, CustomTestStringConvertible {
        var label: String
        var dep: String
        var alias: String = ""
        var softdep: String = ""
        var error: ModuleGraphError
        var testDescription: String { label }
    }

    static let badFiles: [BadFiles] = [
        BadFiles(
            label: "no colon", dep: "a.ko:\n\nb.ko a.ko\n",
            error: .malformedLine(file: "modules.dep", line: 3, text: "b.ko a.ko", reason: "no ':' after the module path")),
        BadFiles(
            label: "listed twice", dep: "# comment\nx/a.ko:\ny/a.ko:\n",
            error: .malformedLine(file: "modules.dep", line: 3, text: "y/a.ko:", reason: "module 'a' is listed twice")),
        BadFiles(
            label: "dependency without a line", dep: "a.ko: b.ko\n",
            error: .missingDependency(module: "a", dependency: "b")),
        BadFiles(
            label: "alias of an unknown module", dep: "a.ko:\n", alias: "alias pci:* a\nalias usb:* b\n",
            error: .malformedLine(
                file: "modules.alias", line: 2, text: "alias usb:* b", reason: "module 'b' is not listed in modules.dep")),
        BadFiles(
            label: "alias line with four words", dep: "a.ko:\n", alias: "alias x y a\n",
            error: .malformedLine(file: "modules.alias", line: 1, text: "alias x y a", reason: "expected 'alias PATTERN MODULE'")),
        BadFiles(
            label: "softdep without a list", dep: "a.ko:\n", softdep: "softdep a\n",
            error: .malformedLine(
                file: "modules.softdep", line: 1, text: "softdep a", reason: "expected 'softdep MODULE pre: ... post: ...'")),
        BadFiles(
            label: "softdep of an unknown module", dep: "a.ko:\n", softdep: "softdep b pre: a\n",
            error: .malformedLine(
                file: "modules.softdep", line: 1, text: "softdep b pre: a", reason: "module 'b' is not listed in modules.dep")),
    ]

    @Test(arguments: badFiles)
    func rejectsMalformedFiles(_ bad: BadFiles) {
        #expect(throws: bad.error) {
            try ModuleGraph(modulesDep: bad.dep, modulesAlias: bad.alias, modulesSoftdep: bad.softdep)
        }
    }

    @Test func errorText() {
        #expect(
            ModuleGraphError.unknownModule(name: "virtio_nett", suggestions: ["virtio_net"]).description
                == "unknown kernel module 'virtio_nett'; did you mean virtio_net?")
        #expect(
            ModuleGraphError.missingDependency(module: "vfat", dependency: "fat").description
                == "kernel module 'vfat' depends on 'fat', which is not among the kernel's modules")
    }
}
