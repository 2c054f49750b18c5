import Foundation
import ImprintCore

/// The shared libraries a dynamically linked binary needs at run time, found the way ld.so finds them:
/// DT_NEEDED, resolved through DT_RUNPATH ($ORIGIN expanded), then the system's library directories.
struct ELFClosure {
    struct Library: Equatable {
        /// The name the loader looks for (`libcurl.so.4`), or the interpreter's path.
        var name: String
        /// Where it was found on this machine (symlinks resolved).
        var source: String
        /// Where it goes in the initrd, relative (`lib/x86_64-linux-gnu/libcurl.so.4`).
        var destination: String
        var size: Int
    }

    var libraries: [Library]
    var interpreter: String?

    /// The directories ld.so searches on Debian x86_64 after RUNPATH, plus `/etc/ld.so.conf.d`.
    static func systemDirectories() -> [String] {
        var dirs = ["/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"]
        let confDir = "/etc/ld.so.conf.d"
        for file in ((try? FileManager.default.contentsOfDirectory(atPath: confDir)) ?? []).sorted() where file.hasSuffix(".conf") {
            let text = (try? String(contentsOfFile: "\(confDir)/\(file)", encoding: .utf8)) ?? ""
            for line in text.split(separator: "\n") {
                let entry = line.trimmingCharacters(in: .whitespaces)
                if entry.hasPrefix("/") && !dirs.contains(entry) { dirs.append(entry) }
            }
        }
        return dirs
    }

    static func resolve(binary: String, searchDirs: [String] = systemDirectories()) throws -> ELFClosure {
        let fm = FileManager.default
        func load(_ path: String) throws -> ELFFile {
            guard let data = fm.contents(atPath: path) else { throw KernelError(message: "cannot read \(path)") }
            do { return try ELFFile([UInt8](data)) } catch {
                throw KernelError(message: "\(path) is not a usable ELF file: \(error)")
            }
        }
        let root = try load(binary)
        var libraries: [Library] = []
        var seen = Set<String>()
        var queue: [(name: String, origin: String, runpath: [String])] = root.needed.map {
            ($0, (binary as NSString).deletingLastPathComponent, root.runpath)
        }
        while !queue.isEmpty {
            let (name, origin, runpath) = queue.removeFirst()
            guard seen.insert(name).inserted else { continue }
            let dirs = runpath.map { $0.replacingOccurrences(of: "$ORIGIN", with: origin) } + searchDirs
            guard let found = dirs.lazy.map({ "\($0)/\(name)" }).first(where: { fm.fileExists(atPath: $0) }) else {
                throw KernelError(message: "\(binary) needs \(name), which is not on the library path (\(dirs.joined(separator: ":")))")
            }
            let real = realPath(found)
            let elf = try load(real)
            libraries.append(Library(name: name, source: real, destination: "lib/x86_64-linux-gnu/\(name)",
                                     size: (try? FileManagerSize.size(of: real)) ?? 0))
            queue += elf.needed.map { ($0, (real as NSString).deletingLastPathComponent, elf.runpath) }
        }
        if let interp = root.interpreter {
            let real = realPath(interp)
            let base = (interp as NSString).lastPathComponent
            // The loader itself lives beside the other libraries; its PT_INTERP path becomes a symlink.
            if !seen.contains(base) {
                libraries.append(Library(name: base, source: real, destination: "lib/x86_64-linux-gnu/\(base)",
                                         size: (try? FileManagerSize.size(of: real)) ?? 0))
            }
        }
        return ELFClosure(libraries: libraries.sorted { $0.destination < $1.destination }, interpreter: root.interpreter)
    }

    /// The union of this closure and `others` (the agent's and the tools' that run beside it): one
    /// copy of each library, sorted by destination; the interpreter stays this one's. Two binaries
    /// that need the same name from different files cannot share one library folder: that fails.
    func merging(_ others: [(binary: String, closure: ELFClosure)]) throws -> ELFClosure {
        var byDestination = Dictionary(uniqueKeysWithValues: libraries.map { ($0.destination, $0) })
        for (binary, other) in others {
            if let interpreter, let theirs = other.interpreter, theirs != interpreter {
                throw KernelError(message: "\(binary) asks for the loader \(theirs), the agent for \(interpreter); one initrd holds one")
            }
            for library in other.libraries {
                if let held = byDestination[library.destination] {
                    guard held.source == library.source else {
                        throw KernelError(message: "\(binary) needs \(library.name) from \(library.source), but the initrd already holds \(held.source) under that name")
                    }
                    continue
                }
                byDestination[library.destination] = library
            }
        }
        return ELFClosure(libraries: byDestination.values.sorted { $0.destination < $1.destination }, interpreter: interpreter)
    }
}

/// The path with every symlink resolved (realpath(3)); Foundation's `resolvingSymlinksInPath` stops
/// at relative link targets such as Debian's `libacl.so.1 -> libacl.so.1.1.2301`.
func realPath(_ path: String) -> String {
    guard let resolved = realpath(path, nil) else { return path }
    defer { free(resolved) }
    return String(cString: resolved)
}
