import ImprintCore

/// Brings up `lo` and one NIC with a static IPv4 address (`imprint.ip=`, else
/// QEMU user networking's 10.0.2.15/24 via 10.0.2.2), then waits up to 3 s for
/// its link. Nothing here is fatal: a failure is an ERROR line and the agent
/// powers off as usual. Does nothing with `imprint.mode=probe`.
public struct ConfigureNetwork: BootStep {
    /// How long to wait for the link, and how often to look.
    public var linkWaitMilliseconds: UInt64 = 3000
    public var pollMilliseconds: UInt64 = 100

    public init() {}

    public var description: String { "configure the network" }

    public func run(_ context: AgentContext) throws(AgentError) {
        guard context.commandLine.mode != .probe else { return }
        var identityMAC: String?
        if case .present(let identity) = context.identity { identityMAC = identity.mac }
        let interfaces = Inventory.gather(from: context.fs).interfaces
        guard let nic = chooseInterface(interfaces, identityMAC: identityMAC) else {
            context.log.error("no network interface with a driver to report through — check that the profile has the NIC's module (coldplug above lists what loaded)")
            context.outcome = "no network"
            return
        }
        let config = context.commandLine.ip ?? StaticIPv4.qemuUserDefault
        let source = context.commandLine.ip == nil ? "QEMU user networking default; imprint.ip= overrides" : "imprint.ip="
        do {
            try context.network.bringUp("lo")
            context.log.info("network: lo up")
        } catch {
            context.log.warning("\(error)")
        }
        do {
            context.log.info("network: \(nic.name) mac \(nic.mac) driver \(nic.driver ?? "-"): \(config) (\(source))")
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
