import Glibc

/// The agent's entry points; `main.swift` only calls `AgentMain.main`.
public enum AgentMain {
    /// PID 1 never returns; otherwise the host command's exit status.
    public static func main(_ arguments: [String]) -> Int32 {
        if getpid() == 1 {
            runAsInit()
        }
        return runHost(Array(arguments.dropFirst()),
                       output: FileDescriptorSink(fd: STDOUT_FILENO),
                       errors: FileDescriptorSink(fd: STDERR_FILENO))
    }

    /// PID 1. Nothing escapes: the steps end in power off, and any error ends
    /// in `Agent.failHard`; neither returns on a real machine.
    public static func runAsInit() -> Never {
        // Until /proc is mounted the consoles are unknown: write where the
        // kernel pointed fd 1, /dev/console.
        let log = Log(sinks: [FileDescriptorSink(fd: STDOUT_FILENO)])
        let machine = LinuxMachine()
        let context = AgentContext(
            fs: RootedFileSystem(), loader: KernelModuleLoader(), clock: MonotonicClock(),
            machine: machine, log: log, libraries: LibraryVersions.linked())
        do {
            try Agent(steps: OfflineSteps.arranged(Agent.initSteps)).run(context)
        } catch {
            Agent.failHard(error, context: context)
        }
        while true {
            machine.idleForever()
        }
    }

    /// Host mode: `--version`, `--probe-root DIR`, or usage.
    public static func runHost(_ given: [String], output: any LogSink, errors: any LogSink) -> Int32 {
        // --manifest-key FILE (with --disk): the key to check signed manifests with (docs/security.md).
        var arguments = given
        var manifestKey: String?
        if let index = arguments.firstIndex(of: "--manifest-key") {
            guard index + 1 < arguments.count, !arguments[index + 1].isEmpty, arguments.contains("--disk") else {
                errors.write("imprint-agent: --manifest-key FILE goes with --disk FILE --identity FILE.json\n" + HostCommand.usage)
                return 2
            }
            manifestKey = arguments[index + 1]
            arguments.removeSubrange(index...(index + 1))
        }
        // --capture: the deploy's --disk/--identity/--server, read instead of written (docs/capture.md).
        if arguments.contains("--capture") {
            switch HostCommand.parse(arguments.filter { $0 != "--capture" }) {
            case .deploy(let disk, let identity, let server, nil):
                return capture(disk: disk, identityFile: identity, server: server, manifestKey: manifestKey, output: output, errors: errors)
            case .usageError(let reason):
                errors.write("imprint-agent: \(reason)\n" + HostCommand.usage)
                return 2
            default:
                errors.write("imprint-agent: --capture goes with --disk FILE --identity FILE.json [--server URL]\n")
                return 2
            }
        }
        switch HostCommand.parse(arguments) {
        case .version:
            output.write("imprint-agent \(agentVersion)\n")
            return 0
        case .help:
            output.write(HostCommand.usage)
            return 0
        case .usageError(let reason):
            errors.write("imprint-agent: \(reason)\n" + HostCommand.usage)
            return 2
        case .probeRoot(let root):
            let fs = RootedFileSystem(root: root)
            guard fs.exists("/") && fs.exists("/sys") else {
                errors.write("imprint-agent: \(root) has no sys/ directory to probe\n")
                return 2
            }
            return probe(fs: fs, loader: DryRunModuleLoader(), output: output, errors: errors)
        case .reportRoot(let root, let server):
            let fs = RootedFileSystem(root: root)
            guard fs.exists("/") && fs.exists("/sys") else {
                errors.write("imprint-agent: \(root) has no sys/ directory to report from\n")
                return 2
            }
            return report(fs: fs, server: server, output: output, errors: errors)
        case .deploy(let disk, let identity, let server, let rate):
            return deploy(disk: disk, identityFile: identity, server: server, maximumRate: rate, manifestKey: manifestKey, output: output, errors: errors)
        case .dhcp(let interface, let timeout):
            return HostDHCP.run(interface: interface, timeoutSeconds: timeout, output: output, errors: errors)
        }
    }

    /// Host-mode deploy; 0 when the report says done, 1 otherwise, 2 for an unreadable identity.
    public static func deploy(disk: String, identityFile: String, server: String?, maximumRate: Int? = nil, manifestKey: String? = nil, http: any HTTPClient = CurlHTTPClient(),
                              clock: any AgentClock = MonotonicClock(), output: any LogSink, errors: any LogSink) -> Int32 {
        let identity: Identity
        do {
            let text = try RootedFileSystem().readFile(identityFile)
            identity = try Identity.parse(text)
            TLSTrust.pin(identity.ca)
        } catch let error as ManifestError {
            errors.write("imprint-agent: \(identityFile): \(error)\n")
            return 2
        } catch {
            errors.write("imprint-agent: cannot read \(identityFile): \(error)\n")
            return 2
        }
        let context = AgentContext(fs: RootedFileSystem(), loader: DryRunModuleLoader(), clock: clock, machine: LinuxMachine(),
                                   log: Log(sinks: [output]), libraries: LibraryVersions.linked())
        context.identity = .present(identity)
        context.serverOverride = server
        context.manifestKeyFile = manifestKey
        // --server file:///DIR: a store folder, such as an offline stick's data partition (docs/media.md).
        context.http = FileStoreClient(fallback: http)
        context.hostDisk = disk
        context.streamRetry = .host
        context.streamRetry.maximumRate = maximumRate
        do {
            try Agent(steps: Agent.hostDeploySteps).run(context)
        } catch {
            errors.write("imprint: error: \(error)\n")
            return 1
        }
        if let failure = context.deployFailure {
            errors.write("imprint-agent: deploy failed: \(failure)\n")
            return 1
        }
        return context.deployedAfter == nil ? 1 : 0
    }

    /// Runs the report-root steps; 0 when both reports were stored, 1 otherwise.
    public static func report(fs: any FileSystem, server: String?, http: any HTTPClient = CurlHTTPClient(),
                              clock: any AgentClock = MonotonicClock(), output: any LogSink, errors: any LogSink) -> Int32 {
        let context = AgentContext(fs: fs, loader: DryRunModuleLoader(), clock: clock, machine: LinuxMachine(),
                                   log: Log(sinks: [output]), libraries: LibraryVersions.linked())
        context.serverOverride = server
        context.http = http
        do {
            try Agent(steps: Agent.reportRootSteps).run(context)
        } catch {
            errors.write("imprint: error: \(error)\n")
            return 1
        }
        return context.reportsSent ? 0 : 1
    }

    /// Runs the probe-root steps; 0 when they all ran, 1 on an error.
    public static func probe(fs: any FileSystem, loader: any ModuleLoader, clock: any AgentClock = MonotonicClock(),
                             output: any LogSink, errors: any LogSink) -> Int32 {
        let context = AgentContext(fs: fs, loader: loader, clock: clock, machine: LinuxMachine(),
                                   log: Log(sinks: [output]), libraries: LibraryVersions.linked())
        do {
            try Agent(steps: Agent.probeRootSteps).run(context)
            return 0
        } catch {
            errors.write("imprint: error: \(error)\n")
            return 1
        }
    }
}
