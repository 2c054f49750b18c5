import ImprintCore

/// One module to load, and the device alias that called for it.
public struct PlannedLoad: Equatable, Sendable {
    /// The module's name as `modules.dep` spells it.
    public var name: String
    /// Relative to `/lib/modules/<release>`: `kernel/drivers/net/virtio_net.ko`.
    public var path: String
    /// The modalias whose match brought the module in (a dependency carries
    /// the alias of the module that needs it).
    public var modalias: String

    public init(name: String, path: String, modalias: String) {
        self.name = name
        self.path = path
        self.modalias = modalias
    }
}

/// Plans one coldplug pass: for each device alias in order, every module whose
/// `modules.alias` pattern matches it, each in `loadOrder` (dependencies and
/// `softdep` pre modules first), skipping what is in `loaded` (names with `-` as `_`,
/// as `/sys/module` has them) or already planned, and the whole load order of a
/// matched module that is.
public func planColdplug(modaliases: [String], graph: ModuleGraph, loaded: Set<String>) -> [PlannedLoad] {
    var plan: [PlannedLoad] = []
    var seen = loaded
    for modalias in modaliases {
        // A module in the kernel has its dependencies there too: skip its
        // whole load order, as modprobe does.
        for match in graph.modules(matchingModalias: modalias) where !seen.contains(ModInfo.normalizedModuleName(match)) {
            for name in graph.loadOrder(match) {
                let canonical = ModInfo.normalizedModuleName(name)
                if seen.contains(canonical) { continue }
                seen.insert(canonical)
                // loadOrder names only modules the graph holds.
                guard let module = graph[name] else { continue }
                plan.append(PlannedLoad(name: module.name, path: module.path, modalias: modalias))
            }
        }
    }
    return plan
}
