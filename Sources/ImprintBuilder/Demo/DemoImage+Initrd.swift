import Foundation

extension DemoImage {
    struct BuiltInitrd {
        var path: String
        var size: Int
        /// Load order.
        var modules: [String]
    }

    /// The UKI's initrd: busybox, the root disk's modules in load order and `/init`, as zstd newc cpio.
    func buildInitrd(_ inputs: Inputs, into work: String) throws -> BuiltInitrd {
        let selection = try inputs.tree.select(Self.rootModules)
        let order = selection.graph.loadOrder(of: selection.modules.map(\.name))
        // A soft dependency (ext4's crc32c: crc32c_intel or crc32c_generic) has an alternative; it may fail quietly.
        let optional = Set(selection.modules.filter { $0.reason.hasPrefix("soft dependency") }.map(\.name))
        var entries: [InitrdEntry] = [
            .init(path: "dev", mode: 0o755, content: .directory),
            .init(path: "dev/console", mode: 0o600, content: .characterDevice(major: 5, minor: 1)),
            .init(path: "proc", mode: 0o755, content: .directory),
            .init(path: "sys", mode: 0o755, content: .directory),
            .init(path: "newroot", mode: 0o755, content: .directory),
            .init(path: "bin", mode: 0o755, content: .directory),
            .init(path: "bin/busybox", mode: 0o755, content: .file(source: inputs.busybox.path("bin/busybox"))),
            .init(path: "lib", mode: 0o755, content: .directory),
            .init(path: "lib/modules", mode: 0o755, content: .directory),
            .init(path: "init", mode: 0o755, content: .bytes(Array(DemoScripts.initrdInit(modules: order, optional: optional).utf8))),
        ]
        for module in selection.modules {
            entries.append(.init(path: "lib/modules/\(module.name).ko", mode: 0o644,
                                 content: .file(source: "\(inputs.kernel.modulesDir)/\(module.path)")))
        }
        let path = "\(work)/initrd.img"
        let written = try CpioArchiveWriter.write(entries, to: path, zstdLevel: 19) { source in
            guard let data = FileManager.default.contents(atPath: source) else { throw DemoError("cannot read \(source)") }
            return [UInt8](data)
        }
        return BuiltInitrd(path: path, size: written.compressedSize, modules: order)
    }
}
