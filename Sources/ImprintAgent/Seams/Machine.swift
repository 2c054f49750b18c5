import CLinux
import Glibc

/// A file system to mount: one of PID 1's first steps.
public struct MountSpec: Equatable, Sendable, CustomStringConvertible {
    public var source: String
    public var target: String
    public var type: String
    public var flags: UInt
    public var data: String?

    public init(source: String, target: String, type: String, flags: UInt, data: String? = nil) {
        self.source = source
        self.target = target
        self.type = type
        self.flags = flags
        self.data = data
    }

    public var description: String { "\(type) on \(target)" }
}

/// What the agent does to the machine as a whole, apart from files and modules.
public protocol Machine {
    /// Creates a directory (and its parents); an existing one is fine.
    func makeDirectory(_ path: String) throws(SystemError)
    /// Whether `path` is already a mount point (its device differs from its parent's).
    func isMountPoint(_ path: String) -> Bool
    func mount(_ spec: MountSpec) throws(SystemError)
    /// `uname -r`.
    func kernelRelease() -> String?
    /// Opens a console device for writing log lines.
    func openConsole(_ console: ConsoleEntry) throws(SystemError) -> any LogSink
    /// Flushes file system buffers.
    func sync()
    /// Powers off; returns only if that failed.
    func powerOff() -> SystemError
    /// Waits forever, as PID 1 must rather than exit.
    func idleForever()
    /// Restarts the machine; returns only if that failed.
    func restart() -> SystemError
    /// Boots the kernel at `kernel` (with `initrd`, if any) through kexec; returns only if that failed.
    func kexec(kernel: String, initrd: String?, commandLine: String) -> SystemError
}

extension Machine {
    public func restart() -> SystemError { SystemError("restart", code: ENOSYS) }
    public func kexec(kernel: String, initrd: String?, commandLine: String) -> SystemError { SystemError("kexec", code: ENOSYS) }
}

/// The running Linux machine.
public struct LinuxMachine: Machine {
    public init() {}

    public func makeDirectory(_ path: String) throws(SystemError) {
        var current = ""
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o755) == -1 && errno != EEXIST {
                throw SystemError("create directory \(current)", code: errno)
            }
        }
    }

    public func isMountPoint(_ path: String) -> Bool {
        var this = stat()
        var parent = stat()
        guard stat(path, &this) == 0, stat(path + "/..", &parent) == 0 else { return false }
        return this.st_dev != parent.st_dev || this.st_ino == parent.st_ino
    }

    public func mount(_ spec: MountSpec) throws(SystemError) {
        _ = try Syscall.retrying("mount \(spec)") {
            guard let data = spec.data else {
                return Glibc.mount(spec.source, spec.target, spec.type, spec.flags, nil)
            }
            return data.withCString { Glibc.mount(spec.source, spec.target, spec.type, spec.flags, $0) }
        }
    }

    public func kernelRelease() -> String? {
        var names = utsname()
        guard uname(&names) == 0 else { return nil }
        let release = withUnsafePointer(to: &names.release) { tuple in
            tuple.withMemoryRebound(to: CChar.self, capacity: MemoryLayout.size(ofValue: tuple.pointee)) {
                String(cString: $0)
            }
        }
        return release.isEmpty ? nil : release
    }

    public func openConsole(_ console: ConsoleEntry) throws(SystemError) -> any LogSink {
        let path = console.devicePath
        let fd = try Syscall.retrying("open \(path)") { open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC) }
        return FileDescriptorSink(fd: fd, name: console.name, owned: true)
    }

    public func sync() {
        Glibc.sync()
    }

    public func powerOff() -> SystemError {
        _ = imprint_power_off()
        return SystemError("power off", code: errno)
    }

    public func restart() -> SystemError {
        _ = imprint_restart()
        return SystemError("restart", code: errno)
    }

    public func kexec(kernel: String, initrd: String?, commandLine: String) -> SystemError {
        let kernelFD = open(kernel, O_RDONLY | O_CLOEXEC)
        guard kernelFD >= 0 else { return SystemError("open \(kernel)", code: errno) }
        defer { close(kernelFD) }
        var initrdFD: Int32 = -1
        if let initrd {
            initrdFD = open(initrd, O_RDONLY | O_CLOEXEC)
            guard initrdFD >= 0 else { return SystemError("open \(initrd)", code: errno) }
        }
        defer { if initrdFD >= 0 { close(initrdFD) } }
        // KEXEC_FILE_NO_INITRAMFS is 4.
        guard imprint_kexec_file_load(kernelFD, initrdFD, commandLine, initrdFD >= 0 ? 0 : 4) == 0 else {
            return SystemError("kexec_file_load \(kernel)", code: errno)
        }
        Glibc.sync()
        _ = imprint_reboot_kexec()
        return SystemError("reboot into the kexec kernel", code: errno)
    }

    public func idleForever() {
        while true {
            _ = pause()
        }
    }
}
