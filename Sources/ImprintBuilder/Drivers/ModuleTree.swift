import Foundation
import ImprintCore

/// Every module of one kernel, with the dependencies, soft dependencies and aliases its `.modinfo`
/// declares. Reading ~4,000 modules takes a few seconds, so the result is cached in the kernel's own
/// text formats (`modules.dep`, `modules.alias`, `modules.softdep`), as depmod would write them.
struct ModuleTree {
    let dir: String
    let graph: ModuleGraph

    /// Loads the index from `cacheDir` when it is there, else reads every module under `dir/kernel`
    /// and writes the index to `cacheDir`.
    init(dir: String, cacheDir: String) throws {
        self.dir = dir
        let fm = FileManager.default
        let files = ["modules.dep", "modules.alias", "modules.softdep"].map { "\(cacheDir)/\($0)" }
        if files.allSatisfy({ fm.fileExists(atPath: $0) }),
           let texts = try? files.map({ try String(contentsOfFile: $0, encoding: .utf8) }),
           let graph = try? ModuleGraph(modulesDep: texts[0], modulesAlias: texts[1], modulesSoftdep: texts[2]) {
            self.graph = graph
            return
        }
        graph = try Self.scan(dir: dir)
        let names = graph.names
        let partial = cacheDir + ".partial"
        try? fm.removeItem(atPath: partial)
        try fm.createDirectory(atPath: partial, withIntermediateDirectories: true)
        try graph.renderModulesDep(names).write(toFile: "\(partial)/modules.dep", atomically: false, encoding: .utf8)
        try graph.renderModulesAlias(names).write(toFile: "\(partial)/modules.alias", atomically: false, encoding: .utf8)
        try graph.renderModulesSoftdep(names).write(toFile: "\(partial)/modules.softdep", atomically: false, encoding: .utf8)
        try? fm.removeItem(atPath: cacheDir)
        try fm.moveItem(atPath: partial, toPath: cacheDir)
    }

    /// Reads the `.modinfo` of every `.ko` under `dir/kernel`, on every core.
    static func scan(dir: String) throws -> ModuleGraph {
        guard let walker = FileManager.default.enumerator(atPath: dir + "/kernel") else {
            throw KernelError(message: "no kernel/ module tree in \(dir)")
        }
        var paths: [String] = []
        while let relative = walker.nextObject() as? String {
            if relative.hasSuffix(".ko") { paths.append("kernel/" + relative) }
        }
        guard !paths.isEmpty else { throw KernelError(message: "no modules (.ko) under \(dir)/kernel") }
        let all = paths
        let results = ResultBox(count: all.count)
        DispatchQueue.concurrentPerform(iterations: all.count) { i in
            results.set(i, Result { try module(dir: dir, path: all[i]) })
        }
        return ModuleGraph(try results.values.map { try $0.get() })
    }

    static func module(dir: String, path: String) throws -> ModuleGraph.Module {
        let name = ModInfo.moduleName(fromPath: path)
        guard let data = FileManager.default.contents(atPath: "\(dir)/\(path)") else {
            throw KernelError(message: "cannot read \(dir)/\(path)")
        }
        let elf: ELFFile
        do { elf = try ELFFile([UInt8](data)) } catch {
            throw KernelError(message: "\(dir)/\(path): \(error)")
        }
        guard let section = elf.section(named: ".modinfo") else {
            throw KernelError(message: "\(dir)/\(path) has no .modinfo section: not a kernel module")
        }
        return ModuleGraph.Module(name: name, path: path, info: ModInfo(name: name, modinfo: section))
    }
}

/// Results written from concurrent iterations, each to its own slot.
private final class ResultBox: @unchecked Sendable {
    private var slots: [Result<ModuleGraph.Module, Error>?]
    private let lock = NSLock()
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ value: Result<ModuleGraph.Module, Error>) {
        lock.lock(); slots[i] = value; lock.unlock()
    }
    var values: [Result<ModuleGraph.Module, Error>] {
        slots.map { $0 ?? .failure(KernelError(message: "module scan incomplete")) }
    }
}
