import Foundation
import ImprintCore

/// Which modules a profile's initrd carries, and why each is in.
struct DriverSelection {
    struct Choice: Equatable {
        var name: String
        var path: String
        var reason: String
        var size: Int
    }
    /// A PCI function the profile names and the modules whose aliases match it.
    struct DeviceMatch: Equatable {
        var device: Recipe.Device
        /// pci.ids' names for it: `8086:100e (Ethernet controller [0200]: Intel Corporation 82540EM ...)`.
        var name: String
        var modules: [String]
        /// The name and where the recipe gives it, for messages.
        var description: String { "\(name), from \(device.origin)" }
    }
    var modules: [Choice]
    /// The chosen modules only. A soft dependency that names an alias stays as the kernel wrote it;
    /// `ModuleGraph` resolves it through the aliases of the chosen modules, at build and at boot.
    var graph: ModuleGraph
    /// The profile's PCI functions, in recipe order, each with its drivers.
    var devices: [DeviceMatch] = []
}

enum DriverError: Error, CustomStringConvertible {
    case unknownModule(String, suggestions: [String])
    case missingDependency(module: String, dependency: String)
    /// PCI functions the profile names that no module of the kernel drives, each described with
    /// pci.ids' names and where the recipe names it.
    case noDriver(recipe: String, kernel: String, devices: [(id: PCIID, text: String)])

    var description: String {
        switch self {
        case let .unknownModule(name, suggestions):
            let hint = suggestions.isEmpty ? "" : " (closest: \(suggestions.joined(separator: ", ")))"
            return "unknown kernel module '\(name)'\(hint): check drivers.modules in the recipe"
        case let .missingDependency(module, dependency):
            return "module \(module) depends on \(dependency), which this kernel does not ship"
        case let .noDriver(recipe, kernel, devices):
            let count = devices.count == 1 ? "a device" : "\(devices.count) devices"
            var text = "\(recipe): no driver in kernel \(kernel) for \(count) the profile names:\n"
            text += devices.map { "  \($0.text)" }.joined(separator: "\n")
            if devices.contains(where: { $0.id.baseClass == nil }) {
                text += "\nhint: an ID given without its class matches only drivers that list that vendor:device;"
                text += " give the class for drivers that bind by class (1b36:0010/010802 for nvme, 8086:2922/010601 for ahci; lspci -nn shows it in brackets)"
            }
            text += "\nhint: check each ID against `lspci -nn` on the machine; a device this kernel has no driver for needs another kernel (kernel: in the recipe)"
            return text
        }
    }
}

extension ModuleTree {
    /// The requested modules, the modules whose aliases match each of `devices`, and their closure.
    /// A soft dependency may name an alias (`crypto-crc32c`): like modprobe, every module with a
    /// matching alias is taken. A device no module matches fails, all such devices in one error
    /// (`names` gives their pci.ids names; `recipe` and `kernel` are for the message).
    func select(_ requested: [String], devices: [Recipe.Device] = [], names: PCIDatabase = PCIDatabase(),
                recipe: String = "recipe", kernel: String = "") throws -> DriverSelection {
        let full = graph
        var matches: [DriverSelection.DeviceMatch] = []
        if !devices.isEmpty {
            let index = PCIAliasIndex(full)
            matches = devices.map { device in
                .init(device: device, name: names.describe(device.id),
                      modules: index.modules(matching: device.id))
            }
            let unmatched = matches.filter(\.modules.isEmpty)
            guard unmatched.isEmpty else {
                throw DriverError.noDriver(recipe: recipe, kernel: kernel, devices: unmatched.map { ($0.device.id, $0.description) })
            }
        }
        // The first device that pulls a module in is its reason, unless the recipe names it.
        var drives: [String: String] = [:]
        for match in matches {
            for module in match.modules where drives[module] == nil { drives[module] = match.device.id.description }
        }
        let closure: [(name: String, reason: ModuleGraph.Reason)]
        do {
            closure = try full.closure(of: requested + matches.flatMap(\.modules))
        } catch let .unknownModule(name, suggestions) {
            throw DriverError.unknownModule(name, suggestions: suggestions)
        } catch let .missingDependency(module, dependency) {
            throw DriverError.missingDependency(module: module, dependency: dependency)
        } catch {
            throw error
        }
        let named = Set(requested.compactMap { full[$0]?.name })
        var chosen: [ModuleGraph.Module] = []
        let choices = closure.compactMap { item -> DriverSelection.Choice? in
            guard let module = full[item.name] else { return nil }
            chosen.append(module)
            let size = (try? FileManagerSize.size(of: "\(dir)/\(module.path)")) ?? 0
            let reason: String
            switch item.reason {
            case .named: reason = named.contains(item.name) ? "named in the recipe" : "drives \(drives[item.name] ?? "a listed device")"
            case let .dependency(of): reason = "needed by \(of)"
            case let .softdep(of): reason = "soft dependency of \(of)"
            }
            return .init(name: item.name, path: module.path, reason: reason, size: size)
        }
        return DriverSelection(modules: choices, graph: ModuleGraph(chosen), devices: matches)
    }
}
