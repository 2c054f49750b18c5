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
        #expect(!result.stderr.contains("Usage:"), "a fault in the recipe is not a usage error: \(result.stderr)")
    }

    @Test func labWithoutABuiltProfileSaysHowToBuildIt() throws {
        let work = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let result = try CLI.run(["lab", "--profile", "nope", "--store", "\(work)/store"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("imprint build recipes/nope.yaml"), "\(result.stderr)")
    }
}

/// `imprint build` finds the agent beside its own executable; copied alone elsewhere it says so.
@Suite struct AgentLocatorTests {
    @Test func aLoneImprintSaysWhereTheAgentShouldBe() throws {
        let work = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let lone = "\(work)/bin/imprint"
        try FileManager.default.createDirectory(atPath: "\(work)/bin", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: try CLI.binary, toPath: lone)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: lone)
        process.arguments = ["build", "\(CLI.packageRoot)/recipes/qemu-virtio.yaml", "--store", "\(work)/store"]
        var environment = ProcessInfo.processInfo.environment
        environment["IMPRINT_AGENT"] = nil
        process.environment = environment
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus != 0)
        #expect(message.contains("imprint-agent is not beside ") && message.contains("/bin/imprint, and no package"), "\(message)")
        #expect(!FileManager.default.fileExists(atPath: "\(work)/store"))
    }
}
