import Foundation
import ImprintCore

/// Every module of one kernel, with the dependencies, soft dependencies, aliases and firmware its
/// `.modinfo` declares. Reading ~4,000 modules takes seconds, so the result is cached as one
/// tab-separated line per module (the kernel's modules.dep is transitive, so it would lose which
/// module needs which).
struct ModuleTree {
    let dir: String
    let graph: ModuleGraph

    /// Loads the index from `cacheFile` when it is there, else reads every module under `dir/kernel`
    /// and writes the index to `cacheFile`.
    init(dir: String, cacheFile: String) throws {
        self.dir = dir
        let fm = FileManager.default
        if let text = try? String(contentsOfFile: cacheFile, encoding: .utf8), let modules = Self.parseIndex(text) {
            graph = ModuleGraph(modules)
            return
        }
        graph = try Self.scan(dir: dir)
        try fm.createDirectory(atPath: (cacheFile as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let modules = graph.names.compactMap { graph[$0] }
        try Self.renderIndex(modules).write(toFile: cacheFile, atomically: true, encoding: .utf8)
    }

    static let indexHeader = "# imprint module index v1: path depends softdep-pre softdep-post aliases firmware"

    /// One line per module: path, then space-separated lists, separated by tabs.
    static func renderIndex(_ modules: [ModuleGraph.Module]) -> String {
        var out = indexHeader + "\n"
        for m in modules {
            let fields = [m.path] + [m.info.depends, m.info.softdepPre, m.info.softdepPost, m.info.aliases, m.info.firmware]
                .map { $0.joined(separator: " ") }
            out += fields.joined(separator: "\t") + "\n"
        }
        return out
    }

    /// The modules of an index, or nil when it is not one this version wrote.
    static func parseIndex(_ text: String) -> [ModuleGraph.Module]? {
        var lines = text.split(separator: "\n")
        guard lines.first == Substring(indexHeader) else { return nil }
        lines.removeFirst()
        var modules: [ModuleGraph.Module] = []
        for line in lines {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count == 6 else { return nil }
            let list = { (i: Int) in fields[i].split(separator: " ").map(String.init) }
            let path = String(fields[0])
            let name = ModInfo.moduleName(fromPath: path)
            var info = ModInfo(name: name, modinfo: [UInt8]())
            info.depends = list(1); info.softdepPre = list(2); info.softdepPost = list(3)
            info.aliases = list(4); info.firmware = list(5)
            modules.append(ModuleGraph.Module(name: name, path: path, info: info))
        }
        return modules
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
