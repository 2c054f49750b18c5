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
    var modules: [Choice]
    /// The chosen modules only. A soft dependency that names an alias stays as the kernel wrote it;
    /// `ModuleGraph` resolves it through the aliases of the chosen modules, at build and at boot.
    var graph: ModuleGraph
}

enum DriverError: Error, CustomStringConvertible {
    case unknownModule(String, suggestions: [String])
    case missingDependency(module: String, dependency: String)

    var description: String {
        switch self {
        case let .unknownModule(name, suggestions):
            let hint = suggestions.isEmpty ? "" : " (closest: \(suggestions.joined(separator: ", ")))"
            return "unknown kernel module '\(name)'\(hint): check drivers.modules in the recipe"
        case let .missingDependency(module, dependency):
            return "module \(module) depends on \(dependency), which this kernel does not ship"
        }
    }
}

extension ModuleTree {
    /// The requested modules and their closure. A soft dependency may name an alias (`crypto-crc32c`):
    /// like modprobe, every module with a matching alias is taken.
    func select(_ requested: [String]) throws -> DriverSelection {
        let full = graph
        let closure: [(name: String, reason: ModuleGraph.Reason)]
        do {
            closure = try full.closure(of: requested)
        } catch let .unknownModule(name, suggestions) {
            throw DriverError.unknownModule(name, suggestions: suggestions)
        } catch let .missingDependency(module, dependency) {
            throw DriverError.missingDependency(module: module, dependency: dependency)
        } catch {
            throw error
        }
        var chosen: [ModuleGraph.Module] = []
        let choices = closure.compactMap { item -> DriverSelection.Choice? in
            guard let module = full[item.name] else { return nil }
            chosen.append(module)
            let size = (try? FileManagerSize.size(of: "\(dir)/\(module.path)")) ?? 0
            let reason: String
            switch item.reason {
            case .named: reason = "named in the recipe"
            case let .dependency(of): reason = "needed by \(of)"
            case let .softdep(of): reason = "soft dependency of \(of)"
            }
            return .init(name: item.name, path: module.path, reason: reason, size: size)
        }
        return DriverSelection(modules: choices, graph: ModuleGraph(chosen))
    }
}
