extension ModuleGraph {
    /// `modules.dep` for the modules `names`, one line per module sorted by name:
    ///
    ///     kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko kernel/net/core/failover.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
    ///
    /// Each line lists the module's full transitive `depends=` set as depmod does: loading the
    /// list from right to left, then the module, satisfies every dependency. `names` should be
    /// a ``closure(of:)``, so that every listed path has a line of its own; names the graph
    /// does not hold are skipped.
    public func renderModulesDep(_ names: [String]) -> String {
        var text = ""
        for module in selected(names) {
            text += module.path + ":"
            for dependency in dependencyOrder(module).reversed() {
                text += " " + dependency.path
            }
            text += "\n"
        }
        return text
    }

    /// `modules.alias` for the modules `names`: `alias PATTERN modname` lines, modules sorted
    /// by name, each module's aliases in its own order.
    public func renderModulesAlias(_ names: [String]) -> String {
        var text = ""
        for module in selected(names) {
            for alias in module.info.aliases {
                text += "alias \(alias) \(module.name)\n"
            }
        }
        return text
    }

    /// `modules.softdep` for the modules `names`: one `softdep mod pre: a b post: c` line per
    /// module that has softdeps, sorted by name; entries are kept as written (aliases too).
    public func renderModulesSoftdep(_ names: [String]) -> String {
        var text = ""
        for module in selected(names) {
            let info = module.info
            guard !info.softdepPre.isEmpty || !info.softdepPost.isEmpty else { continue }
            text += "softdep \(module.name)"
            if !info.softdepPre.isEmpty { text += " pre: " + info.softdepPre.joined(separator: " ") }
            if !info.softdepPost.isEmpty { text += " post: " + info.softdepPost.joined(separator: " ") }
            text += "\n"
        }
        return text
    }

    /// The modules of `names` that the graph holds, once each, sorted by name.
    private func selected(_ names: [String]) -> [Module] {
        var seen: Set<String> = []
        return names.compactMap { self[$0] }
            .filter { seen.insert($0.name).inserted }
            .sorted { $0.name < $1.name }
    }
}
