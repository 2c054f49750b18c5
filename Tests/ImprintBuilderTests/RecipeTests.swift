import Foundation
import Testing
@testable import ImprintBuilder

@Suite struct RecipeTests {
    @Test func readsTheShippedRecipe() throws {
        let recipe = try Recipe.parse(yaml: """
            profile: qemu-virtio
            arch: x86_64
            kernel:
              debian: linux-image-amd64
            drivers:
              modules: [virtio_pci, virtio_net]
              firmware: []
            cmdline: "console=tty0 console=ttyS0"
            agent:
              server: "http://10.0.2.2:8080"
            formats: [pxe, iso, usb]
            """, file: "r.yaml")
        #expect(recipe.profile == "qemu-virtio")
        #expect(recipe.kernel == .debian(package: "linux-image-amd64"))
        #expect(recipe.modules == ["virtio_pci", "virtio_net"])
        #expect(recipe.agentServer == "http://10.0.2.2:8080")
        #expect(recipe.formats == ["pxe", "iso", "usb"])
    }

    @Test func relativeKernelPathIsTakenFromTheRecipeFolder() throws {
        let recipe = try Recipe.parse(yaml: "profile: p\nkernel:\n  path: k/vmlinuz-6.1\n", file: "/etc/r/x.yaml")
        #expect(recipe.kernel == .path("/etc/r/k/vmlinuz-6.1", modules: nil))
    }

    /// (yaml, expected line, expected key, words the message must contain)
    static let bad: [(String, Int?, String?, String)] = [
        ("profile: p\nkernel:\n  debian: x\ndriver:\n  modules: []\n", 4, "driver", "did you mean 'drivers'"),
        ("profile: p\nkernel:\n  debian: x\ndrivers:\n  modules: virtio_net\n", 5, "drivers.modules", "expected a list"),
        ("profile: p\nkernel:\n  debian: x\ndrivers:\n  modules: [virtio_net, [a]]\n", 5, "drivers.modules[1]", "expected a string"),
        ("profile: p\nkernel:\n  debain: x\n", 3, "kernel.debain", "did you mean 'debian'"),
        ("profile: p\nkernel:\n  debian: x\n  path: /y\n", 3, "kernel", "exactly one"),
        ("kernel:\n  debian: x\n", 1, "profile", "missing"),
        ("profile: [a]\nkernel:\n  debian: x\n", 1, "profile", "expected a string"),
        ("profile: ../evil\nkernel:\n  debian: x\n", 1, "profile", "not a usable profile name"),
        ("profile: \"\"\nkernel:\n  debian: x\n", 1, "profile", "not a usable profile name"),
        ("profile: |\nkernel:\n  debian: x\n", 1, "profile", "not a usable profile name"),
        ("profile: p\nkernel:\n  debian: x\nformats: [pxe, floppy]\n", 4, "formats", "unknown format"),
        ("profile: p\nkernel: {debian: x}\nprofile: q\n", nil, nil, "duplicated key(s): 'profile'"),
        ("profile: p\nkernel:\n  debian: x\ndrivers:\n  pci: [\"1af4\"]\n", 5, "drivers.pci", "vendor:device"),
        ("profile: p\n  kernel: : :\n", 2, nil, "not valid YAML"),
        ("", nil, nil, "empty"),
        // Yams' own integer reading traps on a base-60 number past Int (found by the RecipeParse fuzz target).
        ("2111112111119370012:2\n", 1, nil, "found a number (2111112111119370012:2)"),
        ("0x1f\n", 1, nil, "found a number (0x1f)"),
        ("yes\n", 1, nil, "found a boolean (yes)"),
    ]

    @Test(arguments: bad)
    func badRecipesNameFileLineAndKey(yaml: String, line: Int?, key: String?, words: String) {
        do {
            _ = try Recipe.parse(yaml: yaml, file: "bad.yaml")
            Issue.record("accepted a bad recipe: \(yaml)")
        } catch let error as RecipeError {
            #expect(error.file == "bad.yaml")
            if let line { #expect(error.line == line, "\(error)") }
            #expect(error.key == key, "\(error)")
            #expect(error.description.contains(words), "\(error)")
            #expect(error.description.hasPrefix("bad.yaml"))
        } catch {
            Issue.record("unexpected error type: \(error)")
        }
    }

    /// A recipe saved in Latin-1 (or any bytes that are not UTF-8) is named as such, with where,
    /// instead of Foundation's "isn't in the correct format".
    @Test func aRecipeThatIsNotUTF8SaysWhereAndWhatToDo() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("imprint-latin1-\(UUID().uuidString).yaml").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        // "# café" in UTF-8 on line 1 (multi-byte, valid), then "café" in Latin-1 on line 3.
        let bytes: [UInt8] = Array("# caf\u{E9}\nprofile: p\nkernel:\n  path: caf".utf8) + [0xE9, 0x0A]
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        #expect {
            try Recipe.load(path: path)
        } throws: { error in
            guard let error = error as? RecipeError else { return false }
            return error.line == 4 && error.column == 12 && error.description.contains("not UTF-8 text (byte 0xE9)")
                && error.description.contains("save the recipe as UTF-8")
        }
        #expect(Recipe.firstInvalidUTF8([0x61, 0x0A, 0xC3, 0x28]) == (line: 2, column: 1, byte: 0xC3), "a lead byte without its continuation")
    }

    @Test func editDistance() {
        #expect(ImprintBuilder.editDistance("virtio_nett", "virtio_net") == 1)
        #expect(ImprintBuilder.editDistance("", "abc") == 3)
        #expect(closest("drivres", in: ["drivers", "kernel"]) == "drivers")
        #expect(closest("zzzzzz", in: ["drivers", "kernel"]) == nil)
    }
}
