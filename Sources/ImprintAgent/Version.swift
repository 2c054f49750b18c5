/// The agent's version, printed by `--version` and in the boot banner.
public let agentVersion = "0.1.0"
