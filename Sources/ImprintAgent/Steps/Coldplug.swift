import Glibc
import ImprintCore

/// What coldplug did, for the summary line and, later, the report.
public struct ColdplugReport: Equatable, Sendable {
    /// Modules loaded (or, dry, that would be), in order.
    public var loaded: [String] = []
    /// Modules whose load failed.
    public var failed: [String] = []
    /// Passes run, counting the last one that found nothing to load.
    public var passes = 0
    public var milliseconds: UInt64 = 0
    /// Network and storage controllers with no driver bound once coldplug was done: the profile
    /// lacks their modules. Empty after a dry run, which binds nothing.
    public var unbound: [PCIDevice] = []

    public init() {}
}

/// Loads the driver of every device, as udev's coldplug would: each device's
/// `modalias` matched against `modules.alias`, loaded in `modules.dep` order.
/// Loading a bus driver creates more devices (virtio_pci makes `virtio:` ones,
/// SCSI hosts scan asynchronously), so passes repeat, after discovery goes
/// quiet, until one finds nothing new to load. A failed load is logged, never fatal.
/// Then every network or storage controller still without a driver is logged as a warning
/// (the profile lacks its module) and kept in ``ColdplugReport/unbound``.
public struct Coldplug: BootStep {
    public var settle: SettlePolicy
    /// A bound on passes, against a driver that keeps making devices.
    public var passLimit: Int

    public init(settle: SettlePolicy = SettlePolicy(), passLimit: Int = 16) {
        self.settle = settle
        self.passLimit = passLimit
    }

    public var description: String { "coldplug" }

    public func run(_ context: AgentContext) throws(AgentError) {
        let fs = context.fs
        let log = context.log
        let loader = context.loader
        guard let release = context.kernelRelease else {
            throw AgentError("coldplug before the kernel release is known", hint: "run FindKernelRelease first (a bug in the agent's steps)")
        }
        let moduleDirectory = "/lib/modules/" + release
        let graph = try Self.loadGraph(fs, directory: moduleDirectory, log: log)
        context.moduleGraph = graph

        let start = context.clock.milliseconds()
        var report = ColdplugReport()
        var attempted: Set<String> = []
        var plan: [PlannedLoad] = []
        while report.passes < passLimit {
            report.passes += 1
            plan = planColdplug(modaliases: scanModaliases(fs), graph: graph,
                                loaded: attempted.union(presentModules(fs)))
            if plan.isEmpty { break }

            var loadedThisPass = 0
            for load in plan {
                attempted.insert(ModInfo.normalizedModuleName(load.name))
                let file = fs.hostPath(moduleDirectory + "/" + load.path)
                do {
                    switch try loader.load(name: load.name, file: file) {
                    case .loaded:
                        loadedThisPass += 1
                        report.loaded.append(load.name)
                        log.info("\(loader.isDryRun ? "would load" : "load") \(load.name) (for \(load.modalias))")
                    case .alreadyLoaded:
                        log.info("\(load.name) was already loaded (for \(load.modalias))")
                    }
                } catch {
                    report.failed.append(load.name)
                    log.warning("load \(load.name) failed: \(Self.explain(error)) (for \(load.modalias))")
                }
            }
            // A dry run changes nothing in sysfs: there is nothing to wait for.
            if loadedThisPass > 0 && !loader.isDryRun {
                let settled = waitUntilSettled(settle, clock: context.clock) { scanModaliases(fs) }
                if !settled {
                    log.warning("devices still appearing after \(settle.limitMilliseconds) ms; going on")
                }
            }
        }
        if !plan.isEmpty {
            log.warning("coldplug stopped after \(passLimit) passes with modules still to load")
        }
        report.milliseconds = context.clock.milliseconds() &- start
        let verb = loader.isDryRun ? "would load" : "loaded"
        log.info("coldplug \(verb) \(report.loaded.count) modules in \(report.passes) passes (\(report.milliseconds) ms)")
        // A dry run binds nothing: every controller would look unbound.
        if !loader.isDryRun {
            report.unbound = PCIDevice.unbound(PCIDevice.gather(from: fs))
            for device in report.unbound {
                log.warning(device.unboundMessage)
            }
        }
        context.coldplug = report
    }

