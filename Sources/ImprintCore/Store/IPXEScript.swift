/// The iPXE scripts the store serves: one per device and `devices/default.ipxe` for discovery.
///
/// iPXE resolves names in a script against the script's own URL, so every path is relative and
/// the same script works over TFTP and HTTP and behind any prefix. Under UEFI the kernel finds
/// its initrds only if its command line names them (`initrd=NAME`, NAME being the last part of
/// each `initrd` URL); BIOS iPXE hands the initrds over itself and the kernel ignores the names.
public enum IPXEScript {
    /// What a script needs to know about a built profile.
    public struct Profile: Equatable, Sendable {
        public var name: String
        /// The kernel command line from the profile's `build.json`.
        public var cmdline: String
        public init(name: String, cmdline: String) {
            self.name = name
            self.cmdline = cmdline
        }
    }

    /// `devices/<mac>/boot.ipxe`: the profile's kernel, its base initrd, then the device's identity.
    public static func device(mac: MACAddress, hostname: String?, profile: Profile) -> String {
        var lines = ["#!ipxe", "# imprint: \(mac.hyphenated)\(hostname.map { " (\($0))" } ?? ""), profile \(profile.name)"]
        lines.append(kernelLine(base: "../../boot/\(profile.name)", cmdline: profile.cmdline, initrds: ["initrd.img", "identity.cpio"]))
        lines.append("initrd ../../boot/\(profile.name)/initrd.img")
        lines.append("initrd identity.cpio")
        lines.append("boot")
        return lines.joined(separator: "\n") + "\n"
    }

    /// `devices/default.ipxe`: a machine whose `devices/<mac>/boot.ipxe` exists chains to it; any
    /// other boots the profile's agent with no identity, which reports its inventory (discovery).
    /// So a DHCP server may hand every iPXE client this one URL.
    public static func discovery(profile: Profile) -> String {
        [
            "#!ipxe",
            "# imprint: known machines chain to their own script; others boot profile \(profile.name) with no identity (discovery)",
            "chain --autofree ${mac:hexhyp}/boot.ipxe || goto discovery",
            ":discovery",
            kernelLine(base: "../boot/\(profile.name)", cmdline: profile.cmdline, initrds: ["initrd.img"]),
            "initrd ../boot/\(profile.name)/initrd.img",
            "boot",
        ].joined(separator: "\n") + "\n"
    }

    /// Why `cmdline` cannot go on an iPXE `kernel` line, or nil: a line break would end the
    /// command, and iPXE would expand `${...}` itself.
    public static func problem(withCmdline cmdline: String) -> String? {
        if cmdline.contains(where: { $0 == "\n" || $0 == "\r" }) { return "holds a line break" }
        if cmdline.contains("${") { return "holds '${', which iPXE would expand" }
        return nil
    }

    private static func kernelLine(base: String, cmdline: String, initrds: [String]) -> String {
        let words = ["kernel", "\(base)/vmlinuz"] + initrds.map { "initrd=\($0)" } + (cmdline.isEmpty ? [] : [cmdline])
        return words.joined(separator: " ")
    }
}

/// Host names as `device add` accepts them (RFC 1123): dot-separated labels of letters, digits
/// and inner hyphens, each 1 to 63 characters, 253 in all.
public enum Hostname {
    /// Why `name` is refused, or nil.
    public static func problem(with name: String) -> String? {
        guard !name.isEmpty, name.utf8.count <= 253 else { return "must be 1 to 253 characters" }
        for label in name.split(separator: ".", omittingEmptySubsequences: false) {
            guard !label.isEmpty, label.utf8.count <= 63 else { return "has an empty label or one over 63 characters" }
            guard label.utf8.allSatisfy({ $0 < 0x80 && (Character(UnicodeScalar($0)).isLetter || Character(UnicodeScalar($0)).isNumber || $0 == UInt8(ascii: "-")) }) else {
                return "may hold only letters, digits, '-' and '.'"
            }
            guard label.first != "-", label.last != "-" else { return "has a label starting or ending with '-'" }
        }
        return nil
    }
}
