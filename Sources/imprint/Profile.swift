import ArgumentParser
import Foundation
import ImprintBuilder
import ImprintCore

extension Imprint {
    struct ProfileCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "profile",
            abstract: "Check a built profile against a machine's hardware, or write a profile for a machine.",
            subcommands: [Check.self, FromInventory.self])
    }
}

/// The pci.ids text: `--pci-ids FILE`, else the first system copy; nil (with a warning) when none is there.
private func readPCIIDs(_ option: String?) throws -> String? {
    if let option {
        guard let data = FileManager.default.contents(atPath: option) else {
            throw CommandFailure("cannot read --pci-ids \(option): give the pci.ids file (Debian's pci.ids package installs /usr/share/misc/pci.ids)")
        }
        return String(decoding: data, as: UTF8.self)
    }
    for path in PCIDatabase.systemPaths {
        if let data = FileManager.default.contents(atPath: path) { return String(decoding: data, as: UTF8.self) }
    }
    say("warning: no pci.ids at \(PCIDatabase.systemPaths.joined(separator: " or ")): devices are named by ID only (apt-get install pci.ids)")
    return nil
}

extension Imprint.ProfileCommand {
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Does a built profile drive every NIC and storage controller of a machine?",
            discussion: """
                Reads STORE/boot/PROFILE/build.json and the machine's inventory.json (as an agent reported it) \
                or lspci -nn output, and matches each network (class 02) and storage (class 01) controller \
                against the aliases of the profile's kernel modules. Exit status: 0 when every controller is \
                driven, 1 when one is not (each is named, with the module of the same kernel that would drive \
                it), 2 when the check could not be made.
                """)

        @Argument(help: ArgumentHelp("A profile built into the store (qemu-virtio).", valueName: "PROFILE"))
        var profile: String

        @Option(help: ArgumentHelp("The machine: an inventory.json an agent reported, or lspci -nn output.", valueName: "FILE"))
        var inventory: String

        @Option(name: .customLong("pci-ids"), help: ArgumentHelp("The pci.ids database, for device names (default /usr/share/misc/pci.ids).", valueName: "FILE"))
        var pciIDs: String?

        @Flag(help: "Print JSON for scripts.")
        var json = false

        @OptionGroup var store: StoreOptions

        func run() throws {
            let result: ProfileCheckRun
            do {
                let names = try readPCIIDs(pciIDs)
                result = try ProfileCheckRun.run(store: store.path, profile: profile, inventory: inventory, pciIDs: names) {
                    say("profile check: \($0)")
                }
            } catch {
                // 1 means "not driven": a check that could not be made exits 2.
                say("Error: profile check failed: \(error)")
                throw ExitCode(2)
            }
            if json {
                print(Self.json(result).serialized(pretty: true))
            } else {
                print(Self.table(result), terminator: "")
            }
            let undriven = result.verdicts.filter { !$0.isDriven }
            guard !undriven.isEmpty else {
                if !json {
                    print("\(profile) (kernel \(result.report.kernel.release)) drives all \(result.verdicts.count) network and storage controllers")
                }
                return
            }
            say("Error: profile \(profile) does not drive \(undriven.count) of \(result.verdicts.count) controllers: "
                + undriven.map { "\($0.device.slot) \($0.device.id.id)" + ($0.missing.isEmpty ? " (no module of kernel \(result.report.kernel.release) drives it)" : " (needs \($0.missing.joined(separator: " or ")))") }
                    .joined(separator: ", "))
            if let hint = result.hint { say("hint: \(hint)") }
            throw ExitCode(1)
        }

        static func verdictText(_ verdict: DriverVerdict, release: String) -> String {
            if verdict.isDriven { return "driven" }
            if verdict.missing.isEmpty { return "not driven: no module of kernel \(release)" }
            return "not driven: add \(verdict.missing.joined(separator: " or "))"
        }

        static func table(_ result: ProfileCheckRun) -> String {
            var table = TextTable(header: ["SLOT", "ID", "KIND", "MODULES", "VERDICT", "NAME"])
            for verdict in result.verdicts {
                table.add([verdict.device.slot, verdict.device.id.description, verdict.kind.rawValue,
                           verdict.driving.isEmpty ? "-" : verdict.driving.joined(separator: ","),
                           verdictText(verdict, release: result.report.kernel.release),
                           verdict.name.isEmpty ? "-" : verdict.name])
            }
            var text = result.verdicts.isEmpty ? "no network or storage controller in the listing\n" : table.rendered
            for verdict in result.verdicts {
                if let note = verdict.note { text += "note: \(verdict.device.slot): \(note)\n" }
            }
            return text
        }

        static func json(_ result: ProfileCheckRun) -> JSONValue {
            func optional(_ text: String?) -> JSONValue { text.map { .string($0) } ?? .null }
            let devices: [JSONValue] = result.verdicts.map { verdict in
                .object([
                    "slot": .string(verdict.device.slot),
                    "id": .string(verdict.device.id.id),
                    "class": optional(verdict.device.id.classCode),
                    "kind": .string(verdict.kind.rawValue),
                    "name": .string(verdict.name),
                    "driven": .bool(verdict.isDriven),
                    "modules": .array(verdict.driving.map { .string($0) }),
                    "missing": .array(verdict.missing.map { .string($0) }),
                    "recipeID": .string(verdict.recipeID),
                    "note": optional(verdict.note),
                ])
            }
            return .object([
                "profile": .string(result.report.profile),
                "kernel": .string(result.report.kernel.release),
                "recipe": .string(result.report.recipe),
                "driven": .bool(result.allDriven),
                "devices": .array(devices),
                "hint": optional(result.hint),
            ])
        }
    }

    struct FromInventory: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "from-inventory",
            abstract: "Write a recipe for a machine from its inventory.json or lspci -nn output.",
            discussion: """
                The profile is named after --out (recipes/rack3.yaml makes profile rack3). It names each network \
                and storage controller in drivers.pci and the modules no dependency pulls in, with the kernel, \
                command line and formats of recipes/qemu-virtio.yaml. agent.server is --server, else the server of \
                the store's discovery profile when FILE is STORE/reports/<mac>/inventory.json, else \(InventoryRecipe.defaultServer).
                """)

        @Argument(help: ArgumentHelp("inventory.json (reports/<mac>/inventory.json) or lspci -nn output.", valueName: "FILE"))
        var file: String

        @Option(help: ArgumentHelp("The recipe to write; its name is the profile's.", valueName: "recipes/NAME.yaml"))
        var out: String

        @Option(help: ArgumentHelp("The store URL the agent reports to (agent.server).", valueName: "URL"))
        var server: String?

        @Option(name: .customLong("pci-ids"), help: ArgumentHelp("The pci.ids database, for the comments (default /usr/share/misc/pci.ids).", valueName: "FILE"))
        var pciIDs: String?

        @Flag(help: "Overwrite an existing recipe.")
        var force = false

        func validate() throws {
            guard InventoryRecipe.profileName(forOutput: out) != nil else {
                throw ValidationError("--out \(out): name a .yaml file, such as recipes/NAME.yaml (NAME becomes the profile)")
            }
            if let server, !(server.hasPrefix("http://") || server.hasPrefix("https://")) {
                throw ValidationError("--server \(server): give an http:// or https:// URL")
            }
        }

        func run() throws {
            do {
                let listing = try ProfileCheckRun.readListing(file)
                let names = try readPCIIDs(pciIDs)
                var origin = file
                if case let .inventory(mac?) = listing.source { origin += " (\(mac))" }
                let recipe = try InventoryRecipe(
                    profile: InventoryRecipe.profileName(forOutput: out) ?? "", listing: listing, origin: origin,
                    server: server ?? InventoryRecipe.discoveryServer(forInventory: file),
                    database: names.map { PCIDatabase(text: $0) } ?? PCIDatabase())
                let text = recipe.yaml
                // What is written must be a recipe imprint build reads.
                do { _ = try Recipe.parse(yaml: text, file: out) } catch {
                    throw CommandFailure("from-inventory made a recipe its own parser refuses (\(error)): a bug; please report it")
                }
                try InventoryRecipe.write(text, to: out, force: force)
                print("\(out): profile \(recipe.profile), \(recipe.entries.count) PCI IDs (\(recipe.entries.map(\.id).joined(separator: " "))); build it with imprint build \(out)")
            } catch let error as CommandFailure {
                throw error
            } catch {
                throw CommandFailure("from-inventory failed: \(error)")
            }
        }
    }
}
