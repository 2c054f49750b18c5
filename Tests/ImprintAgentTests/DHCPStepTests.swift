import Glibc
import ImprintCore
import Testing
@testable import ImprintAgent

/// `ConfigureNetwork` without `imprint.ip=`: DHCP over a fake packet socket and fake servers,
/// configured through the fake network, on a fake clock.
@Suite("ConfigureNetwork: DHCP")
struct DHCPStepTests {
    /// A machine with `nics` (name, MAC, operstate), each with a virtio_net driver, and an identity.
    static func root(nics: [(String, String, String)] = [("eth0", "52:54:00:12:34:56", "up")],
                     cmdline: String = "console=ttyS0") -> FakeRoot {
        let root = FakeRoot()
        root.write("proc/cmdline", cmdline + "\n")
        root.write("etc/imprint/identity.json",
                   #"{"version":1,"mac":"52:54:00:12:34:56","hostname":"host01","servers":["http://10.0.2.2:8080"],"token":"t"}"#)
        for (name, mac, state) in nics {
            root.write("sys/class/net/\(name)/address", mac + "\n")
            root.write("sys/class/net/\(name)/operstate", state + "\n")
            root.symlink("sys/class/net/\(name)/device/driver", to: "../../../bus/virtio/drivers/virtio_net")
        }
        root.write("sys/class/net/lo/address", "00:00:00:00:00:00\n")
        return root
    }

    struct Run {
        var context: AgentContext
        var socket: FakeDHCPSocket
        var network: FakeNetwork
        var clock: FakeClock
        var sink: MemorySink
        var root: FakeRoot

        var dhcpLines: [String] { sink.lines.filter { $0.contains("dhcp:") } }
    }

    static func run(_ root: FakeRoot, servers: [String: FakeDHCPServer], giveUpAfter: UInt64? = nil,
                    prepare: (FakeDHCPSocket) -> Void = { _ in }) throws -> Run {
        let clock = FakeClock()
        let sink = MemorySink()
        let context = makeContext(root, clock: clock, sink: sink)
        let network = FakeNetwork()
        context.network = network
        try ReadCommandLine().run(context)
        try ReadManifests().run(context)
        let socket = FakeDHCPSocket(clock: clock, servers: servers)
        prepare(socket)
        try ConfigureNetwork(dhcpSocket: { socket }, dhcpSeed: 1, dhcpGiveUpAfter: giveUpAfter).run(context)
        return Run(context: context, socket: socket, network: network, clock: clock, sink: sink, root: root)
    }

    static let qemuLease = DHCPLease(address: 0x0A00_020F, netmask: 0xFFFF_FF00, router: 0x0A00_0202, dnsServers: [0x0A00_0203],
                                     leaseSeconds: 86400, serverIdentifier: 0x0A00_0202)

    @Test("QEMU's server: lease configured by ioctl, resolv.conf written, lease in the context")
    func qemuLease() throws {
        let server = FakeDHCPServer()
        server.options.append(DHCPOption(DHCPOption.domainName, Array("lab.example".utf8)))
        let run = try Self.run(Self.root(), servers: ["eth0": server])
        var lease = Self.qemuLease
        lease.domain = "lab.example"
        #expect(run.context.lease == lease)
        #expect(run.context.configuredInterface?.name == "eth0")
        #expect(run.context.outcome == nil)
        #expect(run.network.events == ["up lo", "up eth0", "address eth0 10.0.2.15 255.255.255.0", "route eth0 10.0.2.2"])
        #expect(run.dhcpLines == [
            "imprint: dhcp: eth0 mac 52:54:00:12:34:56: DISCOVER",
            "imprint: dhcp: eth0: offer 10.0.2.15 from 10.0.2.2; REQUEST",
            "imprint: dhcp: eth0 lease 10.0.2.15/24 router 10.0.2.2 dns 10.0.2.3 domain lab.example from 10.0.2.2 (0.0 s)",
        ])
        let resolv = try run.root.fs.readFile("/etc/resolv.conf")
        #expect(resolv == "# written by imprint-agent from the DHCP lease of 10.0.2.2\nsearch lab.example\nnameserver 10.0.2.3\n")
        #expect(run.socket.sent.map(\.message.messageType) == [.discover, .request])
        #expect(run.socket.sent.first?.message.hostName == Array("host01".utf8), "the identity's hostname goes in option 12")
        #expect(run.socket.closed)
    }

    @Test("checksums the kernel never filled in (veth, virtio offload) are not held against a reply")
    func offloadedChecksums() throws {
        let run = try Self.run(Self.root(), servers: ["eth0": FakeDHCPServer()]) { $0.offloaded = true }
        #expect(run.context.lease == Self.qemuLease)
    }

    @Test("lost OFFERs: each round logged with its wait; the lease after 1 + 2 s, give or take the jitter")
    func lostOffers() throws {
        let server = FakeDHCPServer()
        server.lostOffers = 2
        let run = try Self.run(Self.root(), servers: ["eth0": server])
        #expect(run.context.lease == Self.qemuLease)
        #expect(run.dhcpLines.contains("imprint: dhcp: eth0: no offer yet (round 2, next in 2 s)"))
        #expect(run.dhcpLines.contains("imprint: dhcp: eth0: no offer yet (round 3, next in 4 s)"))
        #expect(run.dhcpLines.last?.hasPrefix("imprint: dhcp: eth0 lease 10.0.2.15/24 router 10.0.2.2 dns 10.0.2.3 from 10.0.2.2 (") == true)
        // +-250 ms on the 1 s wait, +-500 ms on the 2 s one.
        #expect((2_250...3_750).contains(run.clock.now - 1_000), "the lease came after the two waits")
    }

    @Test("a server that comes up after 5 minutes is still found: rounds every 30 s, each logged")
    func lateServer() throws {
        let server = FakeDHCPServer()
        server.silentUntil = 1_000 + 300_000
        let run = try Self.run(Self.root(), servers: ["eth0": server])
        #expect(run.context.lease == Self.qemuLease)
        let rounds = run.dhcpLines.filter { $0.contains("no offer yet") }
        #expect(rounds.count >= 12)
        #expect(rounds.contains("imprint: dhcp: eth0: no offer yet (round 7, next in 30 s)"))
        #expect(run.clock.now >= 301_000 && run.clock.now <= 301_000 + 31_000)
    }

    @Test("lost ACK and a NAK: retried, then bound")
    func lostAckAndNak() throws {
        let server = FakeDHCPServer()
        server.lostAcks = 1
        server.naks = 1
        let run = try Self.run(Self.root(), servers: ["eth0": server])
        #expect(run.context.lease == Self.qemuLease)
        #expect(run.dhcpLines.contains("imprint: warning: dhcp: eth0: NAK from 10.0.2.2: wrong network; starting over"))
        #expect(run.socket.sent.map(\.message.messageType) == [.discover, .request, .request, .discover, .request])
    }

    @Test("two NICs side by side: the one with a server wins, the identity's first in line")
    func twoNICs() throws {
        let root = Self.root(nics: [("eth0", "52:54:00:aa:bb:cc", "up"), ("eth1", "52:54:00:12:34:56", "up")])
        let server = FakeDHCPServer()
        server.lostOffers = 1
        let run = try Self.run(root, servers: ["eth0": server])
        #expect(run.socket.opened == ["eth1", "eth0"], "the identity's NIC starts first")
        #expect(run.context.configuredInterface?.name == "eth0")
        #expect(run.network.events == ["up lo", "up eth1", "up eth0", "address eth0 10.0.2.15 255.255.255.0", "route eth0 10.0.2.2"])
        #expect(run.socket.sent.contains { $0.interface == "eth1" && $0.message.messageType == .discover })
        #expect(run.dhcpLines.last?.hasPrefix("imprint: dhcp: eth0 lease 10.0.2.15/24 router 10.0.2.2 dns 10.0.2.3 from 10.0.2.2 (") == true)
        #expect((750...1_250).contains(run.clock.now - 1_000), "one lost OFFER costs one jittered second")
    }

    @Test("a NIC whose socket does not open is skipped; the other still gets its lease")
    func socketFails() throws {
        let root = Self.root(nics: [("eth0", "52:54:00:12:34:56", "up"), ("eth1", "52:54:00:aa:bb:cc", "up")])
        let run = try Self.run(root, servers: ["eth1": FakeDHCPServer()]) { $0.failing = ["eth0"] }
        #expect(run.context.configuredInterface?.name == "eth1")
        #expect(run.sink.lines.contains("imprint: warning: dhcp: eth0: open a packet socket on eth0: No such device; skipped"))
    }

    @Test("a link that comes up late is waited for; one that never does is tried after 3 s")
    func linkWait() throws {
        let root = Self.root(nics: [("eth0", "52:54:00:12:34:56", "down")])
        let clock = FakeClock()
        clock.onSleep = { now in
            if now >= 1_500 { root.write("sys/class/net/eth0/operstate", "up\n") }
        }
        let sink = MemorySink()
        let context = makeContext(root, clock: clock, sink: sink)
        context.network = FakeNetwork()
        try ReadCommandLine().run(context)
        let socket = FakeDHCPSocket(clock: clock, servers: ["eth0": FakeDHCPServer()])
        try ConfigureNetwork(dhcpSocket: { socket }, dhcpSeed: 1).run(context)
        #expect(context.lease == Self.qemuLease)
        #expect(sink.lines.contains("imprint: dhcp: eth0 lease 10.0.2.15/24 router 10.0.2.2 dns 10.0.2.3 from 10.0.2.2 (0.5 s)"))
        #expect(!sink.lines.contains { $0.contains("trying anyway") })

        let dead = Self.root(nics: [("eth0", "52:54:00:12:34:56", "down")])
        let run = try Self.run(dead, servers: ["eth0": FakeDHCPServer()])
        #expect(run.context.lease == Self.qemuLease)
        #expect(run.sink.lines.contains("imprint: warning: dhcp: eth0 link still down after 3000 ms; trying anyway (check the cable)"))
    }

    @Test("with a time limit and no server: an ERROR, no network, nothing configured")
    func givesUp() throws {
        let run = try Self.run(Self.root(), servers: [:], giveUpAfter: 20_000)
        #expect(run.context.lease == nil)
        #expect(run.context.configuredInterface == nil)
        #expect(run.context.outcome == "no network")
        #expect(run.network.events == ["up lo", "up eth0"])
        #expect(run.sink.lines.last == "imprint: ERROR: dhcp: no lease on eth0 after 20 s — check that a DHCP server answers on this network")
        #expect(!run.root.fs.exists("/etc/resolv.conf"))
    }

    @Test("imprint.ip= is the static configuration, as before: no DHCP at all")
    func staticUnchanged() throws {
        let run = try Self.run(Self.root(cmdline: "imprint.ip=192.168.7.9/16,192.168.0.1"), servers: ["eth0": FakeDHCPServer()])
        #expect(run.socket.opened.isEmpty)
        #expect(run.network.events == ["up lo", "up eth0", "address eth0 192.168.7.9 255.255.0.0", "route eth0 192.168.0.1"])
        #expect(run.context.lease == nil)
        #expect(run.context.configuredInterface?.name == "eth0")
        #expect(run.sink.lines.contains("imprint: network: eth0 mac 52:54:00:12:34:56 driver virtio_net: 192.168.7.9/16 gateway 192.168.0.1 (imprint.ip=)"))
    }

    @Test("imprint.mode=probe: nothing configured, nothing sent")
    func probe() throws {
        let run = try Self.run(Self.root(cmdline: "imprint.mode=probe"), servers: ["eth0": FakeDHCPServer()])
        #expect(run.socket.opened.isEmpty && run.socket.sent.isEmpty)
        #expect(run.network.events.isEmpty)
    }

    @Test("the real packet socket is never used on interfaces read from a fake root")
    func realSocketNeedsRealRoot() throws {
        let root = Self.root()
        let sink = MemorySink()
        let context = makeContext(root, sink: sink)
        context.network = FakeNetwork()
        try ReadCommandLine().run(context)
        try ConfigureNetwork().run(context)
        #expect(context.outcome == "no network")
        #expect(sink.lines.last?.hasPrefix("imprint: ERROR: dhcp: the machine's interfaces are read from /tmp/imprint-agent-test.") == true)
    }

    @Test("no NIC with a driver: the same ERROR as before")
    func noNIC() throws {
        let root = FakeRoot()
        root.write("proc/cmdline", "console=ttyS0\n")
        root.write("sys/class/net/eth0/address", "52:54:00:12:34:56\n")
        let run = try Self.run(root, servers: [:])
        #expect(run.context.outcome == "no network")
        #expect(run.socket.opened.isEmpty)
    }

    @Test("resolv.conf: search, then every server; nothing for a lease without either")
    func resolv() {
        var lease = Self.qemuLease
        lease.dnsServers = [0x0A00_0203, 0x0808_0808]
        #expect(resolvConf(for: lease) == "# written by imprint-agent from the DHCP lease of 10.0.2.2\nnameserver 10.0.2.3\nnameserver 8.8.8.8\n")
        lease.dnsServers = []
        #expect(resolvConf(for: lease) == nil)
    }
}

