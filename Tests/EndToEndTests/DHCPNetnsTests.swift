import Foundation
import Testing

/// The release `imprint-agent --dhcp IFACE` against a real DHCP server: dnsmasq in one network
/// namespace, the agent in another, a veth pair between them. Both namespaces are made for the run
/// and deleted after it, whatever happens; no packet leaves them. Needs root, `ip netns` and dnsmasq:
/// without them the test fails and says which is missing.
@Suite(.serialized) struct DHCPNetnsTests {
    @Test func theAgentLeasesFromDnsmasqAndConfiguresItsInterface() async throws {
        let lab = try NetnsLab(withServer: true)
        defer { lab.remove() }
        try await lab.startDnsmasq()

        let started = Date()
        let agent = try await lab.agent(["--dhcp", "veth0", "--timeout", "20"])
        let seconds = Date().timeIntervalSince(started)
        #expect(agent.status == 0, "agent failed:\n\(agent.stdout)\(agent.stderr)\ndnsmasq:\n\(lab.dnsmasqLog)")
        let line = agent.stdout.split(separator: "\n").first { $0.hasPrefix("imprint: dhcp: veth0 lease ") }.map(String.init) ?? ""
        #expect(line.contains("/24 router 192.168.77.1 dns 192.168.77.53 domain lab.example from 192.168.77.1"), "\(agent.stdout)")
        let address = line.dropFirst("imprint: dhcp: veth0 lease ".count).prefix { $0 != "/" }
        #expect(address.hasPrefix("192.168.77."), "\(line)")
        #expect(agent.stdout.contains("imprint:   search lab.example\n"), "\(agent.stdout)")
        #expect(agent.stdout.contains("imprint:   nameserver 192.168.77.53\n"), "\(agent.stdout)")
        #expect(seconds < 10, "a lease from a server that answers at once took \(seconds) s")

        let addresses = try await lab.ip(["-n", lab.client, "-4", "addr", "show", "dev", "veth0"])
        #expect(addresses.stdout.contains("inet \(address)/24 "), "\(addresses.stdout)")
        let routes = try await lab.ip(["-n", lab.client, "route", "show", "default"])
        #expect(routes.stdout.contains("default via 192.168.77.1 dev veth0"), "\(routes.stdout)")
        #expect(lab.dnsmasqLog.contains("DHCPACK(veth0) \(address) "), "\(lab.dnsmasqLog)")
    }

    @Test func withNoServerItGivesUpAfterItsTimeoutAndSaysSo() async throws {
        let lab = try NetnsLab(withServer: false)
        defer { lab.remove() }
        let started = Date()
        let agent = try await lab.agent(["--dhcp", "veth0", "--timeout", "3"])
        let seconds = Date().timeIntervalSince(started)
        #expect(agent.status == 1, "\(agent.stdout)\(agent.stderr)")
        #expect(agent.stderr.contains("imprint-agent: no DHCP lease on veth0 within 3 s"), "\(agent.stderr)")
        #expect(agent.stdout.contains("imprint: dhcp: veth0: no offer yet (round 2, next in 2 s)"), "\(agent.stdout)")
        #expect(seconds >= 2.9 && seconds < 8, "gave up after \(seconds) s")
        let addresses = try await lab.ip(["-n", lab.client, "-4", "addr", "show", "dev", "veth0"])
        #expect(!addresses.stdout.contains("inet "), "\(addresses.stdout)")
    }
}

/// Two namespaces, `server` and `client`, each with a `veth0` joined to the other's. With no server,
/// only the client namespace exists and its `veth0`'s peer stays in it, so the link has carrier.
final class NetnsLab: @unchecked Sendable {
    let server: String
    let client: String
    let hasServer: Bool
    let work: String
    private var dnsmasq: pid_t?

    init(withServer: Bool) throws {
        let tag = "\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        server = "imprint-dhcp-s-\(tag)"
        client = "imprint-dhcp-c-\(tag)"
        hasServer = withServer
        work = try CLI.temporaryDirectory()
        let ip = try Self.tool("ip")
        guard getuid() == 0 else { throw SetupError("DHCPNetnsTests need root, for ip netns and raw sockets") }
        guard Self.run(ip, ["netns", "list"]) == 0 else { throw SetupError("`ip netns list` failed: network namespaces are unavailable here") }
        do {
            try Self.check(ip, ["netns", "add", client])
            if withServer {
                try Self.check(ip, ["netns", "add", server])
                try Self.check(ip, ["link", "add", "veth0", "netns", server, "type", "veth", "peer", "name", "veth0", "netns", client])
                try Self.check(ip, ["-n", server, "addr", "add", "192.168.77.1/24", "dev", "veth0"])
                try Self.check(ip, ["-n", server, "link", "set", "veth0", "up"])
                try Self.check(ip, ["-n", server, "link", "set", "lo", "up"])
            } else {
                try Self.check(ip, ["-n", client, "link", "add", "veth0", "type", "veth", "peer", "name", "peer0"])
                try Self.check(ip, ["-n", client, "link", "set", "peer0", "up"])
            }
        } catch {
            remove()
            throw error
        }
    }

