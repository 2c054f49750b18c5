import Glibc
@testable import ImprintAgent

/// Records each load in order; `onLoad` may change the fake tree, as a real
/// bus driver creates devices; names in `failing` fail with `ENOENT`.
final class RecordingLoader: ModuleLoader {
    private(set) var loads: [String] = []
    private(set) var files: [String] = []
    var failing: Set<String> = []
    var onLoad: (String) -> Void = { _ in }

    func load(name: String, file: String) throws(SystemError) -> LoadOutcome {
        loads.append(name)
        files.append(file)
        if failing.contains(name) { throw SystemError("load \(name)", code: ENOENT) }
        onLoad(name)
        return .loaded
    }
}

/// Time that passes only when slept.
final class FakeClock: AgentClock {
    var now: UInt64 = 1_000
    private(set) var sleeps: [UInt64] = []
    var onSleep: (UInt64) -> Void = { _ in }

    func milliseconds() -> UInt64 { now }

    func sleep(milliseconds: UInt64) {
        sleeps.append(milliseconds)
        now += milliseconds
        onSleep(now)
    }
}

/// A machine that records what the agent asked of it.
final class FakeMachine: Machine {
    private(set) var events: [String] = []
    var mountPoints: Set<String> = []
    var mountErrors: [String: Int32] = [:]
    /// Consoles that open, by name; others fail with `ENODEV`.
    var consoles: [String: MemorySink] = [:]
    var release: String? = "6.1.0-56-amd64"

    func makeDirectory(_ path: String) throws(SystemError) {}

    func isMountPoint(_ path: String) -> Bool { mountPoints.contains(path) }

    func mount(_ spec: MountSpec) throws(SystemError) {
        if let code = mountErrors[spec.target] { throw SystemError("mount \(spec)", code: code) }
        events.append("mount \(spec.type) \(spec.target)")
    }

    func kernelRelease() -> String? { release }

    func openConsole(_ console: ConsoleEntry) throws(SystemError) -> any LogSink {
        guard let sink = consoles[console.name] else { throw SystemError("open \(console.devicePath)", code: ENODEV) }
        return sink
    }

    func sync() { events.append("sync") }

    func powerOff() -> SystemError {
        events.append("power off")
        return SystemError("power off", code: EPERM)
    }

    func idleForever() { events.append("idle") }
}

let testLibraries = LibraryVersions(curl: "7.88.1", openssl: "3.0.19", libarchive: "3.6.2")

func makeContext(_ root: FakeRoot, loader: any ModuleLoader = RecordingLoader(), clock: FakeClock = FakeClock(),
                 machine: FakeMachine = FakeMachine(), sink: MemorySink = MemorySink()) -> AgentContext {
    AgentContext(fs: root.fs, loader: loader, clock: clock, machine: machine, log: Log(sinks: [sink]), libraries: testLibraries)
}
