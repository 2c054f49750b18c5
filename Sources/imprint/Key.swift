import ArgumentParser
import Foundation
import ImprintBuilder
import ImprintCore

extension Imprint {
    struct Key: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The manifest signing key: sign manifests edited by hand, or rotate the key.",
            subcommands: [Sign.self, Rotate.self])
    }
}

extension Imprint.Key {
    struct Sign: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sign manifests anew after editing them by hand (devices/<mac>/assignment.json, images/NAME.json).",
            discussion: "Writes FILE.sig beside each FILE with the keys folder's manifest key. Without FILE, signs every manifest of the store.")

        @Argument(help: ArgumentHelp("Manifests of the store to sign.", valueName: "FILE"))
        var files: [String] = []

        @OptionGroup var store: StoreOptions

        func run() throws {
            do {
                let store = try self.store.open(create: false)
                let root = URL(fileURLWithPath: store.root).standardizedFileURL.path
                let targets = files.isEmpty ? store.signedManifests() : files
                for file in targets {
                    let path = URL(fileURLWithPath: file).standardizedFileURL.path
                    let relative = path.hasPrefix(root + "/") ? String(path.dropFirst(root.count + 1)) : ""
                    let parts = relative.split(separator: "/")
                    let isAssignment = parts.count == 3 && parts[0] == "devices" && parts[2] == "assignment.json"
                    let isImage = parts.count == 2 && parts[0] == "images" && parts[1].hasSuffix(".json")
                    guard isAssignment || isImage else {
                        throw CommandFailure("key sign failed: \(file) is not a manifest of \(store.root) (devices/<mac>/assignment.json or images/NAME.json)")
                    }
                    try store.signManifest(at: path)
                    print("signed \(relative)")
                }
            } catch let error as StoreError {
                throw CommandFailure("key sign failed: \(error)")
            }
        }
    }

    struct Rotate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a new manifest key, sign every manifest with it and rebuild what embeds it.",
            discussion: """
                The old key is kept as manifest.key.previous in the keys folder. Every assignment and image \
                descriptor is signed anew, every identity gets the new key, keys/manifest.pub changes (site \
                mirrors pick it up by ETag), and each built profile is rebuilt from its recipe so its initrd \
                carries the new key. Media made before (imprint iso, imprint usb) carry the old key: make them again.
                """)

        @Flag(name: .customLong("no-rebuild"), help: "Do not rebuild the profiles (rebuild them yourself with imprint build).")
        var noRebuild = false

        @OptionGroup var store: StoreOptions

        func run() throws {
            let store: Store
            let rotation: Store.Rotation
            do {
                store = try self.store.open(create: false)
                rotation = try store.rotateManifestKey()
            } catch let error as StoreError {
                throw CommandFailure("key rotate failed: \(error)")
            }
            print("new manifest key \(rotation.publicKey): \(rotation.signed) manifests signed, \(rotation.identities) identities updated")
            var stale: [String] = []
            for profile in store.builtProfileNames() {
                guard let data = FileManager.default.contents(atPath: store.buildReport(profile)),
                      let report = try? JSONDecoder().decode(BuildReport.self, from: data) else {
                    stale.append("\(profile) (no readable build.json)")
                    continue
                }
                guard !noRebuild, FileManager.default.fileExists(atPath: report.recipe) else {
                    stale.append("\(profile): imprint build \(report.recipe) --store \(store.root)")
                    continue
                }
                do {
                    let recipe = try Recipe.load(path: report.recipe)
                    var builder = Builder(recipe: recipe, store: store.root, agent: try AgentLocator.locate(log: say), overlay: Imprint.Build.overlay(for: report.recipe)) {
                        say("build: \($0)")
                    }
                    builder.manifestKey = rotation.publicKey
                    try builder.build()
                    print("rebuilt boot/\(profile) with the new key")
                } catch {
                    stale.append("\(profile): \(error); rebuild it: imprint build \(report.recipe) --store \(store.root)")
                }
            }
            if !stale.isEmpty {
                say("key rotate: these profiles still carry the old key, and their machines will refuse the new signatures until rebuilt:\n  " + stale.joined(separator: "\n  "))
                throw ExitCode(1)
            }
            say("key rotate: media made before this (imprint iso, imprint usb) carry the old key: make them again")
        }
    }
}
