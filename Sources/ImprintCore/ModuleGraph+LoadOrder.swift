extension ModuleGraph {
    /// The order to load `name` in: every module after its `depends=` and softdep-pre modules,
    /// and softdep-post modules after the module that names them.
    ///
    /// Includes `name` itself and everything it pulls in, each once. Among modules free to load
    /// at the same point, the alphabetically first goes first; so the order depends only on
    /// which module must precede which, and a graph read back from the files
    /// ``renderModulesDep(_:)`` writes (whose `depends` are transitive) gives the same order.
    /// A cycle cannot hang it: when every remaining module waits on another, the
    /// alphabetically first is taken anyway. A dependency the graph does not hold is left out,
    /// as there is nothing to load; an unknown `name` gives an empty list.
    public func loadOrder(_ name: String) -> [String] {
        loadOrder(of: [name])
    }

    /// The order to load all of `names` and what they pull in, each module once, as in
    /// ``loadOrder(_:)``; names the graph does not hold are skipped.
    public func loadOrder(of names: [String]) -> [String] {
        // Everything reachable, with each "must load before" edge.
        var reachable: [String: Module] = [:]
        var successors: [String: Set<String>] = [:]
        var predecessors: [String: Set<String>] = [:]
        func edge(_ before: Module, _ after: Module) {
            guard before.name != after.name else { return }
            successors[before.name, default: []].insert(after.name)
            predecessors[after.name, default: []].insert(before.name)
        }
        var queue = names.compactMap { self[$0] }
        while let module = queue.popLast() {
            guard reachable.updateValue(module, forKey: module.name) == nil else { continue }
            for dependency in module.info.depends {
                guard let found = self[dependency] else { continue }
                edge(found, module)
                queue.append(found)
            }
            for softdep in module.info.softdepPre {
                for found in resolve(softdep: softdep, of: module) {
                    edge(found, module)
                    queue.append(found)
                }
            }
            for softdep in module.info.softdepPost {
                for found in resolve(softdep: softdep, of: module) {
                    edge(module, found)
                    queue.append(found)
                }
            }
        }

        // Kahn's algorithm, always taking the smallest name that is free to go.
        var waiting = reachable.keys.reduce(into: [String: Int]()) { $0[$1] = predecessors[$1]?.count ?? 0 }
        var ready = waiting.filter { $0.value == 0 }.map(\.key).sorted(by: >)  // smallest last
        var order: [String] = []
        var done: Set<String> = []
        while order.count < reachable.count {
            let next: String
            if let free = ready.popLast() {
                next = free
            } else if let stuck = waiting.filter({ !done.contains($0.key) }).map(\.key).min() {
                next = stuck  // a cycle: break it deterministically
            } else {
                break
            }
            guard done.insert(next).inserted else { continue }
            order.append(next)
            for successor in successors[next] ?? [] where !done.contains(successor) {
                let remaining = (waiting[successor] ?? 1) - 1
                waiting[successor] = remaining
                if remaining == 0 {
                    let at = ready.firstIndex { $0 < successor } ?? ready.endIndex
                    ready.insert(successor, at: at)
                }
            }
        }
        return order
    }

    /// `module`'s transitive `depends=` modules, without softdeps and without `module`, each
    /// after its own dependencies (a depth-first post-order over `depends=` as written, as
    /// depmod orders `modules.dep`).
    func dependencyOrder(_ module: Module) -> [Module] {
        var seen: Set<String> = []
        var order: [Module] = []
        func visit(_ current: Module) {
            // Marking on the way in, not out, is what makes cycles terminate.
            guard seen.insert(current.name).inserted else { return }
            for dependency in current.info.depends {
                if let found = self[dependency] { visit(found) }
            }
            order.append(current)
        }
        visit(module)
        return order.filter { $0.name != module.name }
    }
}
