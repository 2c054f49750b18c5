/// Which store files TFTP serves, decided from the requested name alone (DESIGN section 4).
///
/// Served: anything under `boot/` (kernels, initrds, the iPXE chain-loaders), `devices/default.ipxe`,
/// and each device's `devices/<mac>/boot.ipxe` and `devices/<mac>/identity.cpio`. Never an
/// `assignment.json`, `incoming/`, `secrets/`, `reports/` or anything else. A leading `/` means the
/// store's root, as tftpd-hpa's `--secure` does, so `/boot/x` and `boot/x` are the same file.
///
/// The name must be plain: printable ASCII without `\`, at most 255 bytes, no empty, `.` or `..`
/// component and no component starting with `.`. Nothing is decoded (`%2e%2e` is a name like any
/// other, and names no served file). The server still resolves symlinks and refuses a file whose real
/// path leaves the store or is not itself a served name.
public enum TFTPPath {
    public static let maxLength = 255

    /// The store-relative components of a served name, or why it is refused.
    public static func resolve(_ name: [UInt8]) throws(TFTPRefusal) -> [String] {
        guard !name.isEmpty else { throw TFTPRefusal(.fileNotFound, "empty file name") }
        guard name.count <= maxLength else {
            throw TFTPRefusal(.accessViolation, "file name of \(name.count) bytes is longer than \(maxLength)")
        }
        for byte in name {
            guard byte >= 0x20 && byte < 0x7F else {
                throw TFTPRefusal(.accessViolation, "file name holds a control or non-ASCII byte")
            }
            guard byte != UInt8(ascii: "\\") else { throw TFTPRefusal(.accessViolation, "file name holds a backslash") }
        }
        var text = Substring(String(decoding: name, as: UTF8.self))
        if text.first == "/" { text.removeFirst() }
        let components = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        for component in components {
            guard !component.isEmpty else { throw TFTPRefusal(.accessViolation, "file name has an empty component") }
            guard component != ".." else { throw TFTPRefusal(.accessViolation, "file name leaves the store ('..')") }
            guard !component.hasPrefix(".") else { throw TFTPRefusal(.accessViolation, "file name has a hidden or '.' component") }
        }
        guard isServed(components) else {
            throw TFTPRefusal(.accessViolation, "not served over TFTP (only boot/, devices/default.ipxe, devices/<mac>/boot.ipxe and identity.cpio)")
        }
        return components
    }

    /// Whether store-relative `components` (already plain) name a file TFTP serves.
    public static func isServed(_ components: [String]) -> Bool {
        switch components.first {
        case "boot":
            return components.count >= 2
        case "devices":
            if components == ["devices", "default.ipxe"] { return true }
            return components.count == 3 && isMAC(components[1]) && (components[2] == "boot.ipxe" || components[2] == "identity.cpio")
        default:
            return false
        }
    }

    /// `52-54-00-12-34-56`: lower-case hex, hyphen-separated, as the store names device folders.
    public static func isMAC(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 17 else { return false }
        for (i, byte) in bytes.enumerated() {
            if i % 3 == 2 {
                guard byte == UInt8(ascii: "-") else { return false }
            } else {
                guard (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f")) else { return false }
            }
        }
        return true
    }
}
