/// What `imprint-agent` was asked to do when it is not PID 1.
public enum HostCommand: Equatable, Sendable {
    case version
    case help
    /// Coldplug planning and the banner against a fake root, loading nothing.
    case probeRoot(String)
    /// Builds the booted report and inventory from a fake root and PUTs them
    /// to `server` (else the identity's servers), configuring no network.
    case reportRoot(String, server: String?)
    /// The deploy against `disk`, a file standing in for the machine's disk, as the device
    /// in the identity file; `server` replaces the identity's servers.
    case deploy(disk: String, identity: String, server: String?, maximumRate: Int?)
    /// DHCP on one interface of this host: print the lease, configure address and route, write no
    /// resolv.conf; give up after `timeoutSeconds`.
    case dhcp(String, timeoutSeconds: Int)
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
        case "--report-root", "--server", "--disk", "--identity":
            if arguments.contains("--disk") || arguments.contains("--identity") { return deploy(arguments) }
            return reportRoot(arguments)
        case "--dhcp", "--timeout":
            return dhcp(arguments)
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

    /// `--disk FILE --identity FILE.json [--server URL]`, in any order.
    private static func deploy(_ arguments: [String]) -> HostCommand {
        var values: [String: String] = [:]
        var index = 0
        while index < arguments.count {
            let flag = arguments[index]
            guard ["--disk", "--identity", "--server", "--max-rate"].contains(flag) else { return .usageError("unknown argument \(flag) with --disk") }
            guard index + 1 < arguments.count, !arguments[index + 1].isEmpty else { return .usageError("\(flag) needs a value") }
            values[flag] = arguments[index + 1]
            index += 2
        }
        guard let disk = values["--disk"] else { return .usageError("--identity goes with --disk FILE") }
        guard let identity = values["--identity"] else { return .usageError("--disk needs --identity FILE.json") }
        var rate: Int?
        if let text = values["--max-rate"] {
            guard let value = Int(text), value > 0 else { return .usageError("--max-rate takes bytes per second, a positive integer") }
            rate = value
        }
        return .deploy(disk: disk, identity: identity, server: values["--server"], maximumRate: rate)
    }

    /// `--dhcp IFACE [--timeout SECONDS]`, in either order; 30 s unless given.
    private static func dhcp(_ arguments: [String]) -> HostCommand {
        var interface: String?
        var timeout = 30
        var index = 0
        while index < arguments.count {
            let flag = arguments[index]
            guard flag == "--dhcp" || flag == "--timeout" else { return .usageError("unknown argument \(flag) with --dhcp") }
            guard index + 1 < arguments.count, !arguments[index + 1].isEmpty else { return .usageError("\(flag) needs a value") }
            let value = arguments[index + 1]
            if flag == "--dhcp" {
                interface = value
            } else {
                guard let seconds = Int(value), (1...86_400).contains(seconds) else {
                    return .usageError("--timeout takes whole seconds, 1 to 86400")
                }
                timeout = seconds
            }
            index += 2
        }
        guard let interface else { return .usageError("--timeout goes with --dhcp IFACE") }
        return .dhcp(interface, timeoutSeconds: timeout)
    }

    private static func directory(_ path: String) -> HostCommand {
        path.isEmpty ? .usageError("--probe-root needs a directory") : .probeRoot(path)
    }

    /// The usage text.
    public static let usage = """
        usage: imprint-agent --version
               imprint-agent --probe-root DIR
               imprint-agent --report-root DIR [--server URL]
               imprint-agent --disk FILE --identity FILE.json [--server URL] [--max-rate BYTES]
               imprint-agent --dhcp IFACE [--timeout SECONDS]
        As PID 1 in an imprint initrd it takes no arguments and reads the kernel
        command line (imprint.mode=probe, imprint.server=URL, imprint.after=...).
        --probe-root DIR runs the coldplug plan and the banner against DIR/sys,
        DIR/proc/cmdline, DIR/lib/modules/<release> and DIR/etc/imprint,
        loading nothing.
        --report-root DIR builds the booted status.json and inventory.json from
        DIR (sys/, etc/imprint/identity.json) and PUTs them to URL, else to the
        identity's servers; it configures no network. Exit 0 when both were stored.
        --disk FILE --identity FILE.json runs the deploy as the identity's device
        against FILE (an existing file standing in for the disk: its length is the
        disk's size): assignment, preflight, stream, verify, report. It mounts
        nothing (customization is skipped with a warning) and does not reboot.
        Exit 0 when the report says done, 1 otherwise. --max-rate caps the
        download in bytes per second.
        --dhcp IFACE runs the agent's DHCP client on IFACE of this host (as root),
        prints the lease, sets the address and default route, and prints the
        resolv.conf it would write (it writes none). Exit 0 on a lease, 1 when
        none came within SECONDS (30).

        """
}
