import Glibc
import ImprintCore
import Testing
@testable import ImprintAgent

/// Records requests and answers from a script of outcomes (the last repeats).
final class FakeHTTP: HTTPClient {
    struct Call: Equatable {
        var url: String
        var headers: [String]
        var body: String
        var connect: Int
        var total: Int
    }

    private(set) var calls: [Call] = []
    var outcomes: [HTTPOutcome]

    init(_ outcomes: [HTTPOutcome] = [HTTPOutcome(status: 200)]) {
        self.outcomes = outcomes
    }

    func put(url: String, body: [UInt8], headers: [String], connectTimeoutSeconds: Int, totalTimeoutSeconds: Int) -> HTTPOutcome {
        calls.append(Call(url: url, headers: headers, body: String(decoding: body, as: UTF8.self),
                          connect: connectTimeoutSeconds, total: totalTimeoutSeconds))
        let outcome = outcomes.first ?? HTTPOutcome(status: 200)
        if outcomes.count > 1 { outcomes.removeFirst() }
        return outcome
    }
}

/// Records what the agent asked of the network; `failing` names a call that fails with EPERM.
final class FakeNetwork: NetworkConfigurator {
    private(set) var events: [String] = []
    var failing: String?

    private func record(_ event: String) throws(SystemError) {
        if let failing, event.hasPrefix(failing) { throw SystemError(event, code: EPERM) }
        events.append(event)
    }

    func bringUp(_ interface: String) throws(SystemError) { try record("up \(interface)") }

    func setAddress(_ interface: String, address: IPv4Address, netmask: IPv4Address) throws(SystemError) {
        try record("address \(interface) \(address) \(netmask)")
    }

    func addDefaultRoute(_ interface: String, gateway: IPv4Address) throws(SystemError) {
        try record("route \(interface) \(gateway)")
    }
}

@Suite("Network plan, UTC times, report builders")
struct ReportLogicTests {
    @Test("imprint.ip= values", arguments: [
        ("10.0.2.15/24,10.0.2.2", StaticIPv4(address: IPv4Address(0x0A00_020F), prefixLength: 24, gateway: IPv4Address(0x0A00_0202))),
        ("192.168.1.50/16", StaticIPv4(address: IPv4Address(0xC0A8_0132), prefixLength: 16, gateway: nil)),
        ("0.0.0.0/0,255.255.255.255", StaticIPv4(address: IPv4Address(0), prefixLength: 0, gateway: IPv4Address(0xFFFF_FFFF))),
        ("10.0.2.15", nil), ("10.0.2.15/33,10.0.2.2", nil), ("10.0.2.256/24", nil), ("10.0.2/24", nil),
        ("10.0.02.15/24", nil), ("10.0.2.15/24,", nil), ("10.0.2.15/24,10.0.2.2,x", nil), ("10.0.2.15/-1", nil), ("", nil),
    ] as [(String, StaticIPv4?)])
    func parsesIP(text: String, expected: StaticIPv4?) {
        #expect(StaticIPv4.parse(text) == expected)
    }

    @Test("netmasks and dotted quads", arguments: [(24, "255.255.255.0"), (0, "0.0.0.0"), (32, "255.255.255.255"), (20, "255.255.240.0")])
    func netmask(prefix: Int, mask: String) {
        #expect(StaticIPv4(address: IPv4Address(0), prefixLength: prefix, gateway: nil).netmask.description == mask)
    }

    @Test("imprint.ip on the kernel command line; a bad one is a problem, not an address")
    func commandLine() {
        #expect(KernelCommandLine.parse("imprint.ip=10.1.2.3/8,10.0.0.1").ip?.description == "10.1.2.3/8 gateway 10.0.0.1")
        let bad = KernelCommandLine.parse("imprint.ip=10.1.2.3")
        #expect(bad.ip == nil)
        #expect(bad.problems == ["imprint.ip=10.1.2.3 not understood (write imprint.ip=10.0.2.15/24,10.0.2.2)"])
        #expect(StaticIPv4.qemuUserDefault.description == "10.0.2.15/24 gateway 10.0.2.2")
    }

