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
    /// The chosen modules only, soft dependencies resolved from aliases to module names, so the agent
    /// (which has no modprobe) can order its loads from `modules.softdep` alone.
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
        let full = graph.resolvingSoftdepAliases()
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

extension ModuleGraph {
    /// A copy in which each soft dependency that is not a module name is replaced by the modules whose
    /// aliases match it; one that matches nothing is dropped (kernels list optional soft dependencies).
    func resolvingSoftdepAliases() -> ModuleGraph {
        var byAlias: [String: [String]] = [:]
        func resolve(_ name: String) -> [String] {
            if self[name] != nil { return [name] }
            if let hit = byAlias[name] { return hit }
            let hit = names.filter { candidate in
                self[candidate]?.info.aliases.contains { globMatch($0, name) } ?? false
            }
            byAlias[name] = hit
            return hit
        }
        let modules = names.compactMap { self[$0] }.map { module -> Module in
            var module = module
            module.info.softdepPre = module.info.softdepPre.flatMap(resolve)
            module.info.softdepPost = module.info.softdepPost.flatMap(resolve)
            return module
        }
        return ModuleGraph(modules)
    }
}
