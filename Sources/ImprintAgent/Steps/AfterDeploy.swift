/// After a deploy that is done: what the assignment says (`imprint.after=` overrides):
/// `reboot` into the deployed disk, `poweroff` (the next step), or `kexec`, which this
/// agent does not do yet and replaces with a reboot, saying so. Without a finished deploy
/// it does nothing and the machine powers off.
public struct AfterDeploy: BootStep {
    public init() {}

    public var description: String { "reboot into the deployed system" }

    public func run(_ context: AgentContext) throws(AgentError) {
        guard let assigned = context.deployedAfter else { return }
        var after = assigned
        if let override = context.commandLine.after {
            switch override {
            case .reboot: after = .reboot
            case .poweroff: after = .poweroff
            case .kexec: after = .kexec
            }
            context.log.info("after: imprint.after=\(after.rawValue) overrides the assignment's \(assigned.rawValue)")
        }
        switch after {
        case .poweroff:
            context.outcome = "deploy done"
            return
        case .kexec:
            context.log.warning("after: kexec is not implemented in this agent yet; rebooting instead (docs/deploy.md)")
        case .reboot:
            break
        }
        context.log.info("deploy done, rebooting into the deployed system")
        context.machine.sync()
        let failure = context.machine.restart()
        context.log.error("restart failed (\(failure.reason)); powering off instead")
        context.outcome = "deploy done"
    }
}
