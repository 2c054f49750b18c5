/// What the agent was asked to do.
public enum AgentMode: String, Equatable, Sendable {
    /// Coldplug, print the banner and inventory, power off.
    case probe
    /// Fetch the assignment and deploy it (not written yet: probes instead).
    case deploy
}

/// What to do when the work is done.
public enum AfterAction: String, Equatable, Sendable {
    case poweroff, reboot, kexec
}

/// The agent's settings from the kernel command line (`/proc/cmdline`).
public struct KernelCommandLine: Equatable, Sendable {
    /// `imprint.mode=`
    public var mode: AgentMode?
    /// `imprint.server=URL`: a store, used when no identity names one.
    public var server: String?
    /// `imprint.after=`: overrides the assignment's.
    public var after: AfterAction?
    /// `imprint.ip=ADDR/PREFIX,GATEWAY`: a static address until DHCP exists;
    /// nil means QEMU user networking's 10.0.2.15/24 via 10.0.2.2.
    public var ip: StaticIPv4?
    /// `imprint.medium=LABEL`: the ISO 9660 volume id of the boot medium (docs/media.md), never a deploy target.
    public var medium: String?
    /// `imprint.offline`: deploy from the boot medium's data partition, with no network (docs/media.md).
    public var offline = false
    /// What was present but not understood, one text each, for the log.
    public var problems: [String] = []

    public init(mode: AgentMode? = nil, server: String? = nil, after: AfterAction? = nil, problems: [String] = []) {
        self.mode = mode
        self.server = server
        self.after = after
        self.problems = problems
    }

    /// Parses `/proc/cmdline`. Parameters not starting `imprint.` belong to
    /// the kernel and are ignored; as in the kernel, the last of a repeated
    /// parameter wins and double quotes group a value with spaces.
    public static func parse(_ text: String) -> KernelCommandLine {
        var result = KernelCommandLine()
        for parameter in kernelParameters(text) where parameter.hasPrefix("imprint.") {
            let key: Substring
            let value: String?
            if let equals = parameter.firstIndex(of: "=") {
                key = parameter[..<equals]
                value = String(parameter[parameter.index(after: equals)...])
            } else {
                key = parameter[...]
                value = nil
            }
            switch key {
            case "imprint.mode":
                if let value, let mode = AgentMode(rawValue: value) {
                    result.mode = mode
                } else {
                    result.problems.append("\(parameter) not understood (known: imprint.mode=probe|deploy)")
                }
            case "imprint.server":
                if let value, !value.isEmpty {
                    result.server = value
                } else {
                    result.problems.append("\(parameter) has no URL")
                }
            case "imprint.after":
                if let value, let after = AfterAction(rawValue: value) {
                    result.after = after
                } else {
                    result.problems.append("\(parameter) not understood (known: imprint.after=poweroff|reboot|kexec)")
                }
            case "imprint.ip":
                if let value, let ip = StaticIPv4.parse(value) {
                    result.ip = ip
                } else {
                    result.problems.append("\(parameter) not understood (write imprint.ip=10.0.2.15/24,10.0.2.2)")
                }
            case "imprint.medium":
                if let value, !value.isEmpty { result.medium = value } else { result.problems.append("\(parameter) has no volume id") }
            case "imprint.offline":
                result.offline = true
            default:
                result.problems.append("unknown parameter \(key)")
            }
        }
        return result
    }
}

/// Splits a kernel command line into parameters the way the kernel does:
/// on spaces, except inside double quotes, which are removed.
public func kernelParameters(_ text: String) -> [String] {
    var parameters: [String] = []
    var current = ""
    var quoted = false
    var started = false
    for character in text {
        if character == "\"" {
            quoted.toggle()
            started = true
        } else if !quoted && (character == " " || character == "\t" || character == "\n" || character == "\r" || character == "\r\n") {
            if started { parameters.append(current) }
            current = ""
            started = false
        } else {
            current.append(character)
            started = true
        }
    }
    if started { parameters.append(current) }
    return parameters
}
