/// Prints the banner: versions, linked libraries, NICs, disks, identity.
public struct PrintBanner: BootStep {
    public init() {}

    public var description: String { "print the banner" }

    public func run(_ context: AgentContext) throws(AgentError) {
        let banner = Banner(
            agentVersion: agentVersion,
            kernelRelease: context.kernelRelease ?? "-",
            profile: context.profile?.profile,
            libraries: context.libraries,
            inventory: Inventory.gather(from: context.fs),
            identity: context.identity)
        for line in banner.lines {
            context.log.info(line)
        }
    }
}

/// The banner's identity line alone (host mode `--report-root`).
public struct PrintIdentity: BootStep {
    public init() {}

    public var description: String { "print the identity" }

    public func run(_ context: AgentContext) throws(AgentError) {
        if let line = Banner(agentVersion: agentVersion, kernelRelease: "-", profile: nil, libraries: context.libraries,
                             inventory: Inventory(), identity: context.identity).lines.last {
            context.log.info(line)
        }
    }
}
