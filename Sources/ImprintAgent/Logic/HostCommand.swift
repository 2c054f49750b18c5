/// What `imprint-agent` was asked to do when it is not PID 1.
public enum HostCommand: Equatable, Sendable {
    case version
    case help
    /// Coldplug planning and the banner against a fake root, loading nothing.
    case probeRoot(String)
    /// Arguments not understood, and why.
    case usageError(String)

    /// Parses the arguments after the program name.
    public static func parse(_ arguments: [String]) -> HostCommand {
        guard let first = arguments.first else { return .usageError("no command given") }
        switch first {
        case "--version":
            return arguments.count == 1 ? .version : .usageError("--version takes no arguments")
        case "-h", "--help":
            return .help
        case "--probe-root":
            guard arguments.count == 2 else { return .usageError("--probe-root takes one directory") }
            return directory(arguments[1])
        default:
            if first.hasPrefix("--probe-root="), arguments.count == 1 {
                return directory(String(first.dropFirst("--probe-root=".count)))
            }
            return .usageError("unknown argument \(first)")
        }
    }

    private static func directory(_ path: String) -> HostCommand {
        path.isEmpty ? .usageError("--probe-root needs a directory") : .probeRoot(path)
    }

    /// The usage text.
    public static let usage = """
        usage: imprint-agent --version
               imprint-agent --probe-root DIR
        As PID 1 in an imprint initrd it takes no arguments and reads the kernel
        command line (imprint.mode=probe, imprint.server=URL, imprint.after=...).
        --probe-root DIR runs the coldplug plan and the banner against DIR/sys,
        DIR/proc/cmdline, DIR/lib/modules/<release> and DIR/etc/imprint,
        loading nothing.

        """
}
