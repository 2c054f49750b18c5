// The harness half of this file is also the libFuzzer target Fuzz/ModInfoParse.swift: scripts/fuzz
// compiles it with -D IMPRINT_FUZZ beside Sources/ImprintCore, which leaves out the imports and the
// tests. One copy of the harness, so the replay runs exactly what the fuzzer ran.
#if !IMPRINT_FUZZ
import Foundation
import ImprintTestSupport
import Testing

@testable import ImprintCore
#endif

/// What the `.modinfo` fuzz target runs on each input: the input is the `.modinfo` sections of a
/// few modules, separated by 0xFF bytes (never in UTF-8 text), read with `ModInfo` as the builder
/// reads a kernel's modules; the graph of them; its closure and load order; and the three files
/// the builder writes into an initrd (`modules.dep`, `.alias`, `.softdep`), read back with the
/// agent's parser, which must give the same load order and the same module for every modalias.
enum ModInfoFuzz {
    static func run(_ bytes: [UInt8]) {
        let blobs = bytes.split(separator: 0xFF, omittingEmptySubsequences: false).prefix(16)
        var modules: [ModuleGraph.Module] = []
        for (index, blob) in blobs.enumerated() {
            let info = ModInfo(name: "m\(index)", modinfo: blob)
            precondition(!info.name.isEmpty, "a module without a name")
            precondition(!info.depends.contains { $0.isEmpty || $0.contains(",") }, "depends= split wrongly")
            precondition(!(info.softdepPre + info.softdepPost).contains { $0.isEmpty || $0.contains(" ") || $0.contains("\t") || $0 == "pre:" || $0 == "post:" },
                         "softdep= split wrongly")
            modules.append(ModuleGraph.Module(name: info.name, path: "kernel/\(info.name).ko", info: info))
        }
        let graph = ModuleGraph(modules)
        let names = graph.names
        let order = graph.loadOrder(of: names)
        precondition(Set(order).count == order.count, "a module loads twice")
        precondition(Set(order) == Set(names), "the load order of every module is not every module")
        let queries = modules.flatMap { $0.info.aliases + $0.info.softdepPre + $0.info.softdepPost }
            + ["virtio:d00000001v00001AF4", "pci:v00008086d0000100Esv00001AF4sd00001100bc02sc00i00", "fs-ext4", "crypto-crc32c", ""]
        for query in queries.prefix(64) { _ = graph.modules(matchingModalias: query) }

        // What `imprint build` writes for the modules a profile names, read back as the agent does.
        guard let closure = try? graph.closure(of: names) else { return }
        let selected = closure.map(\.name)
        precondition(Set(selected) == Set(names), "the closure of every module is not every module")
        let dep = graph.renderModulesDep(selected)
        let alias = graph.renderModulesAlias(selected)
        let softdep = graph.renderModulesSoftdep(selected)
        // The files are words on lines: a name, alias or softdep that is not one word (or that the
        // path would misread) cannot survive them, and `imprint build` takes such modules only from a
        // kernel, not from an attacker. Everything else must come back as it went.
        let words = modules.flatMap { [$0.name] + $0.info.aliases + $0.info.softdepPre + $0.info.softdepPost }
        guard words.allSatisfy(isWord), modules.allSatisfy({ !$0.name.contains(":") && !$0.name.contains("/") }) else { return }
        let read: ModuleGraph
        do {
            read = try ModuleGraph(modulesDep: dep, modulesAlias: alias, modulesSoftdep: softdep)
        } catch {
            preconditionFailure("the written module files do not read back: \(error)\n\(dep)\(alias)\(softdep)")
        }
        let normalized = names.map { ModInfo.normalizedModuleName($0) }
        precondition(read.names == normalized.sorted(), "the read-back graph has other modules")
        for query in queries.prefix(64) {
            precondition(read.modules(matchingModalias: query) == graph.modules(matchingModalias: query).map { ModInfo.normalizedModuleName($0) }.sorted(),
                         "modalias \(query) matches other modules after the round trip")
        }
        // The load order is the same whenever the original has no cycle to break (a cycle is broken
        // by name, and modules.dep's transitive lists add edges inside it) and no name has a dash
        // (ties go by name, and the files turn dashes to underscores).
        if isTopological(order, graph) && !names.contains(where: { $0.contains("-") }) {
            precondition(read.loadOrder(of: read.names) == order.map { ModInfo.normalizedModuleName($0) },
                         "the read-back graph loads in another order")
        }
    }

    static func isWord(_ text: String) -> Bool {
        !text.isEmpty && !text.contains(where: \.isWhitespace) && !text.hasPrefix("#") && text != "pre:" && text != "post:"
    }

    /// Whether `order` puts every module after its dependencies and softdep-pre modules, and before
    /// its softdep-post modules.
    static func isTopological(_ order: [String], _ graph: ModuleGraph) -> Bool {
        var position: [String: Int] = [:]
        for (index, name) in order.enumerated() { position[name] = index }
        for name in order {
            guard let module = graph[name], let at = position[name] else { return false }
            for dependency in module.info.depends {
                guard let found = graph[dependency] else { continue }
                if found.name != name, let before = position[found.name], before > at { return false }
            }
            for found in module.info.softdepPre.flatMap({ graph.resolve(softdep: $0, of: module) }) {
                if let before = position[found.name], before > at { return false }
            }
            for found in module.info.softdepPost.flatMap({ graph.resolve(softdep: $0, of: module) }) {
                if let after = position[found.name], after < at { return false }
            }
        }
        return true
    }
}

#if !IMPRINT_FUZZ
/// Replays the committed libFuzzer corpus (`Fuzz/corpus/ModInfoParse/`) through what the fuzz target
/// runs, so every input the fuzzer ever kept stays a regression test in `make test` (DESIGN section 10).
@Suite("modinfo fuzz corpus")
struct ModInfoFuzzCorpusTests {
    @Test func everyCorpusInputRunsWithoutTrapping() throws {
        let seeds = try FuzzCorpus.seeds("ModInfoParse")
        #expect(seeds.count >= 8, "the corpus lost its seeds")
        var withAliases = 0
        for seed in seeds {
            ModInfoFuzz.run(seed.bytes)
            if !ModInfo(name: "x", modinfo: seed.bytes.split(separator: 0xFF).first ?? []).aliases.isEmpty { withAliases += 1 }
        }
        #expect(withAliases > 0, "the corpus holds real .modinfo sections")
    }

    @Test func truncatedSectionsNeverTrap() throws {
        for seed in try FuzzCorpus.seeds("ModInfoParse") {
            for end in stride(from: 0, to: seed.bytes.count, by: max(1, seed.bytes.count / 61)) {
                ModInfoFuzz.run(Array(seed.bytes[0..<end]))
            }
        }
    }
}
#endif
