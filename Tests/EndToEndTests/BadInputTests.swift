import Foundation
import Testing

/// Bad input through the CLI: a clear error, a non-zero exit, nothing left in the store.
@Suite struct BadInputTests {
    static let cases: [(name: String, yaml: String, words: [String])] = [
        ("unknown key", "profile: p\nkernel:\n  debian: linux-image-amd64\ndrivers:\n  modulez: [virtio_net]\n",
         ["bad.yaml:5", "drivers.modulez", "unknown key", "did you mean 'modules'"]),
        ("wrong type", "profile: p\nkernel:\n  debian: linux-image-amd64\ndrivers:\n  modules: 42\n",
         ["bad.yaml:5", "drivers.modules", "expected a list"]),
        ("unknown module", "profile: p\nkernel:\n  debian: linux-image-amd64\ndrivers:\n  modules: [virtio_nett]\n",
         ["unknown kernel module 'virtio_nett'", "closest: virtio_net"]),
        ("unknown kernel package", "profile: p\nkernel:\n  debian: linux-image-nonexistent-amd64\n",
         ["apt cannot find kernel package 'linux-image-nonexistent-amd64'"]),
    ]

    @Test(arguments: cases.map(\.name))
    func badRecipe(name: String) throws {
        let item = try #require(Self.cases.first { $0.name == name })
        let work = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        try item.yaml.write(toFile: "\(work)/bad.yaml", atomically: true, encoding: .utf8)
        let result = try CLI.run(["build", "\(work)/bad.yaml", "--store", "\(work)/store"])
        #expect(result.status != 0)
        for word in item.words {
            #expect(result.stderr.contains(word), "missing '\(word)' in: \(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: "\(work)/store"), "a failed build left a store")
    }

    @Test func labWithoutABuiltProfileSaysHowToBuildIt() throws {
        let work = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let result = try CLI.run(["lab", "--profile", "nope", "--store", "\(work)/store"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("imprint build recipes/nope.yaml"), "\(result.stderr)")
    }
}
