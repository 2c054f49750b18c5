import CLinux
import Glibc

/// What a module load did.
public enum LoadOutcome: Equatable, Sendable {
    case loaded
    /// The kernel already had it (`EEXIST`).
    case alreadyLoaded
}

/// Puts a kernel module into the running kernel.
public protocol ModuleLoader {
    /// Loads the module `name` from `file`, a real path on this machine.
    func load(name: String, file: String) throws(SystemError) -> LoadOutcome
    /// True when nothing is really loaded (host mode), so the log can say
    /// "would load".
    var isDryRun: Bool { get }
}

extension ModuleLoader {
    public var isDryRun: Bool { false }
}

/// `finit_module(2)` on the module file: the kernel reads it itself.
public struct KernelModuleLoader: ModuleLoader {
    public init() {}

    public func load(name: String, file: String) throws(SystemError) -> LoadOutcome {
        let fd = try Syscall.retrying("open \(file)") { open(file, O_RDONLY | O_CLOEXEC) }
        defer { close(fd) }
        do {
            _ = try Syscall.retrying("load \(name)") { imprint_finit_module(fd, "", 0) }
        } catch {
            if error.code == EEXIST { return .alreadyLoaded }
            throw error
        }
        return .loaded
    }
}

/// Loads nothing: host mode plans a coldplug without touching the kernel.
public struct DryRunModuleLoader: ModuleLoader {
    public init() {}

    public var isDryRun: Bool { true }

    public func load(name: String, file: String) throws(SystemError) -> LoadOutcome {
        .loaded
    }
}
