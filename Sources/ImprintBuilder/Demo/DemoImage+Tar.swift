import Foundation

extension DemoImage {
    /// Where the ESP's files sit in the tar form: the deploying agent mounts the `esp` partition there.
    static let espMountPoint = "boot/efi"

    /// The tar form (`--format tar`): the root tree as `mkfs.ext4 -d` copies it into the raw image's
    /// root, plus the UKI at `boot/efi/EFI/BOOT/BOOTX64.EFI` with its folders, for an agent that lays
    /// out `esp` (vfat, mounted at /boot/efi) and `root` (ext4, /) and extracts it. Every entry has the
    /// fixed epoch and owner root; `lost+found` is left to the agent's mke2fs.
    func writeTar(_ inputs: Inputs, initrd: String, uki: String, into work: String) throws -> TarArchiveWriter.Result {
        let staging = "\(work)/root"
        _ = try stageRoot(busybox: inputs.busybox.path("bin/busybox"), kernel: inputs.kernel.vmlinuz, initrd: initrd, at: staging)
        var entries = try Self.treeEntries(staging)
        if entries.contains(where: { $0.path == Self.espMountPoint || $0.path.hasPrefix(Self.espMountPoint + "/") }) {
            throw DemoError("the demo root already holds \(Self.espMountPoint): the ESP's files cannot go there")
        }
        // The ESP's folders are the agent's to make on vfat, which keeps no modes; in the tar, 0755 and 0644.
        let boot = "\(Self.espMountPoint)/EFI/BOOT"
        for folder in [Self.espMountPoint, "\(Self.espMountPoint)/EFI", boot] {
            entries.append(InitrdEntry(path: folder, mode: 0o755, content: .directory))
        }
        entries.append(InitrdEntry(path: "\(boot)/BOOTX64.EFI", mode: 0o644, content: .file(source: uki)))

        let fm = FileManager.default
        let partial = output + ".partial"
        try? fm.removeItem(atPath: partial)
        var done = false
        defer { if !done { try? fm.removeItem(atPath: partial) } }
        let written = try TarArchiveWriter.write(entries, to: partial, mtime: Self.epoch) { source in
            guard let data = fm.contents(atPath: source) else { throw DemoError("cannot read \(source)") }
            return [UInt8](data)
        }
        guard rename(partial, output) == 0 else {
            throw DemoError("cannot write \(output): \(String(cString: strerror(errno)))")
        }
        done = true
        return written
    }

    /// A staged tree's directories, regular files and symlinks, relative, with their permission
    /// bits; anything else (a device node, a socket) is an error, since the demo root holds none.
    static func treeEntries(_ root: String) throws -> [InitrdEntry] {
        let fm = FileManager.default
        guard let walker = fm.enumerator(atPath: root) else { throw DemoError("cannot read \(root)") }
        var entries: [InitrdEntry] = []
        while let relative = walker.nextObject() as? String {
            let path = "\(root)/\(relative)"
            let attributes = try fm.attributesOfItem(atPath: path)
            let mode = UInt32((attributes[.posixPermissions] as? NSNumber)?.intValue ?? 0)
            switch attributes[.type] as? FileAttributeType {
            case .typeDirectory?: entries.append(.init(path: relative, mode: mode, content: .directory))
            case .typeRegular?: entries.append(.init(path: relative, mode: mode, content: .file(source: path)))
            case .typeSymbolicLink?:
                entries.append(.init(path: relative, mode: 0o777, content: .symlink(target: try fm.destinationOfSymbolicLink(atPath: path))))
            default: throw DemoError("\(path) is neither a folder, a file nor a symlink: the demo tar holds no others")
            }
        }
        return entries
    }
}