    @Test("the identity's NIC, else the first with a driver")
    func choosesInterface() {
        let nics = [
            NetworkInterface(name: "eth0", mac: "52:54:00:00:00:01", driver: nil, link: .down),
            NetworkInterface(name: "eth1", mac: "52:54:00:00:00:02", driver: "e1000", link: .down),
            NetworkInterface(name: "eth2", mac: "52:54:00:00:00:03", driver: "virtio_net", link: .down),
        ]
        #expect(chooseInterface(nics, identityMAC: "52-54-00-00-00-03")?.name == "eth2")
        #expect(chooseInterface(nics, identityMAC: "52:54:00:99:99:99")?.name == "eth1")
        #expect(chooseInterface(nics, identityMAC: nil)?.name == "eth1")
        #expect(chooseInterface(Array(nics.prefix(1)), identityMAC: nil) == nil)
    }

    @Test("servers: the identity's in order, else imprint.server=, else the profile's")
    func servers() {
        let identity = Identity(mac: "52:54:00:12:34:56", servers: ["http://a:8080/", "http://b"])
        #expect(reportServers(identity: identity, commandLine: "http://c", profile: "http://d") == ["http://a:8080", "http://b"])
        #expect(reportServers(identity: Identity(mac: "52:54:00:12:34:56"), commandLine: "http://c", profile: "http://d") == ["http://c"])
        #expect(reportServers(identity: nil, commandLine: nil, profile: "http://d//") == ["http://d"])
        #expect(reportServers(identity: nil, commandLine: nil, profile: nil) == [])
    }

    @Test("UTC times from epoch seconds", arguments: [
        (0, "1970-01-01T00:00:00Z"), (951_827_696, "2000-02-29T12:34:56Z"), (1_709_251_199, "2024-02-29T23:59:59Z"),
        (1_795_303_730, "2026-11-21T23:28:50Z"), (4_107_542_400, "2100-03-01T00:00:00Z"), (-1, "1969-12-31T23:59:59Z"),
    ])
    func utc(seconds: Int, text: String) {
        #expect(UTCTime.format(epochSeconds: seconds) == text)
        #expect(UTCTime.parse(text) == Double(seconds))
    }

