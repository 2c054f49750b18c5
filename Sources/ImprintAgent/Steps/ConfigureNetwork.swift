import Glibc
import ImprintCore

/// Brings up `lo`, then one NIC: with `imprint.ip=` on the command line the static address it
/// names (and a wait of up to 3 s for the link), else DHCP on every NIC with a driver, the first
/// lease winning (`ConfigureNetwork+DHCP.swift`). Nothing here is fatal: a failure is an ERROR line
/// and the agent powers off as usual. Does nothing with `imprint.mode=probe`.
public struct ConfigureNetwork: BootStep {
    /// How long to wait for a link, and how often to look.
    public var linkWaitMilliseconds: UInt64 = 3000
    public var pollMilliseconds: UInt64 = 100
    /// The packet sockets DHCP runs over; nil is `AF_PACKET` on this machine, which is used only when
    /// `context.fs` is the machine's own root (interface names come from its /sys).
    public var dhcpSocket: (@Sendable () -> any DHCPSocket)?
    /// Seeds DHCP transaction ids and jitter; nil takes the time.
    public var dhcpSeed: UInt64?
    /// Stop DHCP after this long without a lease; nil (PID 1) tries for ever.
    public var dhcpGiveUpAfter: UInt64?

    public init(dhcpSocket: (@Sendable () -> any DHCPSocket)? = nil, dhcpSeed: UInt64? = nil, dhcpGiveUpAfter: UInt64? = nil) {
        self.dhcpSocket = dhcpSocket
        self.dhcpSeed = dhcpSeed
        self.dhcpGiveUpAfter = dhcpGiveUpAfter
    }

    public var description: String { "configure the network" }

    public func run(_ context: AgentContext) throws(AgentError) {
        guard context.commandLine.mode != .probe else { return }
        do {
            try context.network.bringUp("lo")
            context.log.info("network: lo up")
        } catch {
            context.log.warning("\(error)")
        }
        let interfaces = Inventory.gather(from: context.fs).interfaces
        if let config = context.commandLine.ip {
            configureStatic(config, interfaces: interfaces, context)
        } else {
            configureByDHCP(interfaces: interfaces, context)
        }
    }

    /// The identity's MAC, if there is an identity.
    func identityMAC(_ context: AgentContext) -> String? {
        if case .present(let identity) = context.identity { return identity.mac }
        return nil
    }

    func noInterface(_ context: AgentContext) {
        context.log.error("no network interface with a driver to report through — check that the profile has the NIC's module (coldplug above lists what loaded)")
        context.outcome = "no network"
    }

    /// `imprint.ip=`: the identity's NIC (else the first with a driver), its address, netmask and
    /// default route, then up to `linkWaitMilliseconds` for its link.
    private func configureStatic(_ config: StaticIPv4, interfaces: [NetworkInterface], _ context: AgentContext) {
        guard let nic = chooseInterface(interfaces, identityMAC: identityMAC(context)) else {
            noInterface(context)
            return
        }
        do {
            context.log.info("network: \(nic.name) mac \(nic.mac) driver \(nic.driver ?? "-"): \(config) (imprint.ip=)")
            try context.network.bringUp(nic.name)
            try context.network.setAddress(nic.name, address: config.address, netmask: config.netmask)
            if let gateway = config.gateway {
                try context.network.addDefaultRoute(nic.name, gateway: gateway)
            }
        } catch {
            context.log.error("network: \(error) — the store cannot be reached; check imprint.ip= and the NIC")
            context.outcome = "network failed"
            return
        }
        let start = context.clock.milliseconds()
        var state = "-"
        while true {
            state = context.fs.readValue("/sys/class/net/\(nic.name)/operstate") ?? "-"
            let waited = context.clock.milliseconds() &- start
            if state == "up" || state == "unknown" {
                context.log.info("network: \(nic.name) link \(state) after \(waited) ms")
                break
            }
            if waited >= linkWaitMilliseconds {
                context.log.warning("network: \(nic.name) link still \(state) after \(waited) ms; trying anyway (check the cable)")
                break
            }
            context.clock.sleep(milliseconds: pollMilliseconds)
        }
        context.configuredInterface = nic
    }
}
