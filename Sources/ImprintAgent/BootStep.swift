import Glibc
import ImprintCore

/// One step of the agent's boot, as data: the agent runs a list of these, and
/// later work (network, fetch, write, report) adds steps rather than code paths.
public protocol BootStep: Sendable {
    /// What the step does, for the log and a fatal error: `mount proc on /proc`.
    var description: String { get }
    /// Does the step's work; a thrown error stops the agent.
    func run(_ context: AgentContext) throws(AgentError)
}

/// The agent's seams and what its steps have learnt so far.
public final class AgentContext {
    public let fs: any FileSystem
    public let loader: any ModuleLoader
    public let clock: any AgentClock
    public let machine: any Machine
    public let log: Log
    public let libraries: LibraryVersions

    public var commandLine = KernelCommandLine()
    public var profile: Profile?
    public var identity: IdentityStatus = .absent
    public var kernelRelease: String?
    public var coldplug: ColdplugReport?
    /// The initrd's module graph, as coldplug read it: loading a file system later reuses it.
    public var moduleGraph: ModuleGraph?
    /// Set once the log writes to every console in `/proc/consoles`.
    public var consolesOpened = false
    /// Network configuration, the report client, UTC seconds for `updated`, and
    /// how reports are retried: real ones unless a test or host mode replaces them.
    public var network: any NetworkConfigurator = LinuxNetwork()
    public var http: any HTTPClient = CurlHTTPClient()
    public var wallClock: () -> Int = realtimeEpochSeconds
    public var retry = RetryPolicy.reports
    /// `--server URL` in host mode: replaces the identity's servers.
    public var serverOverride: String?
    /// Host mode `--manifest-key FILE`: the manifest key to trust instead of the identity's.
    public var manifestKeyFile: String?
    /// Why the token claim failed, when it did (``ClaimToken``): the deploy stops with it.
    public var claimFailure: DeployFailure?
    /// The interface `ConfigureNetwork` brought up, nil until then.
    public var configuredInterface: NetworkInterface?
    public var lease: DHCPLease?
    /// Whether `SendBootReports` got both reports to the store.
    public var reportsSent = false
    /// What `PowerOff` says it has done, when a step knows better than its `reason`.
    public var outcome: String?
    /// Deploy state (docs/deploy.md). Host mode: the file standing in for the disk.
    public var hostDisk: String?
    /// How long `ConfigureNetwork` took, for the report's `network` timing.
    public var networkMilliseconds: UInt64?
    /// Set when the deploy is done and reported: what the assignment says happens next.
    public var deployedAfter: DeviceAssignment.After?
    /// The deployed disk's root partition (device node and GPT entry), for kexec; nil without one.
    public var deployedRoot: (device: String, partition: GPTPartition)?
    /// The failure that ended a host-mode deploy.
    public var deployFailure: DeployFailure?
    /// Pace of the stream's retries, and of the whole deploy's after a failure (PID 1: forever).
    public var streamRetry = StreamRetryPolicy.machine
    public var deployRetrySeconds: UInt64 = 60
    /// How many times a failed deploy is tried on a machine; nil: forever (tests bound it).
    public var deployAttempts: Int?

    public init(fs: any FileSystem, loader: any ModuleLoader, clock: any AgentClock, machine: any Machine,
                log: Log, libraries: LibraryVersions) {
        self.fs = fs
        self.loader = loader
        self.clock = clock
        self.machine = machine
        self.log = log
        self.libraries = libraries
    }
}

/// Runs steps in order, and decides what a failure does.
public struct Agent {
    public var steps: [any BootStep]

    public init(steps: [any BootStep]) {
        self.steps = steps
    }

    /// PID 1: mount, reach every console, read the command line and manifests,
    /// coldplug, print the banner, power off. Deploying will add steps here.
    public static let initSteps: [any BootStep] = [
        Mount(MountSpec(source: "proc", target: "/proc", type: "proc", flags: UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC)), required: true),
        Mount(MountSpec(source: "sysfs", target: "/sys", type: "sysfs", flags: UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC)), required: true),
        Mount(MountSpec(source: "devtmpfs", target: "/dev", type: "devtmpfs", flags: UInt(MS_NOSUID), data: "mode=0755"), required: true),
        Mount(MountSpec(source: "tmpfs", target: "/run", type: "tmpfs", flags: UInt(MS_NOSUID | MS_NODEV), data: "mode=0755"), required: false),
        Mount(MountSpec(source: "tmpfs", target: "/tmp", type: "tmpfs", flags: UInt(MS_NOSUID | MS_NODEV), data: "mode=1777"), required: false),
        OpenConsoles(),
        ReadCommandLine(),
        ReadManifests(),
        FindKernelRelease(),
        Coldplug(),
        PrintBanner(),
        // These do nothing with imprint.mode=probe.
        ConfigureNetwork(),
        ClaimToken(),
        SendBootReports(),
        Deploy(),
        AfterDeploy(),
        PowerOff(reason: "probe done"),
    ]

    /// Host mode `--disk FILE --identity FILE.json`: the deploy against a file, no after-action.
    public static let hostDeploySteps: [any BootStep] = [
        PrintIdentity(),
        ClaimToken(hostMode: true),
        Deploy(hostMode: true),
    ]

    /// Host mode against a fake root: no mounts, consoles or power; the
    /// coldplug plans with whatever loader the context has.
    public static let probeRootSteps: [any BootStep] = [
        ReadCommandLine(),
        ReadManifests(),
        FindKernelRelease(),
        Coldplug(),
        PrintBanner(),
    ]

    /// Host mode `--report-root`: the manifests, the identity line, the two PUTs.
    public static let reportRootSteps: [any BootStep] = [
        ReadCommandLine(),
        ReadManifests(),
        PrintIdentity(),
        SendBootReports(hostMode: true),
    ]

    /// Runs every step; the first error stops the rest.
    public func run(_ context: AgentContext) throws(AgentError) {
        for step in steps {
            let start = context.clock.milliseconds()
            try step.run(context)
            // The network step, also when the offline arrangement wraps it (it then does nothing offline).
            if step is ConfigureNetwork || (step as? SkippedOffline)?.step is ConfigureNetwork {
                context.networkMilliseconds = context.clock.milliseconds() &- start
            }
        }
    }

    /// PID 1's answer to a fatal error: one clear line on every console, sync,
    /// five seconds to read it, power off; if even that fails, wait forever
    /// (PID 1 exiting panics the kernel).
    public static func failHard(_ error: AgentError, context: AgentContext) {
        if !context.consolesOpened {
            // The error may come before the consoles were reached: try now, so
            // the line is seen on the screen and on the serial line.
            try? OpenConsoles().run(context)
        }
        context.log.fatal(error)
        context.machine.sync()
        context.clock.sleep(milliseconds: 5000)
        let failure = context.machine.powerOff()
        context.log.info("power off failed (\(failure.reason)); halted: switch the machine off")
        context.machine.idleForever()
    }
}