    /// Kills dnsmasq, deletes the namespaces (and with them the veth pair) and the work directory.
    func remove() {
        if let pid = dnsmasq {
            kill(pid, SIGTERM)
            var status: Int32 = 0
            var waited = 0
            while waitpid(pid, &status, WNOHANG) == 0 && waited < 50 {
                usleep(100_000)
                waited += 1
            }
            if waited == 50 {
                kill(pid, SIGKILL)
                waitpid(pid, &status, 0)
            }
            dnsmasq = nil
        }
        if let ip = try? Self.tool("ip") {
            for namespace in [server, client] where FileManager.default.fileExists(atPath: "/run/netns/\(namespace)") {
                _ = Self.run(ip, ["netns", "del", namespace])
            }
        }
        try? FileManager.default.removeItem(atPath: work)
    }

    var dnsmasqLog: String {
        String(decoding: FileManager.default.contents(atPath: "\(work)/dnsmasq.log") ?? Data(), as: UTF8.self)
    }

    /// dnsmasq on the server's veth0, DHCP only (`--port=0`), ready when it says its sockets are bound.
    ///
    /// Started with posix_spawn, not Foundation's `Process`: dnsmasq closes every inherited descriptor
    /// at start, which Foundation (Linux) takes for its exit, and its one monitoring thread then blocks
    /// in `waitpid` on dnsmasq, so no later `Process` (the agent) is ever seen to end.
    func startDnsmasq() async throws {
        let arguments = ["ip", "netns", "exec", server, try Self.tool("dnsmasq"), "--no-daemon", "--conf-file=/dev/null", "--port=0",
                         "--interface=veth0", "--bind-interfaces", "--no-ping", "--log-dhcp",
                         "--dhcp-range=192.168.77.50,192.168.77.99,255.255.255.0,1h", "--dhcp-option=3,192.168.77.1",
                         "--dhcp-option=6,192.168.77.53", "--dhcp-option=15,lab.example",
                         "--dhcp-leasefile=\(work)/leases", "--pid-file=\(work)/dnsmasq.pid"]
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "\(work)/dnsmasq.log", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, try Self.tool("ip"), &actions, nil, argv, environ)
        guard spawned == 0 else { throw SetupError("could not start dnsmasq: \(String(cString: strerror(spawned)))") }
        dnsmasq = pid
        for _ in 0..<50 where !dnsmasqLog.contains("sockets bound exclusively to interface veth0") {
            var status: Int32 = 0
            guard waitpid(pid, &status, WNOHANG) == 0 else {
                dnsmasq = nil
                throw SetupError("dnsmasq exited:\n\(dnsmasqLog)")
            }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        guard dnsmasqLog.contains("sockets bound exclusively") else { throw SetupError("dnsmasq did not start in 5 s:\n\(dnsmasqLog)") }
    }

    /// The release agent in the client namespace (killed after 60 s).
    func agent(_ arguments: [String]) async throws -> ShellResult {
        try await shell(try Self.tool("ip"), ["netns", "exec", client, try Self.agentBinary()] + arguments, timeout: 60)
    }

    func ip(_ arguments: [String]) async throws -> ShellResult {
        try await shell(try Self.tool("ip"), arguments, timeout: 20)
    }

    /// `imprint-agent` beside `$IMPRINT_BIN`, else `.build/release/imprint-agent`.
    static func agentBinary() throws -> String {
        let directory = ProcessInfo.processInfo.environment["IMPRINT_BIN"].map { URL(fileURLWithPath: $0).deletingLastPathComponent().path }
            ?? "\(CLI.packageRoot)/.build/release"
        let path = "\(directory)/imprint-agent"
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw SetupError("no imprint-agent at \(path): run `swift build -c release` first (make test does)")
        }
        return path
    }

    /// A system tool by name, looked for on PATH and in the sbin directories root's PATH may lack.
    static func tool(_ name: String) throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        for directory in path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin", "/usr/bin", "/bin"] {
            if FileManager.default.isExecutableFile(atPath: "\(directory)/\(name)") { return "\(directory)/\(name)" }
        }
        throw SetupError("\(name) is not installed (DHCPNetnsTests need iproute2 and dnsmasq: apt-get install iproute2 dnsmasq-base)")
    }

    @discardableResult
    static func run(_ executable: String, _ arguments: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }

    static func check(_ executable: String, _ arguments: [String]) throws {
        let status = run(executable, arguments)
        guard status == 0 else { throw SetupError("\(executable) \(arguments.joined(separator: " ")) failed (exit \(status))") }
    }
}
