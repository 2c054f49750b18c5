import Glibc
import ImprintCore

extension ConfigureNetwork {
    /// DHCP on every NIC with a driver (the identity's first), side by side; the first lease is
    /// configured (address, netmask, default route via option 3) and written to /etc/resolv.conf.
    /// Without a time limit this only returns with a lease: a machine whose DHCP server comes later
    /// must still deploy, and it says on the console that it is waiting.
    func configureByDHCP(interfaces: [NetworkInterface], _ context: AgentContext) {
        var candidates = interfaces.filter { $0.name != "lo" && $0.driver != nil }
        if let wanted = identityMAC(context).flatMap(normalizedMAC),
           let index = candidates.firstIndex(where: { normalizedMAC($0.mac) == wanted }) {
            candidates.insert(candidates.remove(at: index), at: 0)
        }
        guard !candidates.isEmpty else {
            noInterface(context)
            return
        }
        guard dhcpSocket != nil || context.fs.hostPath("/") == "/" else {
            // The interfaces were read from a directory standing in for /sys: sending on the host's
            // interfaces of the same names would be wrong, and could reach a real network.
            context.log.error("dhcp: the machine's interfaces are read from \(context.fs.hostPath("/")), not /sys — give imprint.ip= or a DHCP socket")
            context.outcome = "no network"
            return
        }
        var up: [NetworkInterface] = []
        for nic in candidates {
            do {
                try context.network.bringUp(nic.name)
                up.append(nic)
            } catch {
                context.log.warning("network: \(error); \(nic.name) skipped")
            }
        }
        var hostName: String?
        if case .present(let identity) = context.identity { hostName = identity.hostname }
        let run = DHCPRun(
            socket: dhcpSocket?() ?? LinuxDHCPSocket(), clock: context.clock, log: context.log,
            operstate: { DHCPRun.linkState(context.fs, $0) }, giveUpAfter: dhcpGiveUpAfter,
            linkWaitMilliseconds: linkWaitMilliseconds, pollMilliseconds: pollMilliseconds, hostName: hostName,
            seed: dhcpSeed ?? Self.timeSeed())
        guard let winner = run.run(up) else {
            context.outcome = "no network"
            return
        }
        let nic = winner.interface
        let lease = winner.lease
        context.log.info("dhcp: \(nic.name) lease \(lease) (\(DHCPRun.tenths(winner.milliseconds)) s)")
        do {
            try Self.apply(lease, on: nic.name, context.network)
        } catch {
            context.log.error("network: \(error) — the lease could not be configured; check the NIC")
            context.outcome = "network failed"
            return
        }
        if let text = resolvConf(for: lease) {
            do {
                try Self.write(text, to: context.fs.hostPath("/etc/resolv.conf"))
            } catch {
                context.log.warning("dhcp: \(error); names will not resolve")
            }
        }
        context.lease = lease
        context.configuredInterface = nic
    }

    /// Address and netmask, then the default route through the lease's router (if it names one).
    static func apply(_ lease: DHCPLease, on interface: String, _ network: any NetworkConfigurator) throws(SystemError) {
        try network.setAddress(interface, address: IPv4Address(lease.address), netmask: IPv4Address(lease.netmask))
        if let router = lease.router {
            try network.addDefaultRoute(interface, gateway: IPv4Address(router))
        }
    }

    /// Replaces the file at `path` (a host path) with `text`.
    static func write(_ text: String, to path: String) throws(SystemError) {
        let fd = try Syscall.retrying("open \(path)") { open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) }
        defer { close(fd) }
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = try Syscall.retrying("write \(path)") {
                bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress.map { $0 + offset }, $0.count - offset) }
            }
            offset += written
        }
    }

    /// Nanoseconds of the real-time clock: different on every boot, which is all jitter needs (each
    /// client also mixes in its MAC, so machines booting together pick different transaction ids).
    static func timeSeed() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return UInt64(truncatingIfNeeded: now.tv_sec) &* 1_000_000_007 &+ UInt64(truncatingIfNeeded: now.tv_nsec)
    }
}
