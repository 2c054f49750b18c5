import Glibc
@testable import ImprintAgent

/// A temporary directory standing in for a machine's root: tests build a fake
/// /sys, /proc and /lib/modules in it. Removed when released.
final class FakeRoot {
    let path: String
    let fs: RootedFileSystem

    init() {
        var template = Array("/tmp/imprint-agent-test.XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress.flatMap { mkdtemp($0) }.map { String(cString: $0) }
        }
        path = made ?? "/tmp/imprint-agent-test.failed"
        fs = RootedFileSystem(root: path)
    }

    deinit {
        Self.remove(path)
    }

    /// Writes `content` at `relative` (such as `sys/block/vda/size`), creating parents.
    func write(_ relative: String, _ content: String) {
        let full = path + "/" + relative
        makeDirectory(parent(of: relative))
        let fd = open(full, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var bytes = Array(content.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
    }

    /// Creates a directory (and its parents).
    func makeDirectory(_ relative: String) {
        var current = path
        for component in relative.split(separator: "/") {
            current += "/" + component
            mkdir(current, 0o755)
        }
    }

    /// Creates a symlink at `relative` pointing to `target` (as written).
    func symlink(_ relative: String, to target: String) {
        makeDirectory(parent(of: relative))
        Glibc.symlink(target, path + "/" + relative)
    }

    private func parent(of relative: String) -> String {
        relative.split(separator: "/").dropLast().joined(separator: "/")
    }

    private static func remove(_ path: String) {
        guard path.hasPrefix("/tmp/imprint-agent-test.") else { return }
        func removeTree(_ directory: String) {
            for entry in (try? RootedFileSystem().listDirectory(directory)) ?? [] {
                let full = directory + "/" + entry.name
                if entry.kind == .directory { removeTree(full) } else { unlink(full) }
            }
            rmdir(directory)
        }
        removeTree(path)
    }
}
