import ArgumentParser
import Foundation
import ImprintBuilder

extension Imprint {
    struct Build: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Build the base agent image (kernel, initrd, build.json) for a hardware profile.",
            discussion: "Writes STORE/boot/PROFILE/{vmlinuz,initrd.img,build.json}, creating the store if needed.")

        @Argument(help: ArgumentHelp("The recipe, e.g. recipes/qemu-virtio.yaml.", valueName: "RECIPE"))
        var recipe: String

        @OptionGroup var store: StoreOptions

        @Flag(name: .long, help: "Print build.json on stdout when done.")
        var json = false

        /// overlay/ beside the recipes/ folder the recipe sits in (IMPRINT_OVERLAY overrides).
        static func overlay(for recipe: String) -> String {
            let recipeDir = ((recipe as NSString).deletingLastPathComponent as NSString)
            return ProcessInfo.processInfo.environment["IMPRINT_OVERLAY"]
                ?? (recipeDir.deletingLastPathComponent.isEmpty ? "overlay" : recipeDir.deletingLastPathComponent + "/overlay")
        }

        func run() throws {
            do {
                let recipe = try Recipe.load(path: recipe)
                let agent = try AgentLocator.locate(log: say)
                var builder = Builder(recipe: recipe, store: store.path, agent: agent, overlay: Self.overlay(for: self.recipe)) { say("build: \($0)") }
                // The key goes into the initrd; keys/manifest.pub into the store only once the build is
                // in (a failed build leaves no store behind).
                let opened = try store.open(create: true)
                builder.manifestKey = try opened.keys.manifestKey().publicKeyBase64
                let report = try builder.build()
                _ = try opened.manifestKey()
                if json {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                    print(String(decoding: try encoder.encode(report), as: UTF8.self))
                } else {
                    print("\(store.path)/boot/\(recipe.profile): kernel \(report.kernel.release), \(report.modules.count) modules, initrd \(report.sizes.initrdCompressed) bytes, \(report.buildSeconds) s")
                }
            } catch let error as RecipeError {
                // A fault in the recipe file, not in the command line: no usage text after it.
                throw CommandFailure("\(error)")
            } catch let error as CommandFailure {
                throw error
            } catch {
                throw CommandFailure("build failed: \(error)")
            }
        }
    }
}
