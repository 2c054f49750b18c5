import ImprintCore

/// `imprint-agent --dhcp IFACE [--timeout SECONDS]`: the agent's DHCP client against a real server,
/// on one interface of this host (the end-to-end test runs it in a network namespace of its own).
/// It configures what PID 1 configures but leaves the host's /etc/resolv.conf alone.
public enum HostDHCP {
    /// 0 with a lease configured, 1 when none came in time or it could not be configured, 2 when
    /// the interface does not exist.
    public static func run(interface: String, timeoutSeconds: Int, socket: any DHCPSocket = LinuxDHCPSocket(),
                           network: any NetworkConfigurator = LinuxNetwork(), fs: any FileSystem = RootedFileSystem(),
                           clock: any AgentClock = MonotonicClock(), output: any LogSink, errors: any LogSink) -> Int32 {
        guard let nic = Inventory.gather(from: fs).interfaces.first(where: { $0.name == interface }) else {
            errors.write("imprint-agent: no interface \(interface) in /sys/class/net\n")
            return 2
        }
        let log = Log(sinks: [output])
        do {
            try network.bringUp(interface)
        } catch {
            errors.write("imprint-agent: \(error)\n")
            return 1
        }
        let run = DHCPRun(socket: socket, clock: clock, log: log, operstate: { DHCPRun.linkState(fs, $0) },
                          giveUpAfter: UInt64(max(timeoutSeconds, 1)) * 1000, hostName: nil,
                          seed: ConfigureNetwork.timeSeed())
        guard let winner = run.run([nic]) else {
            errors.write("imprint-agent: no DHCP lease on \(interface) within \(timeoutSeconds) s\n")
            return 1
        }
        log.info("dhcp: \(interface) lease \(winner.lease) (\(DHCPRun.tenths(winner.milliseconds)) s)")
        do {
            try ConfigureNetwork.apply(winner.lease, on: interface, network)
        } catch {
            errors.write("imprint-agent: \(error)\n")
            return 1
        }
        log.info("dhcp: \(interface) configured")
        if let text = resolvConf(for: winner.lease) {
            log.info("dhcp: host mode: /etc/resolv.conf left alone; PID 1 would write:")
            for line in text.split(separator: "\n") { log.info("  \(line)") }
        }
        return 0
    }
}
