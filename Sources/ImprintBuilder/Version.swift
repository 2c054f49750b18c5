/// imprint's version, printed by `--version`, recorded in build.json and the agent's profile.json.
public let imprintVersion = "0.1.0"
