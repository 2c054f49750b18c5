import Foundation

/// `imprint usb MAC --device /dev/sdX`: the checks before a stick is overwritten, and the copy.
public enum StickWriter {
    /// A device that may be written: its kernel name and size; refused (with every reason) otherwise.
    public struct Target: Sendable {
        public var path: String
        public var name: String
        public var bytes: Int
        /// What `--force` let through, to print.
        public var overridden: [String]
    }

    /// Checks `path` against this machine's `/sys/block` and mounts (``StickCheck``).
    public static func check(_ path: String, force: Bool, facts: StickCheck.Facts = .gather()) throws -> Target {
        var info = stat()
        guard stat(path, &info) == 0 else { throw MediaError("cannot use --device \(path): \(FileIO.errnoText())") }
        guard (info.st_mode & S_IFMT) == S_IFBLK else {
            throw MediaError("\(path) is not a block device: give a stick's device (/dev/sdX; lsblk lists them), or write an image file with --out FILE")
        }
        let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        let name = String(resolved.split(separator: "/").last ?? "")
        let problems = facts.problems(name: name)
        let refusals = StickCheck.refusals(problems, force: force)
        guard refusals.isEmpty else {
            let listed = refusals.map { "  \($0)" }.joined(separator: "\n")
            throw MediaError("refusing to write \(path) (nothing was written):\n\(listed)")
        }
        let bytes = facts.disks.first { $0.name == name }?.bytes ?? 0
        return Target(path: path, name: name, bytes: bytes, overridden: problems.map(\.description))
    }

    /// Copies `image` onto the device and syncs it; bytes written. The device is opened exclusively
    /// (`O_EXCL`), which the kernel refuses while a partition of it is mounted.
    public static func copy(_ image: String, to device: String) throws -> Int {
        let source = open(image, O_RDONLY | O_CLOEXEC)
        guard source >= 0 else { throw MediaError("cannot read \(image): \(FileIO.errnoText())") }
        defer { close(source) }
        let target = open(device, O_WRONLY | O_EXCL | O_CLOEXEC)
        guard target >= 0 else {
            let busy = errno == EBUSY
            throw MediaError("cannot open \(device) for writing: \(FileIO.errnoText())\(busy ? " (it is in use: unmount it)" : "")")
        }
        var chunk = [UInt8](repeating: 0, count: 4 << 20)
        var total = 0
        while true {
            let count = chunk.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                close(target)
                throw MediaError("cannot read \(image): \(FileIO.errnoText())")
            }
            if count == 0 { break }
            var done = 0
            while done < count {
                let written = chunk[done..<count].withUnsafeBytes { write(target, $0.baseAddress, $0.count) }
                if written < 0 {
                    if errno == EINTR { continue }
                    let text = FileIO.errnoText()
                    close(target)
                    throw MediaError("writing \(device) failed after \(total + done) bytes: \(text); the stick is incomplete, write it again")
                }
                done += written
            }
            total += count
        }
        guard fsync(target) == 0 else {
            let text = FileIO.errnoText()
            close(target)
            throw MediaError("syncing \(device) failed: \(text); the stick may be incomplete, write it again")
        }
        close(target)
        return total
    }
}
