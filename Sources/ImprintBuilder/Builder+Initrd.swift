import Foundation
import ImprintCore

extension Builder {
    /// Where the initrd carries the manifest public key.
    public static let manifestKeyPath = "etc/imprint/manifest.pub"

    /// Everything the agent initrd holds, in the layout the agent expects (docs/initrd.md).
    /// `closure` holds the shared libraries of the agent and of the `tools` programs.
    func initrdEntries(kernel: KernelTree, drivers: DriverSelection, firmware: FirmwareSelection = FirmwareSelection(),
                       closure: ELFClosure, agent: String,
                       tools: [InitrdTool.Found]) throws -> [InitrdEntry] {
        var files: [InitrdEntry] = []
        files.append(.init(path: "dev/console", mode: 0o600, content: .characterDevice(major: 5, minor: 1)))
        files.append(.init(path: "init", mode: 0o777, content: .symlink(target: "usr/bin/imprint-agent")))
        files.append(.init(path: "usr/bin/imprint-agent", mode: 0o755, content: .file(source: agent)))
        if let manifestKey {
            files.append(.init(path: Self.manifestKeyPath, mode: 0o644, content: .bytes(Array((manifestKey + "\n").utf8))))
        }
        for found in tools {
            files.append(.init(path: found.tool.destination, mode: found.tool.mode, content: .file(source: found.source)))
        }
        for lib in closure.libraries {
            files.append(.init(path: lib.destination, mode: 0o755, content: .file(source: lib.source)))
        }
        if let interp = closure.interpreter, interp.hasPrefix("/") {
            let name = (interp as NSString).lastPathComponent
            let link = String(interp.dropFirst())
            if link != "lib/x86_64-linux-gnu/\(name)" {
                let depth = link.split(separator: "/").count - 1
                let up = String(repeating: "../", count: depth)
                files.append(.init(path: link, mode: 0o777, content: .symlink(target: "\(up)lib/x86_64-linux-gnu/\(name)")))
            }
        }

        let moduleRoot = "lib/modules/\(kernel.release)"
        let names = drivers.modules.map(\.name)
        for module in drivers.modules {
            files.append(.init(path: "\(moduleRoot)/\(module.path)", mode: 0o644, content: .file(source: "\(kernel.modulesDir)/\(module.path)")))
        }
        files.append(.init(path: "\(moduleRoot)/modules.dep", mode: 0o644, content: .bytes(Array(drivers.graph.renderModulesDep(names).utf8))))
        files.append(.init(path: "\(moduleRoot)/modules.alias", mode: 0o644, content: .bytes(Array(drivers.graph.renderModulesAlias(names).utf8))))
        // The kernel's firmware loader reads /lib/firmware itself (CONFIG_FW_LOADER; docs/profiles.md).
        for file in firmware.files {
            files.append(.init(path: file.initrdPath, mode: 0o644, content: .file(source: file.source)))
        }
        files.append(.init(path: "\(moduleRoot)/modules.softdep", mode: 0o644, content: .bytes(Array(drivers.graph.renderModulesSoftdep(names).utf8))))

        var profile: [(String, JSONValue)] = [
            ("version", .number(1)), ("profile", .string(recipe.profile)), ("kernel", .string(kernel.release)),
        ]
        if let server = recipe.agentServer { profile.append(("server", .string(server))) }
        profile.append(("built", .string(imprintVersion)))
        let profileJSON = JSONValue.object(JSONObject(profile)).serialized(pretty: true) + "\n"
        files.append(.init(path: "etc/imprint/profile.json", mode: 0o644, content: .bytes(Array(profileJSON.utf8))))

        if let overlay, FileManager.default.fileExists(atPath: overlay) {
            files += try overlayEntries(overlay)
        }

        // Every parent folder as its own entry, plus the mount points the agent uses.
        var dirs = Set(["dev", "proc", "sys", "run", "tmp", "etc", "etc/imprint", "mnt"])
        for file in files {
            var parts = file.path.split(separator: "/").dropLast()
            while !parts.isEmpty {
                dirs.insert(parts.joined(separator: "/"))
                parts = parts.dropLast()
            }
        }
        let taken = Set(files.map(\.path))
        files += dirs.subtracting(taken).map { InitrdEntry(path: $0, mode: $0 == "tmp" ? 0o1777 : 0o755, content: .directory) }
        return files
    }

    /// The overlay tree's files and symlinks, keeping their permission bits.
    private func overlayEntries(_ root: String) throws -> [InitrdEntry] {
        let fm = FileManager.default
        var out: [InitrdEntry] = []
        guard let walker = fm.enumerator(atPath: root) else { return [] }
        while let relative = walker.nextObject() as? String {
            let path = "\(root)/\(relative)"
            let attributes = try fm.attributesOfItem(atPath: path)
            let mode = UInt32((attributes[.posixPermissions] as? NSNumber)?.intValue ?? 0o644)
            switch attributes[.type] as? FileAttributeType {
            case .typeRegular?: out.append(.init(path: relative, mode: mode, content: .file(source: path)))
            case .typeSymbolicLink?: out.append(.init(path: relative, mode: 0o777, content: .symlink(target: try fm.destinationOfSymbolicLink(atPath: path))))
            case .typeDirectory?: out.append(.init(path: relative, mode: mode, content: .directory))
            default: continue
            }
        }
        return out
    }
}
