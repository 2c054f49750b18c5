import Glibc
import Testing
@testable import ImprintAgent

@Suite("PID 1 steps on a fake machine")
struct AgentTests {
    /// A virtio machine with consoles, cmdline and manifests, as PID 1 sees it after mounting.
    static func bootedRoot() -> FakeRoot {
        let root = VirtioModules.root()
        root.write("proc/consoles", "ttyS0                -W- (EC p a)    4:64\ntty0                 -WU (E  p  )    4:1\n")
        root.write("proc/cmdline", "console=tty0 console=ttyS0 imprint.mode=probe imprint.after=reboot\n")
        root.write("etc/imprint/profile.json",
                   #"{"version":1,"profile":"qemu-virtio","kernel":"6.1.0-56-amd64","server":"http://10.0.2.2:8080","built":"0.1.0"}"#)
        root.write("sys/block/vda/size", "131072\n")
        return root
    }

    @Test("mount, reach both consoles, coldplug, banner, power off")
    func boots() throws {
        let root = Self.bootedRoot()
        let machine = FakeMachine()
        machine.mountPoints = ["/dev"]  // the kernel may have mounted devtmpfs
        let serial = MemorySink()
        let screen = MemorySink()
        machine.consoles = ["ttyS0": serial, "tty0": screen]
        let stdout = MemorySink()
        let context = makeContext(root, loader: VirtioModules.loader(root), machine: machine, sink: stdout)

        try Agent(steps: Agent.initSteps).run(context)

        #expect(machine.events == ["mount proc /proc", "mount sysfs /sys", "mount tmpfs /run", "mount tmpfs /tmp",
                                   "sync", "power off", "idle"])
        // Until the consoles are open, fd 1 (/dev/console, here ttyS0) has the log.
        #expect(stdout.lines == [
            "imprint: mounted proc on /proc", "imprint: mounted sysfs on /sys", "imprint: devtmpfs on /dev already mounted",
            "imprint: mounted tmpfs on /run", "imprint: mounted tmpfs on /tmp",
        ])
        // tty0 was not /dev/console: it is given the lines it missed.
        #expect(Array(screen.lines.prefix(6)) == stdout.lines + ["imprint: consoles ttyS0 tty0"])
        #expect(serial.lines == Array(screen.lines.dropFirst(5)))
        #expect(serial.lines.contains("imprint: cmdline mode probe server - after reboot"))
        #expect(serial.lines.contains("imprint: imprint-agent \(agentVersion) kernel 6.1.0-56-amd64 profile qemu-virtio"))
        #expect(serial.lines.contains("imprint: disk vda size 67108864 (64.0 MiB)"))
        #expect(serial.lines.contains("imprint: identity none"))
        #expect(serial.lines.suffix(2) == [
            "imprint: probe done, powering off",
            "imprint: power off failed (Operation not permitted); halted: switch the machine off",
        ])
    }

    @Test("a console that does not open is skipped; without /dev/console's own, fd 1 stays")
    func consoleFails() throws {
        let root = Self.bootedRoot()
        let machine = FakeMachine()
        let screen = MemorySink()
        machine.consoles = ["tty0": screen]
        let stdout = MemorySink()
        let context = makeContext(root, machine: machine, sink: stdout)
        context.log.info("early")
        try OpenConsoles().run(context)
        context.log.info("late")
        #expect(stdout.lines == ["imprint: early", "imprint: warning: open /dev/ttyS0: No such device",
                                 "imprint: consoles tty0", "imprint: late"])
        #expect(screen.lines == stdout.lines)
        #expect(context.consolesOpened)
    }

    @Test("a fatal error: one line on every console, sync, five seconds, power off")
    func fatal() {
        let root = Self.bootedRoot()
        root.write("proc/sys/kernel/osrelease", "6.1.0-99-amd64\n")
        let machine = FakeMachine()
        let serial = MemorySink()
        let screen = MemorySink()
        machine.consoles = ["ttyS0": serial, "tty0": screen]
        let clock = FakeClock()
        let context = makeContext(root, loader: RecordingLoader(), clock: clock, machine: machine)
        do {
            try Agent(steps: Agent.initSteps).run(context)
            Issue.record("the boot should have failed")
        } catch {
            Agent.failHard(error, context: context)
        }
        let line = "imprint: FATAL: open /lib/modules/6.1.0-99-amd64/modules.dep: No such file or directory"
            + " (this initrd has modules for: 6.1.0-56-amd64) — boot the kernel this initrd was built for, or rebuild it with imprint build"
        #expect(serial.lines.contains(line))
        #expect(screen.lines.contains(line))
        #expect(clock.sleeps == [5000])
        #expect(machine.events.suffix(3) == ["sync", "power off", "idle"])
    }

    @Test("a fatal error before the consoles were opened still reaches them")
    func fatalEarly() {
        let root = Self.bootedRoot()
        let machine = FakeMachine()
        machine.mountErrors["/sys"] = ENODEV
        let serial = MemorySink()
        machine.consoles = ["ttyS0": serial]
        let context = makeContext(root, machine: machine)
        do {
            try Agent(steps: Agent.initSteps).run(context)
            Issue.record("the boot should have failed")
        } catch {
            #expect(error.what == "mount sysfs on /sys: No such device")
            Agent.failHard(error, context: context)
        }
        #expect(serial.lines.contains { $0.hasPrefix("imprint: FATAL: mount sysfs on /sys: No such device — the kernel needs sysfs support") })
        #expect(machine.events == ["mount proc /proc", "sync", "power off", "idle"])
    }

    @Test("a /run or /tmp mount failure is a warning")
    func optionalMount() throws {
        let root = Self.bootedRoot()
        let machine = FakeMachine()
        machine.mountErrors["/tmp"] = ENODEV
        let sink = MemorySink()
        let context = makeContext(root, machine: machine, sink: sink)
        try Agent(steps: Array(Agent.initSteps.prefix(5))).run(context)
        #expect(sink.lines.last == "imprint: warning: mount tmpfs on /tmp: No such device; going on without it")
    }

    @Test("an identity is shown, a refused one says why")
    func identity() throws {
        let root = Self.bootedRoot()
        root.write("etc/imprint/identity.json", #"{"version":1,"mac":"52:54:00:12:34:56","hostname":"lab-01","servers":["http://x"],"token":"secret"}"#)
        let context = makeContext(root)
        try ReadManifests().run(context)
        #expect(context.identity == .present(Identity(mac: "52:54:00:12:34:56", hostname: "lab-01", servers: ["http://x"], token: "secret")))

        root.write("etc/imprint/identity.json", #"{"version":7,"mac":"52:54:00:12:34:56"}"#)
        try ReadManifests().run(context)
        #expect(context.identity == .invalid("/etc/imprint/identity.json: schema version 7 not understood (this agent reads version 1)"))
    }
}
