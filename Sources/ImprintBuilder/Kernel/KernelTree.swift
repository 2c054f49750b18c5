import Foundation

/// A kernel image and its module tree on disk, whatever it came from.
public struct KernelTree: Sendable {
    /// Path of the bzImage.
    public var vmlinuz: String
    /// `/lib/modules/<release>` (holding `kernel/...`).
    public var modulesDir: String
    /// The kernel release (`6.1.0-56-amd64`).
    public var release: String
    /// Where it came from, for build.json: `debian:linux-image-6.1.0-56-amd64=6.1.192-2` or `path:/boot/...`.
    public var source: String
}

public struct KernelError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

extension KernelTree {
    /// A local kernel: either a vmlinuz file (modules beside it in `modules`, else `/lib/modules/<release>`)
    /// or a directory with `boot/vmlinuz-*` and `lib/modules/<release>`.
    static func local(path: String, modules: String?) throws -> KernelTree {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDir) else {
            throw KernelError(message: "kernel path \(path) does not exist")
        }
        if isDir.boolValue {
            return try unpacked(root: path, source: "path:\(path)")
        }
        let name = (path as NSString).lastPathComponent
        guard name.hasPrefix("vmlinuz-") else {
            if let modules {
                let release = (modules as NSString).lastPathComponent
                return KernelTree(vmlinuz: path, modulesDir: modules, release: release, source: "path:\(path)")
            }
            throw KernelError(message: "cannot tell the kernel release of \(path): name it vmlinuz-RELEASE or give kernel.modules: /lib/modules/RELEASE")
        }
        let release = String(name.dropFirst("vmlinuz-".count))
        let dir = modules ?? "/lib/modules/\(release)"
        guard fm.fileExists(atPath: dir + "/kernel") else {
            throw KernelError(message: "no module tree for kernel \(release) at \(dir): give kernel.modules: DIR")
        }
        return KernelTree(vmlinuz: path, modulesDir: dir, release: release, source: "path:\(path)")
    }

    /// A tree laid out like a kernel package: `boot/vmlinuz-R` and `lib/modules/R/`.
    static func unpacked(root: String, source: String) throws -> KernelTree {
        let fm = FileManager.default
        let boot = (try? fm.contentsOfDirectory(atPath: root + "/boot")) ?? []
        let images = boot.filter { $0.hasPrefix("vmlinuz-") }.sorted()
        guard let image = images.last else {
            throw KernelError(message: "no boot/vmlinuz-* in \(root)")
        }
        let release = String(image.dropFirst("vmlinuz-".count))
        let modules = "\(root)/lib/modules/\(release)"
        guard fm.fileExists(atPath: modules) else {
            throw KernelError(message: "no lib/modules/\(release) in \(root)")
        }
        return KernelTree(vmlinuz: "\(root)/boot/\(image)", modulesDir: modules, release: release, source: source)
    }
}
