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

        func run() throws {
            do {
                let recipe = try Recipe.load(path: recipe)
                let agent = try AgentLocator.locate(log: say)
                // overlay/ beside the recipes/ folder the recipe sits in.
                let recipeDir = ((self.recipe as NSString).deletingLastPathComponent as NSString)
                let overlay = ProcessInfo.processInfo.environment["IMPRINT_OVERLAY"]
                    ?? (recipeDir.deletingLastPathComponent.isEmpty ? "overlay" : recipeDir.deletingLastPathComponent + "/overlay")
                let builder = Builder(recipe: recipe, store: store.path, agent: agent, overlay: overlay) { say("build: \($0)") }
                let report = try builder.build()
                if json {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                    print(String(decoding: try encoder.encode(report), as: UTF8.self))
                } else {
                    print("\(store.path)/boot/\(recipe.profile): kernel \(report.kernel.release), \(report.modules.count) modules, initrd \(report.sizes.initrdCompressed) bytes, \(report.buildSeconds) s")
                }
            } catch let error as RecipeError {
                throw ValidationError("\(error)")
            } catch let error as CommandFailure {
                throw error
            } catch {
                throw CommandFailure("build failed: \(error)")
            }
        }
    }
}
