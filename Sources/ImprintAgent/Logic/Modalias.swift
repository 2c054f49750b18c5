import ImprintCore

/// Every device's `modalias` under `/sys/devices`, in path order, each once.
/// Symlinks are not followed (sysfs is full of them, and they loop); the depth
/// is bounded all the same.
public func scanModaliases(_ fs: any FileSystem, root: String = "/sys/devices", depthLimit: Int = 64) -> [String] {
    var found: [String] = []
    var seen: Set<String> = []
    func walk(_ directory: String, depth: Int) {
        guard depth <= depthLimit, let entries = try? fs.listDirectory(directory) else { return }
        for entry in entries {
            let path = directory + "/" + entry.name
            switch entry.kind {
            case .directory:
                walk(path, depth: depth + 1)
            case .regular where entry.name == "modalias":
                if let alias = fs.readValue(path), !alias.isEmpty, !seen.contains(alias) {
                    seen.insert(alias)
                    found.append(alias)
                }
            default:
                continue
            }
        }
    }
    walk(root, depth: 0)
    return found
}

/// Canonical names of the modules the kernel has: `/sys/module` lists loaded
/// modules and built-in ones with parameters.
public func presentModules(_ fs: any FileSystem) -> Set<String> {
    let entries = (try? fs.listDirectory("/sys/module")) ?? []
    return Set(entries.map { ModInfo.normalizedModuleName($0.name) })
}
