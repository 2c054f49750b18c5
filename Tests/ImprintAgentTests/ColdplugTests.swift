import Glibc
import Testing
@testable import ImprintAgent

@Suite("Coldplug over a fake sysfs")
struct ColdplugTests {
    /// Runs FindKernelRelease then Coldplug as the agent does.
    func coldplug(_ root: FakeRoot, loader: any ModuleLoader, clock: FakeClock = FakeClock(),
                  sink: MemorySink = MemorySink()) throws -> AgentContext {
        let context = makeContext(root, loader: loader, clock: clock, sink: sink)
        try Agent(steps: [FindKernelRelease(), Coldplug()]).run(context)
        return context
    }

    @Test("virtio_pci's new device is found in a second pass, and the third stops")
    func passes() throws {
        let root = VirtioModules.root()
        let loader = VirtioModules.loader(root)
        let sink = MemorySink()
        let clock = FakeClock()
        let context = try coldplug(root, loader: loader, clock: clock, sink: sink)

        // Within a pass, ImprintCore's loadOrder breaks ties by name.
        #expect(loader.loads == [
            "virtio", "virtio_pci_legacy_dev", "virtio_pci_modern_dev", "virtio_ring", "virtio_pci",
            "failover", "net_failover", "virtio_net",
        ])
        #expect(loader.files.first == root.path + "/lib/modules/6.1.0-56-amd64/kernel/drivers/virtio/virtio.ko")
        #expect(context.coldplug?.passes == 3)
        #expect(context.coldplug?.failed == [])
        // Two settle waits of 250 ms quiet each.
        #expect(clock.sleeps.reduce(0, +) == 500)
        #expect(sink.lines.contains("imprint: load virtio_pci (for \(VirtioModules.nicModalias))"))
        #expect(sink.lines.contains("imprint: load net_failover (for \(VirtioModules.netModalias))"))
        #expect(sink.lines.last == "imprint: coldplug loaded 8 modules in 3 passes (500 ms)")
    }

    @Test("a module in /sys/module is not loaded again")
    func present() throws {
        let root = VirtioModules.root()
        root.makeDirectory("sys/module/virtio")
        root.makeDirectory("sys/module/virtio_pci_modern_dev")
        let loader = VirtioModules.loader(root)
        _ = try coldplug(root, loader: loader)
        #expect(loader.loads == [
            "virtio_pci_legacy_dev", "virtio_ring", "virtio_pci", "failover", "net_failover", "virtio_net",
        ])
    }

    @Test("a failed load is logged, not retried, and not fatal")
    func failure() throws {
        let root = VirtioModules.root()
        let loader = VirtioModules.loader(root)
        loader.failing = ["net_failover"]
        let sink = MemorySink()
        let context = try coldplug(root, loader: loader, sink: sink)
        #expect(loader.loads.filter { $0 == "net_failover" }.count == 1)
        #expect(loader.loads.last == "virtio_net")
        #expect(context.coldplug?.failed == ["net_failover"])
        #expect(sink.lines.contains(
            "imprint: warning: load net_failover failed: No such file or directory: an unknown symbol, a dependency missing from modules.dep (see dmesg) (for \(VirtioModules.netModalias))"))
        #expect(sink.lines.last == "imprint: coldplug loaded 7 modules in 3 passes (500 ms)")
    }

    @Test("a dry run plans every pass it can see, waits for nothing, says would")
    func dryRun() throws {
        let root = VirtioModules.root()
        let clock = FakeClock()
        let sink = MemorySink()
        _ = try coldplug(root, loader: DryRunModuleLoader(), clock: clock, sink: sink)
        #expect(clock.sleeps.isEmpty)
        #expect(sink.lines == [
            "imprint: would load virtio (for \(VirtioModules.nicModalias))",
            "imprint: would load virtio_pci_legacy_dev (for \(VirtioModules.nicModalias))",
            "imprint: would load virtio_pci_modern_dev (for \(VirtioModules.nicModalias))",
            "imprint: would load virtio_ring (for \(VirtioModules.nicModalias))",
            "imprint: would load virtio_pci (for \(VirtioModules.nicModalias))",
            "imprint: coldplug would load 5 modules in 2 passes (0 ms)",
        ])
    }

    @Test("nothing to load: one pass, no waiting")
    func nothing() throws {
        let root = VirtioModules.root()
        root.makeDirectory("sys/module/virtio_pci")
        let loader = RecordingLoader()
        let clock = FakeClock()
        let sink = MemorySink()
        let context = try coldplug(root, loader: loader, clock: clock, sink: sink)
        #expect(loader.loads.isEmpty)
        #expect(clock.sleeps.isEmpty)
        #expect(context.coldplug?.passes == 1)
        #expect(sink.lines == ["imprint: coldplug loaded 0 modules in 1 passes (0 ms)"])
    }

    @Test("a driver that keeps making devices is stopped by the pass limit")
    func passLimit() throws {
        let root = VirtioModules.root()
        var count = 0
        let loader = RecordingLoader()
        // Each load brings a device for a module loaded in the next pass.
        var dep = ""
        var alias = ""
        for index in 0..<6 {
            dep += "kernel/m\(index).ko:\n"
            alias += "alias chain:\(index) m\(index)\n"
        }
        root.write("lib/modules/6.1.0-56-amd64/modules.dep", dep)
        root.write("lib/modules/6.1.0-56-amd64/modules.alias", alias)
        root.write("sys/devices/chain0/modalias", "chain:0\n")
        loader.onLoad = { _ in
            count += 1
            root.write("sys/devices/chain\(count)/modalias", "chain:\(count)\n")
        }
        let sink = MemorySink()
        let context = makeContext(root, loader: loader, sink: sink)
        try Agent(steps: [FindKernelRelease(), Coldplug(passLimit: 3)]).run(context)
        #expect(loader.loads == ["m0", "m1", "m2"])
        #expect(sink.lines.suffix(2) == [
            "imprint: warning: coldplug stopped after 3 passes with modules still to load",
            "imprint: coldplug loaded 3 modules in 3 passes (750 ms)",
        ])
    }

    @Test("a kernel the initrd has no modules for is fatal, and says which it has")
    func wrongKernel() {
        let root = VirtioModules.root()
        root.write("proc/sys/kernel/osrelease", "6.1.0-99-amd64\n")
        #expect(throws: AgentError(
            "open /lib/modules/6.1.0-99-amd64/modules.dep: No such file or directory (this initrd has modules for: 6.1.0-56-amd64)",
            hint: "boot the kernel this initrd was built for, or rebuild it with imprint build")) {
            _ = try coldplug(root, loader: RecordingLoader())
        }
    }

    @Test("a release directory without modules.dep is an incomplete initrd")
    func incomplete() {
        let root = VirtioModules.root()
        unlink(root.path + "/lib/modules/6.1.0-56-amd64/modules.dep")
        #expect(throws: AgentError("open /lib/modules/6.1.0-56-amd64/modules.dep: No such file or directory",
                                   hint: "this initrd is incomplete: rebuild it with imprint build")) {
            _ = try coldplug(root, loader: RecordingLoader())
        }
    }

    @Test("a missing modules.softdep is a warning")
    func noSoftdep() throws {
        let root = VirtioModules.root()
        unlink(root.path + "/lib/modules/6.1.0-56-amd64/modules.softdep")
        let sink = MemorySink()
        let loader = VirtioModules.loader(root)
        _ = try coldplug(root, loader: loader, sink: sink)
        #expect(sink.lines.first == "imprint: warning: open /lib/modules/6.1.0-56-amd64/modules.softdep: No such file or directory; going on without it")
        #expect(loader.loads.count == 8)
    }

    @Test("a malformed modules.alias is fatal")
    func malformed() {
        let root = VirtioModules.root()
        root.write("lib/modules/6.1.0-56-amd64/modules.alias", "alias pci:v* not_a_module\n")
        #expect(throws: AgentError.self) { _ = try coldplug(root, loader: RecordingLoader()) }
    }

    @Test("the scan reads modalias files in path order and never follows links")
    func scan() {
        let root = VirtioModules.root()
        root.write("sys/devices/platform/serial8250/modalias", "platform:serial8250\n")
        root.write("sys/devices/a/modalias", "\n")
        root.write("sys/devices/pci0000:00/0000:00:04.0/modalias", VirtioModules.nicModalias + "\n")
        root.symlink("sys/devices/loop", to: ".")
        #expect(scanModaliases(root.fs) == [VirtioModules.nicModalias, "platform:serial8250"])
    }
}