    /// The module graph from the initrd's `modules.dep`, `modules.alias` and
    /// `modules.softdep`. A missing `modules.dep` is fatal, since no driver
    /// could load: usually the initrd was built for another kernel.
    static func loadGraph(_ fs: any FileSystem, directory: String, log: Log) throws(AgentError) -> ModuleGraph {
        let dep: String
        do {
            dep = try fs.readFile(directory + "/modules.dep")
        } catch {
            if fs.exists(directory) {
                throw AgentError("\(error)", hint: "this initrd is incomplete: rebuild it with imprint build")
            }
            let present = ((try? fs.listDirectory("/lib/modules")) ?? []).map(\.name)
            let has = present.isEmpty ? "none" : present.joined(separator: ", ")
            throw AgentError("\(error) (this initrd has modules for: \(has))",
                             hint: "boot the kernel this initrd was built for, or rebuild it with imprint build")
        }
        func optional(_ name: String) -> String {
            do {
                return try fs.readFile(directory + "/" + name)
            } catch {
                log.warning("\(error); going on without it")
                return ""
            }
        }
        let alias = optional("modules.alias")
        let softdep = optional("modules.softdep")
        do {
            return try ModuleGraph(modulesDep: dep, modulesAlias: alias, modulesSoftdep: softdep)
        } catch {
            throw AgentError("\(directory): \(error)", hint: "rebuild the initrd with imprint build")
        }
    }

    /// `finit_module`'s errors say little; `ENOENT` after the file opened is
    /// the kernel's "unknown symbol".
    static func explain(_ error: SystemError) -> String {
        if error.operation.hasPrefix("load ") {
            switch error.code {
            case Int32(ENOENT): return "\(error.reason): an unknown symbol, a dependency missing from modules.dep (see dmesg)"
            case Int32(ENOEXEC): return "\(error.reason): not a module for this kernel"
            default: break
            }
        }
        return error.description
    }
}

extension Coldplug {
    /// Loads what a file system type needs (`fs-ext4` in `modules.alias`, with its dependencies and
    /// soft dependencies), as the kernel's `request_module` would with a modprobe: the initrd has
    /// none, and no device's modalias asks for a file system. Returns why it could not, or nil.
    static func loadFilesystem(_ type: String, context: AgentContext) -> String? {
        guard let release = context.kernelRelease else { return "the kernel release is unknown" }
        let directory = "/lib/modules/" + release
        let graph: ModuleGraph
        if let known = context.moduleGraph {
            graph = known
        } else {
            do {
                graph = try loadGraph(context.fs, directory: directory, log: context.log)
            } catch {
                return error.description
            }
            context.moduleGraph = graph
        }
        var plan = planColdplug(modaliases: ["fs-\(type)"], graph: graph, loaded: presentModules(context.fs))
        // vfat asks for its code pages through request_module, which finds no modprobe here.
        if type == "vfat" {
            var seen = presentModules(context.fs).union(plan.map { ModInfo.normalizedModuleName($0.name) })
            for name in ["nls_cp437", "nls_ascii", "nls_utf8", "nls_iso8859_1"] where graph[name] != nil {
                for dependency in graph.loadOrder(name) where seen.insert(ModInfo.normalizedModuleName(dependency)).inserted {
                    if let module = graph[dependency] { plan.append(PlannedLoad(name: module.name, path: module.path, modalias: "vfat code page")) }
                }
            }
        }
        for load in plan {
            do {
                _ = try context.loader.load(name: load.name, file: context.fs.hostPath(directory + "/" + load.path))
                context.log.info("load \(load.name) (for \(load.modalias))")
            } catch {
                // A soft dependency may fail (crc32c_intel under TCG) while a fallback works.
                context.log.warning("load \(load.name) failed: \(explain(error)) (for \(load.modalias))")
            }
        }
        return nil
    }
}
