/// Reads the kernel command line's `imprint.*` parameters.
public struct ReadCommandLine: BootStep {
    public init() {}

    public var description: String { "read /proc/cmdline" }

    public func run(_ context: AgentContext) throws(AgentError) {
        do {
            context.commandLine = KernelCommandLine.parse(try context.fs.readFile("/proc/cmdline"))
        } catch {
            context.log.warning("\(error); using no imprint.* parameters")
            return
        }
        let line = context.commandLine
        for problem in line.problems {
            context.log.warning("kernel command line: \(problem)")
        }
        context.log.info("cmdline mode \(line.mode?.rawValue ?? "-") server \(line.server ?? "-") after \(line.after?.rawValue ?? "-")")
    }
}

/// Reads `/etc/imprint/profile.json` and, when a per-device initrd was
/// appended, `/etc/imprint/identity.json`. Neither is fatal to a probe.
public struct ReadManifests: BootStep {
    public static let profilePath = "/etc/imprint/profile.json"
    public static let identityPath = "/etc/imprint/identity.json"

    public init() {}

    public var description: String { "read the manifests in /etc/imprint" }

    public func run(_ context: AgentContext) throws(AgentError) {
        let fs = context.fs
        if let text = try? fs.readFile(Self.profilePath) {
            do {
                context.profile = try Profile.parse(text)
            } catch {
                context.log.warning("\(Self.profilePath): \(error)")
            }
        } else {
            context.log.warning("no \(Self.profilePath): this initrd was not built by imprint build")
        }
        if fs.exists(Self.identityPath) {
            do {
                let text = try fs.readFile(Self.identityPath)
                let identity = try Identity.parse(text)
                context.identity = .present(identity)
                TLSTrust.pin(identity.ca)
                if identity.ca != nil { context.log.info("https: trusting only the CA in \(Self.identityPath)") }
            } catch let error as SystemError {
                context.identity = .invalid(error.description)
            } catch {
                context.identity = .invalid("\(Self.identityPath): \(error)")
            }
        }
    }
}

/// Decides which `/lib/modules/<release>` to use (see `resolveKernelRelease`).
public struct FindKernelRelease: BootStep {
    public init() {}

    public var description: String { "find the kernel release" }

    public func run(_ context: AgentContext) throws(AgentError) {
        let directories = ((try? context.fs.listDirectory("/lib/modules")) ?? [])
            .filter { $0.kind == .directory }
            .map(\.name)
        guard let release = resolveKernelRelease(
            osrelease: context.fs.readValue("/proc/sys/kernel/osrelease"),
            profileKernel: context.profile?.kernel,
            moduleDirectories: directories,
            uname: context.machine.kernelRelease()) else {
            throw AgentError("cannot tell which kernel is running", hint: "mount /proc, or give profile.json a \"kernel\"")
        }
        context.kernelRelease = release
    }
}