@Suite("Host mode --dhcp")
struct HostDHCPTests {
    @Test("arguments", arguments: [
        (["--dhcp", "veth0"], HostCommand.dhcp("veth0", timeoutSeconds: 30)),
        (["--dhcp", "veth0", "--timeout", "3"], .dhcp("veth0", timeoutSeconds: 3)),
        (["--timeout", "3", "--dhcp", "veth0"], .dhcp("veth0", timeoutSeconds: 3)),
        (["--dhcp"], .usageError("--dhcp needs a value")),
        (["--timeout", "3"], .usageError("--timeout goes with --dhcp IFACE")),
        (["--dhcp", "veth0", "--timeout", "0"], .usageError("--timeout takes whole seconds, 1 to 86400")),
        (["--dhcp", "veth0", "--timeout", "x"], .usageError("--timeout takes whole seconds, 1 to 86400")),
        (["--dhcp", "veth0", "--disk", "d"], .usageError("unknown argument --disk with --dhcp")),
    ])
    func parses(arguments: [String], expected: HostCommand) {
        #expect(HostCommand.parse(arguments) == expected)
    }

    @Test("a lease: printed, configured, resolv.conf shown and not written; exit 0")
    func lease() {
        let root = DHCPStepTests.root(nics: [("veth0", "52:54:00:12:34:56", "up")])
        let clock = FakeClock()
        let server = FakeDHCPServer()
        server.options.append(DHCPOption(DHCPOption.domainName, Array("lab.example".utf8)))
        let socket = FakeDHCPSocket(clock: clock, servers: ["veth0": server])
        let network = FakeNetwork()
        let out = MemorySink()
        let err = MemorySink()
        let status = HostDHCP.run(interface: "veth0", timeoutSeconds: 3, socket: socket, network: network, fs: root.fs,
                                  clock: clock, output: out, errors: err)
        #expect(status == 0)
        #expect(err.lines.isEmpty)
        #expect(network.events == ["up veth0", "address veth0 10.0.2.15 255.255.255.0", "route veth0 10.0.2.2"])
        #expect(out.lines.contains("imprint: dhcp: veth0 lease 10.0.2.15/24 router 10.0.2.2 dns 10.0.2.3 domain lab.example from 10.0.2.2 (0.0 s)"))
        #expect(Array(out.lines.suffix(3)) == ["imprint:   # written by imprint-agent from the DHCP lease of 10.0.2.2",
                                                "imprint:   search lab.example", "imprint:   nameserver 10.0.2.3"])
        #expect(!root.fs.exists("/etc/resolv.conf"))
    }

    @Test("no server: exit 1 after the timeout, saying so; an unknown interface is a usage error")
    func noServer() {
        let root = DHCPStepTests.root(nics: [("veth0", "52:54:00:12:34:56", "up")])
        let clock = FakeClock()
        let out = MemorySink()
        let err = MemorySink()
        let status = HostDHCP.run(interface: "veth0", timeoutSeconds: 3, socket: FakeDHCPSocket(clock: clock), network: FakeNetwork(),
                                  fs: root.fs, clock: clock, output: out, errors: err)
        #expect(status == 1)
        #expect(clock.now == 1_000 + 3_000)
        #expect(err.lines == ["imprint-agent: no DHCP lease on veth0 within 3 s"])
        #expect(HostDHCP.run(interface: "nope0", timeoutSeconds: 3, socket: FakeDHCPSocket(clock: clock), network: FakeNetwork(),
                             fs: root.fs, clock: clock, output: out, errors: err) == 2)
    }
}
