// The harness half of this file is also the libFuzzer target Fuzz/RecipeParse.swift: scripts/fuzz
// compiles it with -D IMPRINT_FUZZ in one module with Sources/ImprintCore and the builder's
// Recipe.swift and Recipe+YAML.swift, against a Yams that `swift build` instrumented (DESIGN
// section 10), leaving out the tests. One copy of the harness, so the replay runs exactly what the
// fuzzer ran.
#if !IMPRINT_FUZZ
import Foundation
import ImprintTestSupport
import Testing

@testable import ImprintBuilder
@testable import ImprintCore
#endif
import Yams

/// What the recipe fuzz target runs on each input: the recipe reader (`Recipe.parse(yaml:file:)`,
/// Yams underneath) as `imprint build` runs it on a recipe file. It must never trap; a recipe
/// that reads must read the same from Yams' own rewriting of its YAML, and every error must name
/// the recipe file.
enum RecipeFuzz {
    /// No such folder: `drivers.inventory` paths resolve against it and find nothing.
    static let file = "/nonexistent/imprint-fuzz/recipe.yaml"

    static func run(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        // `drivers.inventory` reads a file, and a fuzzer would find /dev/zero. Inputs whose YAML
        // holds the key anywhere (after escapes, anchors and folding) are skipped.
        if let node = try? Yams.compose(yaml: text), mentions(node, "inventory") { return }
        let recipe: Recipe
        do {
            recipe = try Recipe.parse(yaml: text, file: file)
        } catch let error as RecipeError {
            precondition(error.file == file, "an error that does not name the recipe")
            _ = error.description
            return
        } catch {
            preconditionFailure("an error that is not a RecipeError: \(error)")
        }
        precondition(!recipe.profile.isEmpty, "a recipe without a profile name")
        precondition(recipe.inventory == nil, "an inventory was read")
        guard let again = try? Recipe.parse(yaml: text, file: file), again == recipe else {
            preconditionFailure("a second parse differs")
        }
        // Yams' own rewriting of the document is the same recipe (line numbers aside), whenever the
        // rewriting is the same document: libyaml's emitter can fold a long line of a folded block
        // scalar so that it reads back differently (found by this target), which says nothing of
        // the recipe reader.
        guard let node = try? Yams.compose(yaml: text), let rewritten = try? Yams.serialize(node: node),
              (try? Yams.compose(yaml: rewritten)) == node else { return }
        guard var reread = try? Recipe.parse(yaml: rewritten, file: file) else {
            preconditionFailure("the recipe, rewritten by Yams, does not read:\n\(rewritten)")
        }
        var expected = recipe
        expected.lines = [:]
        reread.lines = [:]
        precondition(reread == expected, "the recipe, rewritten by Yams, reads differently:\n\(rewritten)")
    }

    /// Whether any scalar in `node` is `word`.
    static func mentions(_ node: Node, _ word: String) -> Bool {
        switch node {
        case let .scalar(scalar): return scalar.string == word
        case let .mapping(mapping): return mapping.contains { mentions($0.key, word) || mentions($0.value, word) }
        case let .sequence(sequence): return sequence.contains { mentions($0, word) }
        case let .alias(alias): return alias.anchor.rawValue == word
        }
    }
}

#if !IMPRINT_FUZZ
/// Replays the committed libFuzzer corpus (`Fuzz/corpus/RecipeParse/`) through what the fuzz target
/// runs, so every input the fuzzer ever kept stays a regression test in `make test` (DESIGN section 10).
@Suite("recipe fuzz corpus")
struct RecipeFuzzCorpusTests {
    @Test func everyCorpusInputRunsWithoutTrapping() throws {
        let seeds = try FuzzCorpus.seeds("RecipeParse")
        #expect(seeds.count >= 8, "the corpus lost its seeds")
        var recipes = 0
        for seed in seeds {
            RecipeFuzz.run(seed.bytes)
            if (try? Recipe.parse(yaml: String(decoding: seed.bytes, as: UTF8.self), file: RecipeFuzz.file)) != nil { recipes += 1 }
        }
        #expect(recipes > 0 && recipes < seeds.count, "the corpus holds recipes that read and ones that do not")
    }

    @Test func everyPrefixNeverTraps() throws {
        for seed in try FuzzCorpus.seeds("RecipeParse") {
            for end in stride(from: 0, to: seed.bytes.count, by: max(1, seed.bytes.count / 61)) {
                RecipeFuzz.run(Array(seed.bytes[0..<end]))
            }
        }
    }
}
#endif
