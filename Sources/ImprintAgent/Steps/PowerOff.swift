/// The last step: flush and power off. PID 1 must not exit, so if the power-off
/// call fails the agent says so and waits forever.
public struct PowerOff: BootStep {
    /// Said before powering off: `probe done`.
    public var reason: String

    public init(reason: String) {
        self.reason = reason
    }

    public var description: String { "power off" }

    public func run(_ context: AgentContext) throws(AgentError) {
        context.log.info("\(context.outcome ?? reason), powering off")
        context.machine.sync()
        let failure = context.machine.powerOff()
        context.log.info("power off failed (\(failure.reason)); halted: switch the machine off")
        context.machine.idleForever()
    }
}