    @Test("the identity imprint device add writes is the one the agent reads")
    func identityFromCore() throws {
        let mac = try MACAddress(parsing: "52-54-00-12-34-AB")
        let token = String(repeating: "ab", count: 32)
        let written = DeviceIdentity(mac: mac, hostname: "host01", servers: ["http://10.0.2.2:8080", "http://b"], token: token).serialized
        #expect(try Identity.parse(written) == Identity(mac: "52:54:00:12:34:ab", hostname: "host01",
                                                         servers: ["http://10.0.2.2:8080", "http://b"], token: token))
        let bare = DeviceIdentity(mac: mac, servers: []).serialized
        #expect(try Identity.parse(bare) == Identity(mac: "52:54:00:12:34:ab"))
    }

    @Test("status.json for booted, whole, and Core reads it back")
    func bootedStatus() throws {
        let mac = try MACAddress(parsing: "52:54:00:12:34:56")
        let json = BootReports.booted(mac: mac, updated: "2026-11-21T23:28:50Z")
        #expect(json.serialized() == #"{"version":1,"mac":"52:54:00:12:34:56","phase":"booted","bytesWritten":0,"bytesTotal":0,"rate":0,"timings":{},"updated":"2026-11-21T23:28:50Z"}"#)
        let parsed = try StatusReport.parse(json.serialized(pretty: true))
        #expect(parsed.phase == .booted)
        #expect(parsed.updatedEpochSeconds == 1_795_303_730)
    }

    static func machine() -> FakeRoot {
        let root = InventoryTests.machine()
        root.write("sys/class/dmi/id/sys_vendor", "QEMU\n")
        root.write("sys/class/dmi/id/product_name", "Standard PC (Q35 + ICH9, 2009)\n")
        root.write("sys/class/dmi/id/product_uuid", "\n")
        root.write("sys/bus/pci/devices/0000:00:03.0/vendor", "0x1af4\n")
        root.write("sys/bus/pci/devices/0000:00:03.0/device", "0x1000\n")
        root.write("sys/bus/pci/devices/0000:00:03.0/class", "0x020000\n")
        root.write("sys/bus/pci/devices/0000:00:03.0/subsystem_vendor", "0x1af4\n")
        root.write("sys/bus/pci/devices/0000:00:03.0/subsystem_device", "0x0001\n")
        root.makeDirectory("sys/bus/pci/drivers/virtio-pci")
        root.symlink("sys/bus/pci/devices/0000:00:03.0/driver", to: "../../drivers/virtio-pci")
        root.write("sys/bus/pci/devices/0000:00:00.0/vendor", "0x8086\n")
        root.write("sys/bus/pci/devices/0000:00:00.0/device", "0x29C0\n")
        root.write("sys/bus/pci/devices/0000:00:00.0/class", "0x060000\n")
        root.write("sys/bus/pci/devices/0000:00:1f.0/vendor", "garbage\n")
        root.write("sys/bus/pci/devices/0000:00:1f.0/device", "0x2918\n")
        return root
    }

    @Test("inventory.json from a fake sysfs, whole: missing DMI fields are null, unreadable PCI IDs left out")
    func inventory() throws {
        let root = Self.machine()
        #expect(DMIInfo.gather(from: root.fs) == DMIInfo(sysVendor: "QEMU", productName: "Standard PC (Q35 + ICH9, 2009)"))
        #expect(PCIDevice.gather(from: root.fs) == [
            PCIDevice(slot: "0000:00:00.0", id: "8086:29c0", deviceClass: "0x060000"),
            PCIDevice(slot: "0000:00:03.0", id: "1af4:1000", deviceClass: "0x020000", subsystem: "1af4:0001", driver: "virtio-pci"),
        ])
        let json = BootReports.inventory(mac: try MACAddress(parsing: "52:54:00:12:34:56"), inventory: Inventory.gather(from: root.fs),
                                         dmi: DMIInfo.gather(from: root.fs), pci: PCIDevice.gather(from: root.fs))
        #expect(json.serialized() == """
            {"version":1,"mac":"52:54:00:12:34:56","interfaces":[\
            {"name":"eth0","mac":"52:54:00:12:34:56","driver":"virtio_net","link":"up"},\
            {"name":"eth1","mac":"52:54:00:aa:bb:cc","driver":null,"link":"down"},\
            {"name":"sit0","mac":"00:00:00:00","driver":null,"link":"unknown"}],\
            "dmi":{"sysVendor":"QEMU","productName":"Standard PC (Q35 + ICH9, 2009)","productSerial":null,"productUUID":null},\
            "disks":[{"name":"sda","bytes":4026531840,"removable":true},{"name":"sr1","bytes":665600000,"removable":true},\
            {"name":"vda","bytes":67108864,"removable":false}],\
            "pci":[{"slot":"0000:00:00.0","id":"8086:29c0","class":"0x060000","subsystem":null,"driver":null},\
            {"slot":"0000:00:03.0","id":"1af4:1000","class":"0x020000","subsystem":"1af4:0001","driver":"virtio-pci"}],\
            "unbound":[]}
            """)
    }

    @Test("retry backoff", arguments: [(1, 1), (2, 2), (3, 4), (4, 4), (0, 4)])
    func backoff(attempt: Int, seconds: Int) {
        #expect(RetryPolicy.reports.backoff(afterAttempt: attempt) == seconds)
    }
}

@Suite("Network and report steps on a fake machine")
struct ReportStepTests {
    static let token = String(repeating: "0f", count: 32)

    static func root(cmdline: String = "console=ttyS0 imprint.ip=10.0.2.15/24,10.0.2.2") -> FakeRoot {
        let root = ReportLogicTests.machine()
        root.write("proc/cmdline", cmdline + "\n")
        // As imprint device add writes it (docs/store.md).
        root.write("etc/imprint/identity.json", """
            {
              "version": 1,
              "mac": "52:54:00:12:34:56",
              "hostname": "host01",
              "servers": [
                "http://10.0.2.2:8080",
                "http://backup"
              ],
              "token": "\(token)"
            }

            """)
        return root
    }

    static func context(_ root: FakeRoot, http: FakeHTTP, network: FakeNetwork = FakeNetwork(), clock: FakeClock = FakeClock(),
                        sink: MemorySink) throws -> AgentContext {
        let context = makeContext(root, clock: clock, sink: sink)
        context.http = http
        context.network = network
        context.wallClock = { 1_795_303_730 }
        try ReadCommandLine().run(context)
        try ReadManifests().run(context)
        return context
    }

    @Test("lo and the identity's NIC up with the QEMU default address, link waited for, both PUTs with token and empty Expect")
    func reports() throws {
        let root = Self.root()
        let http = FakeHTTP()
        let network = FakeNetwork()
        let sink = MemorySink()
        let context = try Self.context(root, http: http, network: network, sink: sink)
        try ConfigureNetwork().run(context)
        try SendBootReports().run(context)
        #expect(network.events == ["up lo", "up eth0", "address eth0 10.0.2.15 255.255.255.0", "route eth0 10.0.2.2"])
        #expect(http.calls.map(\.url) == ["http://10.0.2.2:8080/reports/52-54-00-12-34-56/status.json",
                                          "http://10.0.2.2:8080/reports/52-54-00-12-34-56/inventory.json"])
        #expect(http.calls.allSatisfy { $0.headers == ["Content-Type: application/json", "Expect:", "Authorization: Bearer \(Self.token)"] })
        #expect(http.calls.allSatisfy { $0.connect == 5 && $0.total == 30 })
        let status = try StatusReport.parse(http.calls[0].body)
        #expect(status == StatusReport(mac: try MACAddress(parsing: "52:54:00:12:34:56"), phase: .booted, bytesWritten: 0, bytesTotal: 0,
                                       rate: 0, updated: "2026-11-21T23:28:50Z"))
        #expect(try JSONValue.parse(http.calls[1].body)["pci"]?.arrayValue?.count == 2)
        #expect(context.reportsSent)
        #expect(context.outcome == "booted report sent")
        #expect(sink.lines.contains("imprint: network: eth0 mac 52:54:00:12:34:56 driver virtio_net: 10.0.2.15/24 gateway 10.0.2.2 (imprint.ip=)"))
        #expect(sink.lines.contains("imprint: network: eth0 link up after 0 ms"))
        #expect(sink.lines.contains("imprint: PUT http://10.0.2.2:8080/reports/52-54-00-12-34-56/status.json: HTTP 200"))
        #expect(!sink.lines.joined().contains(Self.token))
    }

    @Test("imprint.ip= is used; a link that stays down is waited for 3 s, then tried anyway")
    func ipAndLinkWait() throws {
        let root = Self.root(cmdline: "imprint.ip=192.168.7.9/16,192.168.0.1")
        root.write("sys/class/net/eth0/operstate", "down\n")
        let network = FakeNetwork()
        let clock = FakeClock()
        let sink = MemorySink()
        let context = try Self.context(root, http: FakeHTTP(), network: network, clock: clock, sink: sink)
        try ConfigureNetwork().run(context)
        #expect(network.events == ["up lo", "up eth0", "address eth0 192.168.7.9 255.255.0.0", "route eth0 192.168.0.1"])
        #expect(clock.sleeps.reduce(0, +) == 3000)
        #expect(sink.lines.last == "imprint: warning: network: eth0 link still down after 3000 ms; trying anyway (check the cable)")
        #expect(context.configuredInterface?.name == "eth0")
    }

    @Test("a failed ioctl is an ERROR and no PUT is tried")
    func networkFails() throws {
        let root = Self.root()
        let http = FakeHTTP()
        let network = FakeNetwork()
        network.failing = "address"
        let sink = MemorySink()
        let context = try Self.context(root, http: http, network: network, sink: sink)
        try ConfigureNetwork().run(context)
        try SendBootReports().run(context)
        #expect(http.calls.isEmpty)
        #expect(context.outcome == "network failed")
        #expect(sink.lines.contains("imprint: ERROR: network: address eth0 10.0.2.15 255.255.255.0: Operation not permitted — the store cannot be reached; check imprint.ip= and the NIC"))
    }

    @Test("failures are retried on each server with 1, 2, 4 s between rounds; a success stops")
    func retries() throws {
        let root = Self.root()
        let refused = HTTPOutcome(status: 0, transportError: "Couldn't connect to server")
        let http = FakeHTTP([refused, refused, refused, HTTPOutcome(status: 200), HTTPOutcome(status: 200)])
        let clock = FakeClock()
        let sink = MemorySink()
        let context = try Self.context(root, http: http, clock: clock, sink: sink)
        context.configuredInterface = NetworkInterface(name: "eth0", mac: "52:54:00:12:34:56", driver: "virtio_net", link: .up)
        try SendBootReports().run(context)
        #expect(http.calls.map(\.url).prefix(4) == ["http://10.0.2.2:8080/reports/52-54-00-12-34-56/status.json",
                                                     "http://backup/reports/52-54-00-12-34-56/status.json",
                                                     "http://10.0.2.2:8080/reports/52-54-00-12-34-56/status.json",
                                                     "http://backup/reports/52-54-00-12-34-56/status.json"])
        #expect(clock.sleeps == [1000])
        #expect(http.calls.count == 5)
        #expect(context.reportsSent)
        #expect(sink.lines.contains("imprint: warning: PUT http://backup/reports/52-54-00-12-34-56/status.json failed (try 1 of 4): Couldn't connect to server"))
    }

    @Test("four refused tries: an ERROR naming the token for a 401, inventory still tried, not fatal")
    func givesUp() throws {
        let root = Self.root()
        let http = FakeHTTP([HTTPOutcome(status: 401)])
        let clock = FakeClock()
        let sink = MemorySink()
        let context = try Self.context(root, http: http, clock: clock, sink: sink)
        context.configuredInterface = NetworkInterface(name: "eth0", mac: "52:54:00:12:34:56", driver: "virtio_net", link: .up)
        try SendBootReports().run(context)
        #expect(http.calls.count == 16)  // 4 rounds x 2 servers x 2 files
        #expect(clock.sleeps == [1000, 2000, 4000, 1000, 2000, 4000])
        #expect(!context.reportsSent)
        #expect(sink.lines.last?.hasPrefix("imprint: ERROR: could not PUT status.json after 4 tries (last: HTTP 401) — check the device token") == true)
    }

    @Test("a discovered machine (no identity, imprint.server=) PUTs only its inventory, without a token")
    func discoveredSendsOnlyTheInventory() throws {
        let root = ReportLogicTests.machine()
        root.write("proc/cmdline", "console=ttyS0 imprint.server=http://10.0.2.2:8080\n")
        let http = FakeHTTP()
        let sink = MemorySink()
        let context = makeContext(root, clock: FakeClock(), sink: sink)
        context.http = http
        context.wallClock = { 1_795_303_730 }
        try ReadCommandLine().run(context)
        try ReadManifests().run(context)
        context.configuredInterface = NetworkInterface(name: "eth0", mac: "52:54:00:12:34:56", driver: "virtio_net", link: .up)
        try SendBootReports().run(context)
        #expect(http.calls.map(\.url) == ["http://10.0.2.2:8080/reports/52-54-00-12-34-56/inventory.json"])
        #expect(http.calls.allSatisfy { !$0.headers.contains { $0.hasPrefix("Authorization") } })
        #expect(context.reportsSent)
        #expect(context.outcome == "inventory sent")
        #expect(!sink.lines.contains { $0.contains("ERROR") }, "\(sink.lines)")
    }

    @Test("a server that cannot be reached: inventory.json is not tried after status.json")
    func unreachable() throws {
        let root = Self.root()
        let http = FakeHTTP([HTTPOutcome(status: 0, transportError: "Timeout was reached")])
        let sink = MemorySink()
        let context = try Self.context(root, http: http, sink: sink)
        context.configuredInterface = NetworkInterface(name: "eth0", mac: "52:54:00:12:34:56", driver: "virtio_net", link: .up)
        try SendBootReports().run(context)
        #expect(http.calls.count == 8)
        #expect(http.calls.allSatisfy { $0.url.hasSuffix("/status.json") })
        #expect(sink.lines.last?.contains("is reachable from this machine") == true)
    }

    @Test("imprint.mode=probe: no network, no PUT, no line")
    func probeUnchanged() throws {
        let root = Self.root(cmdline: "imprint.mode=probe")
        let http = FakeHTTP()
        let network = FakeNetwork()
        let sink = MemorySink()
        let context = try Self.context(root, http: http, network: network, sink: sink)
        let before = sink.lines.count
        try ConfigureNetwork().run(context)
        try SendBootReports().run(context)
        #expect(http.calls.isEmpty)
        #expect(network.events.isEmpty)
        #expect(sink.lines.count == before)
    }

    @Test("the whole PID 1 boot without a mode reports, then powers off saying so")
    func boots() throws {
        let root = AgentTests.bootedRoot()
        root.write("proc/cmdline", "console=ttyS0 imprint.ip=10.0.2.15/24,10.0.2.2\n")
        root.write("etc/imprint/identity.json", #"{"version":1,"mac":"52:54:00:12:34:56","servers":["http://s"],"token":"t"}"#)
        // The base initrd's manifest key (any 32 bytes): the deploy gets as far as the GET.
        root.write("etc/imprint/manifest.pub", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n")
        root.write("sys/class/net/eth0/address", "52:54:00:12:34:56\n")
        root.write("sys/class/net/eth0/operstate", "up\n")
        root.symlink("sys/class/net/eth0/device/driver", to: "../../../bus/virtio/drivers/virtio_net")
        let machine = FakeMachine()
        machine.consoles = ["ttyS0": MemorySink()]
        let sink = MemorySink()
        let context = makeContext(root, loader: VirtioModules.loader(root), machine: machine, sink: sink)
        let http = FakeHTTP()
        let network = FakeNetwork()
        context.http = http
        context.network = network
        // This fake HTTP client cannot GET: the deploy fails once and the machine powers off.
        context.deployAttempts = 1
        try Agent(steps: Agent.initSteps).run(context)
        #expect(http.calls.count >= 2)
        #expect(http.calls.prefix(2).map(\.url) == ["http://s/reports/52-54-00-12-34-56/status.json", "http://s/reports/52-54-00-12-34-56/inventory.json"])
        #expect(network.events.first == "up lo")
        #expect(machine.events.suffix(3) == ["sync", "power off", "idle"])
        let serial = machine.consoles["ttyS0"]?.lines ?? []
        #expect(serial.contains("imprint: identity mac 52:54:00:12:34:56 hostname -"))
        #expect(serial.contains("imprint: reported booted and the inventory"))
        #expect(serial.contains { $0.hasPrefix("imprint: ERROR: assignment: could not GET the assignment") })
        #expect(serial.contains("imprint: deploy failed, powering off"))
    }
}

@Suite("Host mode --report-root against a real HTTP server")
struct ReportRootTests {
    @Test("arguments")
    func arguments() {
        #expect(HostCommand.parse(["--report-root", "/r", "--server", "http://s"]) == .reportRoot("/r", server: "http://s"))
        #expect(HostCommand.parse(["--server", "http://s", "--report-root", "/r"]) == .reportRoot("/r", server: "http://s"))
        #expect(HostCommand.parse(["--report-root", "/r"]) == .reportRoot("/r", server: nil))
        #expect(HostCommand.parse(["--server", "http://s"]) == .usageError("--server goes with --report-root DIR"))
        #expect(HostCommand.parse(["--report-root"]) == .usageError("--report-root needs a value"))
        #expect(HostCommand.parse(["--report-root", "/r", "--disk", "x"]) == .usageError("unknown argument --report-root with --disk"))
    }

    @Test("PUTs status.json and inventory.json with libcurl: path, token, no Expect: 100-continue, JSON bodies")
    func putsToServer() throws {
        let server = PutServer()
        try #require(server.port > 0, "python3 server did not start")
        let root = ReportStepTests.root()
        let out = MemorySink()
        let err = MemorySink()
        let status = AgentMain.runHost(["--report-root", root.path, "--server", server.url + "/"], output: out, errors: err)
        #expect(status == 0)
        #expect(err.lines.isEmpty)
        let requests = server.requests()
        #expect(requests.map(\.method) == ["PUT", "PUT"])
        #expect(requests.map(\.path) == ["/reports/52-54-00-12-34-56/status.json", "/reports/52-54-00-12-34-56/inventory.json"])
        for request in requests {
            #expect(request.headers["authorization"] == "Bearer \(ReportStepTests.token)")
            #expect(request.headers["expect"] == nil)
            #expect(request.headers["content-type"] == "application/json")
        }
        let report = try StatusReport.parse(requests.first?.body ?? "")
        #expect(report.phase == .booted)
        #expect(report.mac.colon == "52:54:00:12:34:56")
        #expect((report.updatedEpochSeconds ?? 0) > 1_700_000_000)
        let inventory = try JSONValue.parse(requests.last?.body ?? "")
        #expect(inventory["dmi"]?["sysVendor"]?.stringValue == "QEMU")
        #expect(inventory["disks"]?.arrayValue?.count == 3)
        #expect(out.lines.contains("imprint: identity mac 52:54:00:12:34:56 hostname host01"))
        withExtendedLifetime(root) {}
    }

    @Test("a refusing server: four tries, exit 1, the status and curl's text logged")
    func refusedByServer() throws {
        let server = PutServer(status: 403)
        try #require(server.port > 0, "python3 server did not start")
        let root = ReportStepTests.root()
        let out = MemorySink()
        let clock = FakeClock()
        let status = AgentMain.report(fs: root.fs, server: server.url, clock: clock, output: out, errors: MemorySink())
        #expect(status == 1)
        #expect(server.requests().count == 8)
        #expect(clock.sleeps == [1000, 2000, 4000, 1000, 2000, 4000])
        #expect(out.lines.contains { $0.hasPrefix("imprint: ERROR: could not PUT status.json after 4 tries (last: HTTP 403)") })
        withExtendedLifetime(root) {}
    }

    @Test("nothing listening: curl's error text, and inventory.json is not tried")
    func nothingListening() throws {
        // Port 1: nothing listens there.
        let url = "http://127.0.0.1:1"
        let out = MemorySink()
        let root = ReportStepTests.root()  // kept alive: FakeRoot removes its tree when released
        let status = AgentMain.report(fs: root.fs, server: url, clock: FakeClock(), output: out, errors: MemorySink())
        #expect(status == 1)
        let last = out.lines.last { $0.contains("(try 4 of 4)") } ?? "\(out.lines)"
        #expect(last.hasPrefix("imprint: warning: PUT http://127.0.0.1:1/reports/52-54-00-12-34-56/status.json failed"), "\(last)")
        #expect(last.contains("Couldn't connect to server"), "curl's text: \(last)")
        #expect(!out.lines.contains { $0.contains("inventory.json") })
        withExtendedLifetime(root) {}
    }
}
