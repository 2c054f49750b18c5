/// A kernel's modules by name, with what each needs: the pure half of driver resolution
/// (`modules.dep`, `modules.alias`, `modules.softdep`), shared by the builder and the agent.
///
/// Names are looked up with dashes and underscores treated alike, as the kernel does:
/// `graph["crc32c-intel"]` finds `crc32c_intel`.
public struct ModuleGraph: Sendable {
    /// One module file and what its `.modinfo` says.
    public struct Module: Equatable, Sendable {
        /// The module's name (`virtio_net`).
        public var name: String
        /// The file, relative to `/lib/modules/<kver>` (`kernel/drivers/net/virtio_net.ko`).
        public var path: String
        /// Its dependencies, aliases and firmware.
        public var info: ModInfo

        public init(name: String, path: String, info: ModInfo) {
            self.name = name
            self.path = path
            self.info = info
        }
    }

    /// Why a module is in a ``ModuleGraph/closure(of:)``.
    public enum Reason: Equatable, Sendable {
        /// It was asked for.
        case named
        /// The named module lists it in `depends=`.
        case dependency(of: String)
        /// The named module lists it (or an alias of it) in `softdep=`.
        case softdep(of: String)
    }

    /// Modules keyed by their normalised name (dashes as underscores).
    let byName: [String: Module]

    /// A graph of `modules`; a later module with the same (normalised) name replaces an
    /// earlier one.
    public init(_ modules: [Module]) {
        var byName: [String: Module] = [:]
        for module in modules {
            byName[ModInfo.normalizedModuleName(module.name)] = module
        }
        self.byName = byName
    }

    /// Every module's name, sorted.
    public var names: [String] {
        byName.values.map(\.name).sorted()
    }

    /// The module called `name` (dashes and underscores alike), if the graph holds it.
    public subscript(name: String) -> Module? {
        byName[name] ?? byName[ModInfo.normalizedModuleName(name)]
    }

    /// The requested modules and everything they pull in, transitively: each `depends=`
    /// module and each `softdep` pre or post module, with the first reason it was added
    /// (`.named` wins over any other); sorted by name.
    ///
    /// A softdep may name a module or an alias (`crypto-crc32c` stands for `crc32c_generic` and
    /// `crc32c_intel`); one that matches nothing is ignored, since kernels list optional
    /// softdeps. A `depends=` entry that matches no module is an error.
    public func closure(of requested: [String]) throws(ModuleGraphError) -> [(name: String, reason: Reason)] {
        var reasons: [String: Reason] = [:]
        var queue: [Module] = []
        for name in requested {
            guard let module = self[name] else {
                throw .unknownModule(name: name, suggestions: suggestions(for: name))
            }
            if reasons.updateValue(.named, forKey: module.name) == nil {
                queue.append(module)
            }
        }

        var next = 0
        while next < queue.count {
            let module = queue[next]
            next += 1
            func add(_ found: Module, _ reason: Reason) {
                if reasons[found.name] == nil {
                    reasons[found.name] = reason
                    queue.append(found)
                }
            }
            for dependency in module.info.depends {
                guard let found = self[dependency] else {
                    throw .missingDependency(module: module.name, dependency: dependency)
                }
                add(found, .dependency(of: module.name))
            }
            for softdep in module.info.softdepPre + module.info.softdepPost {
                for found in resolve(softdep: softdep, of: module) {
                    add(found, .softdep(of: module.name))
                }
            }
        }
        return reasons.map { (name: $0.key, reason: $0.value) }.sorted { $0.name < $1.name }
    }

    /// Names of the modules with an alias that `modalias` matches (a device's
    /// `/sys/.../modalias`, such as `virtio:d00000001v00001AF4`); sorted, without duplicates.
    public func modules(matchingModalias modalias: String) -> [String] {
        byName.values
            .filter { module in module.info.aliases.contains { globMatch($0, modalias) } }
            .map(\.name)
            .sorted()
    }

    /// The modules with a `pci:` alias that matches `id` for certain (``PCIID/matches(alias:)``), sorted.
    public func modules(matchingPCI id: PCIID) -> [String] {
        byName.values
            .filter { module in module.info.aliases.contains { $0.hasPrefix("pci:") && id.matches(alias: $0) } }
            .map(\.name)
            .sorted()
    }

    /// The modules a softdep entry stands for: the module of that name, else every module with
    /// an alias it matches (sorted by name), never `owner` itself; empty when none exists.
    func resolve(softdep: String, of owner: Module) -> [Module] {
        if let module = self[softdep] {
            return module.name == owner.name ? [] : [module]
        }
        return byName.values
            .filter { $0.name != owner.name && $0.info.aliases.contains { globMatch($0, softdep) } }
            .sorted { $0.name < $1.name }
    }
}
