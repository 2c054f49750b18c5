/// What `imprint-agent` was asked to do when it is not PID 1.
public enum HostCommand: Equatable, Sendable {
    case version
    case help
    /// Coldplug planning and the banner against a fake root, loading nothing.
    case probeRoot(String)
    /// Builds the booted report and inventory from a fake root and PUTs them
    /// to `server` (else the identity's servers), configuring no network.
    case reportRoot(String, server: String?)
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
        case "--report-root", "--server":
            return reportRoot(arguments)
        default:
            if first.hasPrefix("--probe-root="), arguments.count == 1 {
                return directory(String(first.dropFirst("--probe-root=".count)))
            }
            return .usageError("unknown argument \(first)")
        }
    }

    /// `--report-root DIR [--server URL]`, in either order.
    private static func reportRoot(_ arguments: [String]) -> HostCommand {
        var root: String?
        var server: String?
        var index = 0
        while index < arguments.count {
            let flag = arguments[index]
            guard flag == "--report-root" || flag == "--server" else { return .usageError("unknown argument \(flag)") }
            guard index + 1 < arguments.count, !arguments[index + 1].isEmpty else { return .usageError("\(flag) needs a value") }
            if flag == "--report-root" { root = arguments[index + 1] } else { server = arguments[index + 1] }
            index += 2
        }
        guard let root else { return .usageError("--server goes with --report-root DIR") }
        return .reportRoot(root, server: server)
    }

    private static func directory(_ path: String) -> HostCommand {
        path.isEmpty ? .usageError("--probe-root needs a directory") : .probeRoot(path)
    }

    /// The usage text.
    public static let usage = """
        usage: imprint-agent --version
               imprint-agent --probe-root DIR
               imprint-agent --report-root DIR [--server URL]
        As PID 1 in an imprint initrd it takes no arguments and reads the kernel
        command line (imprint.mode=probe, imprint.server=URL, imprint.after=...).
        --probe-root DIR runs the coldplug plan and the banner against DIR/sys,
        DIR/proc/cmdline, DIR/lib/modules/<release> and DIR/etc/imprint,
        loading nothing.
        --report-root DIR builds the booted status.json and inventory.json from
        DIR (sys/, etc/imprint/identity.json) and PUTs them to URL, else to the
        identity's servers; it configures no network. Exit 0 when both were stored.

        """
}
