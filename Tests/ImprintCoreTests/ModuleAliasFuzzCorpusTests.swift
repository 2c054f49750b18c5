// The harness half of this file is also the libFuzzer target Fuzz/ModuleAlias.swift: scripts/fuzz
// compiles it with -D IMPRINT_FUZZ beside Sources/ImprintCore, which leaves out the imports and the
// tests. One copy of the harness, so the replay runs exactly what the fuzzer ran.
#if !IMPRINT_FUZZ
import Foundation
import ImprintTestSupport
import Testing

@testable import ImprintCore
#endif
#if canImport(Glibc)
import Glibc
#endif

/// What the module-alias fuzz target runs on each input: the three files the agent reads at boot
/// (`modules.dep`, `modules.alias`, `modules.softdep`) and the devices' modaliases, as four parts
/// separated by form feeds (0x0C). The agent's parser builds the graph; every modalias is matched
/// (the coldplug step) and loaded in order; the graph, written out again and read back, gives the
/// same answers; and every alias pattern matches every modalias exactly as fnmatch(3) says.
enum ModuleAliasFuzz {
    static func run(_ bytes: [UInt8]) {
        let parts = String(decoding: bytes, as: UTF8.self).split(separator: "\u{0C}", omittingEmptySubsequences: false).map(String.init)
        let part = { (index: Int) in index < parts.count ? parts[index] : "" }
        let modaliases = part(3).split(separator: "\n").map(String.init).prefix(32)

        guard let graph = try? ModuleGraph(modulesDep: part(0), modulesAlias: part(1), modulesSoftdep: part(2)) else {
            globAgainstFnmatch(patterns: part(1).split(whereSeparator: \.isWhitespace).map(String.init), texts: Array(modaliases))
            return
        }
        let names = graph.names
        let aliases = names.compactMap { graph[$0] }.flatMap(\.info.aliases)
        precondition(!aliases.contains { $0.isEmpty || $0.contains(where: \.isWhitespace) }, "an alias that is not one word")
        globAgainstFnmatch(patterns: aliases, texts: Array(modaliases))

        var answers: [[String]] = []
        for modalias in modaliases {
            let matched = graph.modules(matchingModalias: modalias)
            precondition(matched == matched.sorted() && Set(matched).count == matched.count, "matches are not sorted and unique")
            precondition(Set(matched).isSubset(of: Set(names)), "a match the graph does not hold")
            let order = graph.loadOrder(of: matched)
            precondition(Set(matched).isSubset(of: Set(order)) && Set(order).count == order.count, "a bad load order")
            answers.append(matched)
        }
        let order = graph.loadOrder(of: names)
        precondition(Set(order) == Set(names) && order.count == names.count, "the load order of every module is not every module")

        // Written out (as `imprint build` writes a profile's initrd) and read back.
        let read: ModuleGraph
        do {
            read = try ModuleGraph(modulesDep: graph.renderModulesDep(names), modulesAlias: graph.renderModulesAlias(names),
                                   modulesSoftdep: graph.renderModulesSoftdep(names))
        } catch {
            preconditionFailure("a graph read from files does not read back once written: \(error)")
        }
        precondition(read.names == names, "the round trip changed the modules")
        for (modalias, matched) in zip(modaliases, answers) {
            precondition(read.modules(matchingModalias: modalias) == matched, "the round trip changed what \(modalias) matches")
        }
        if ModInfoFuzz.isTopological(order, graph) {
            precondition(read.loadOrder(of: names) == order, "the round trip changed the load order")
        }
    }

    /// `globMatch` is documented as fnmatch(3) with no flags over bytes: check it against glibc's,
    /// in the C locale, for short patterns and texts without NUL (C strings end there).
    static func globAgainstFnmatch(patterns: [String], texts: [String]) {
        #if canImport(Glibc)
        for pattern in patterns.prefix(16) where pattern.utf8.count <= 48 && !pattern.utf8.contains(0) && pattern.utf8.allSatisfy({ $0 < 0x80 }) {
            for text in texts.prefix(16) where text.utf8.count <= 64 && !text.utf8.contains(0) && text.utf8.allSatisfy({ $0 < 0x80 }) {
                let ours = globMatch(pattern, text)
                let theirs = fnmatch(pattern, text, 0) == 0
                precondition(ours == theirs, "globMatch(\(pattern.debugDescription), \(text.debugDescription)) is \(ours), fnmatch says \(theirs)")
            }
        }
        #endif
    }
}

#if !IMPRINT_FUZZ
/// Replays the committed libFuzzer corpus (`Fuzz/corpus/ModuleAlias/`) through what the fuzz target
/// runs, so every input the fuzzer ever kept stays a regression test in `make test` (DESIGN section 10).
@Suite("module alias fuzz corpus")
struct ModuleAliasFuzzCorpusTests {
    @Test func everyCorpusInputRunsWithoutTrapping() throws {
        let seeds = try FuzzCorpus.seeds("ModuleAlias")
        #expect(seeds.count >= 8, "the corpus lost its seeds")
        var graphs = 0
        for seed in seeds {
            ModuleAliasFuzz.run(seed.bytes)
            let parts = String(decoding: seed.bytes, as: UTF8.self).split(separator: "\u{0C}", omittingEmptySubsequences: false).map(String.init)
            if parts.count >= 3, (try? ModuleGraph(modulesDep: parts[0], modulesAlias: parts[1], modulesSoftdep: parts[2])) != nil { graphs += 1 }
        }
        #expect(graphs > 0 && graphs < seeds.count, "the corpus holds module files that read and ones that do not")
    }

    @Test func truncatedFilesNeverTrap() throws {
        for seed in try FuzzCorpus.seeds("ModuleAlias") {
            for end in stride(from: 0, to: seed.bytes.count, by: max(1, seed.bytes.count / 61)) {
                ModuleAliasFuzz.run(Array(seed.bytes[0..<end]))
            }
        }
    }
}
#endif
