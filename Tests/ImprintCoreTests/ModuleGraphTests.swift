import Testing

@testable import ImprintCore

@Suite("ModuleGraph")
struct ModuleGraphTests {
    let graph = RealisticModules.graph

    @Test func namesAndLookup() throws {
        #expect(graph.names.first == "crc16")
        #expect(graph.names == graph.names.sorted())
        #expect(graph.names.count == 18)
        #expect(graph["virtio_net"]?.path == "kernel/drivers/net/virtio_net.ko")
        #expect(graph["crc32c-intel"]?.name == "crc32c_intel")  // dashes and underscores alike
        #expect(graph["virtio_nett"] == nil)
    }

    @Test func closureWithReasons() throws {
        let closure = try graph.closure(of: ["virtio_net", "ext4", "virtio_pci"])
        #expect(closure.map(\.name) == [
            "crc16", "crc32c_generic", "crc32c_intel", "ext4", "failover", "jbd2", "mbcache", "net_failover",
            "virtio", "virtio_net", "virtio_pci", "virtio_pci_legacy_dev", "virtio_pci_modern_dev", "virtio_ring",
        ])
        let reasons = Dictionary(uniqueKeysWithValues: closure.map { ($0.name, $0.reason) })
        #expect(reasons["virtio_net"] == .named)
        #expect(reasons["ext4"] == .named)
        #expect(reasons["virtio_pci"] == .named)
        #expect(reasons["net_failover"] == .dependency(of: "virtio_net"))
        #expect(reasons["failover"] == .dependency(of: "net_failover"))
        #expect(reasons["virtio_ring"] == .dependency(of: "virtio_net"))  // first to list it
        #expect(reasons["virtio_pci_modern_dev"] == .dependency(of: "virtio_pci"))
        #expect(reasons["jbd2"] == .dependency(of: "ext4"))
        // ext4's softdep names an alias, crypto-crc32c: both modules that carry it come in.
        #expect(reasons["crc32c_generic"] == .softdep(of: "ext4"))
        #expect(reasons["crc32c_intel"] == .softdep(of: "ext4"))
    }

    @Test func namedWinsOverDependency() throws {
        let closure = try graph.closure(of: ["virtio_net", "failover"])
        let reasons = Dictionary(uniqueKeysWithValues: closure.map { ($0.name, $0.reason) })
        #expect(reasons["failover"] == .named)
        #expect(reasons["net_failover"] == .dependency(of: "virtio_net"))
    }

    @Test func closureAcceptsDashedNames() throws {
        let closure = try graph.closure(of: ["crc32c-intel"])
        #expect(closure.map(\.name) == ["crc32c_intel"])
        #expect(closure.first?.reason == .named)
    }

    @Test func missingSoftdepIsIgnored() throws {
        // r8169 asks for "realtek" (the PHY driver), which this graph does not have.
        let closure = try graph.closure(of: ["r8169"])
        #expect(closure.map(\.name) == ["r8169"])
    }

    @Test(arguments: [
        ("virtio_nett", ["virtio_net"]),
        ("virtio-nett", ["virtio_net"]),
        ("ext3", ["ext4"]),  // an alias of ext4
        ("crc32c", ["crc32c_generic", "crc32c_intel"]),  // aliases; libcrc32c is 3 edits away
        ("sd-mode", ["sd_mod"]),
        ("completely_different_name", []),
    ])
    func unknownNameSuggests(_ name: String, _ suggestions: [String]) {
        #expect(throws: ModuleGraphError.unknownModule(name: name, suggestions: suggestions)) {
            try graph.closure(of: ["virtio_net", name])
        }
    }

    @Test func suggestionsAreAtMostThree() {
        let many = ModuleGraph(["aa1", "aa2", "aa3", "aa4"].map {
            ModuleGraph.Module(name: $0, path: "\($0).ko", info: ModInfo(name: $0))
        })
        #expect(many.suggestions(for: "aa") == ["aa1", "aa2", "aa3"])
    }

    @Test func missingDependencyThrows() {
        var modules = RealisticModules.modules
        modules.append(RealisticModules.module("vfat", "kernel/fs/fat/vfat.ko", depends: ["fat"]))
        let graph = ModuleGraph(modules)
        #expect(throws: ModuleGraphError.missingDependency(module: "vfat", dependency: "fat")) {
            try graph.closure(of: ["ext4", "vfat"])
        }
        #expect(graph.loadOrder("vfat") == ["vfat"])  // nothing to load for the missing one
    }

    @Test func loadOrders() {
        // Each module after what it needs; among modules free to go, the alphabetically first.
        #expect(graph.loadOrder("virtio_net") == ["failover", "net_failover", "virtio_ring", "virtio", "virtio_net"])
        #expect(graph.loadOrder("virtio_pci") == [
            "virtio_pci_legacy_dev", "virtio_pci_modern_dev", "virtio_ring", "virtio", "virtio_pci",
        ])
        // crypto-crc32c, ext4's and jbd2's softdep, is an alias of both crc32c modules.
        #expect(graph.loadOrder("ext4") == ["crc16", "crc32c_generic", "crc32c_intel", "jbd2", "mbcache", "ext4"])
        #expect(graph.loadOrder("failover") == ["failover"])
        #expect(graph.loadOrder("virtio-net") == graph.loadOrder("virtio_net"))
        #expect(graph.loadOrder("no_such_module") == [])
        #expect(graph.loadOrder(of: ["virtio_net", "virtio_blk", "nope"]) == [
            "failover", "net_failover", "virtio_ring", "virtio", "virtio_blk", "virtio_net",
        ])
    }

    /// Checks every ordering rule over `order`: depends and softdep-pre modules before a
    /// module, softdep-post modules after it; no duplicates.
    static func violations(_ order: [String], in graph: ModuleGraph) -> [String] {
        var problems: [String] = []
        if Set(order).count != order.count { problems.append("duplicates in \(order)") }
        let position = Dictionary(order.enumerated().map { ($0.element, $0.offset) }, uniquingKeysWith: min)
        for module in order {
            guard let found = graph[module], let at = position[module] else { continue }
            for dependency in found.info.depends {
                if (position[dependency] ?? Int.max) > at { problems.append("\(dependency) after \(module)") }
            }
            for pre in found.info.softdepPre.flatMap({ graph.resolve(softdep: $0, of: found).map(\.name) }) {
                if (position[pre] ?? Int.max) > at { problems.append("pre \(pre) after \(module)") }
            }
            for post in found.info.softdepPost.flatMap({ graph.resolve(softdep: $0, of: found).map(\.name) }) {
                if (position[post] ?? Int.min) < at { problems.append("post \(post) before \(module)") }
            }
        }
        return problems
    }

    @Test func loadOrderRespectsEveryEdge() {
        for name in graph.names {
            let order = graph.loadOrder(name)
            #expect(order.last == name)  // no post softdeps here: all the rest is needed first
            #expect(Self.violations(order, in: graph) == [])
        }
        #expect(Self.violations(graph.loadOrder(of: graph.names), in: graph) == [])
    }

    /// Names chosen so that alphabetical order contradicts every rule: only the edges put
    /// them right.
    @Test func softdepsOrderAgainstTheAlphabet() {
        let graph = ModuleGraph([
            RealisticModules.module("m_main", "m_main.ko", depends: ["c_dep"], pre: ["zz_first"], post: ["a_after"]),
            RealisticModules.module("c_dep", "c_dep.ko"),
            RealisticModules.module("zz_first", "zz_first.ko", post: ["b_late"]),
            RealisticModules.module("a_after", "a_after.ko", depends: ["x_afterdep"]),
            RealisticModules.module("x_afterdep", "x_afterdep.ko"),
            RealisticModules.module("b_late", "b_late.ko"),
        ])
        let order = graph.loadOrder("m_main")
        #expect(order == ["c_dep", "x_afterdep", "zz_first", "b_late", "m_main", "a_after"])
        #expect(Self.violations(order, in: graph) == [])
    }

    @Test func cyclesTerminate() throws {
        let graph = ModuleGraph([
            RealisticModules.module("a", "a.ko", depends: ["b"]),
            RealisticModules.module("b", "b.ko", depends: ["c"], post: ["a"]),
            RealisticModules.module("c", "c.ko", depends: ["a"], pre: ["b"]),
            RealisticModules.module("self", "self.ko", depends: ["self"], pre: ["self"]),
        ])
        let order = graph.loadOrder("a")
        #expect(Set(order) == ["a", "b", "c"])
        #expect(order.count == 3)
        #expect(try graph.closure(of: ["a"]).map(\.name) == ["a", "b", "c"])
        #expect(graph.loadOrder("self") == ["self"])
        #expect(graph.renderModulesDep(["a", "b", "c"]) == "a.ko: b.ko c.ko\nb.ko: c.ko a.ko\nc.ko: a.ko b.ko\n")
    }

    @Test func modaliasMatching() {
        #expect(graph.modules(matchingModalias: "pci:v00001AF4d00001041sv00001AF4sd00001041bc02sc00i00") == ["virtio_pci"])
        #expect(graph.modules(matchingModalias: "virtio:d00000001v00001AF4") == ["virtio_net"])
        #expect(graph.modules(matchingModalias: "virtio:d00000005v00001AF4") == [])  // balloon: no driver here
        #expect(graph.modules(matchingModalias: "scsi:t-0x00") == ["sd_mod"])
        #expect(graph.modules(matchingModalias: "crc32c") == ["crc32c_generic", "crc32c_intel"])
        #expect(graph.modules(matchingModalias: "cpu:type:x86,ven0000fam0006mod00CF:feature:,0000,0094,0099") == ["crc32c_intel"])
    }

    @Test func modaliasMatchIsDeduplicated() {
        let graph = ModuleGraph([RealisticModules.module("m", "m.ko", aliases: ["pci:*", "pci:v*", "usb:*"])])
        #expect(graph.modules(matchingModalias: "pci:v00001234") == ["m"])
    }
}
