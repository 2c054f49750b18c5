/// What a kernel module's `.modinfo` section says about loading it.
///
/// `.modinfo` is a run of NUL-terminated `key=value` strings, e.g. from Debian's ext4.ko:
///
///     softdep=pre: crypto-crc32c\0 ... alias=fs-ext4\0 ... depends=jbd2,mbcache,crc16\0
///     name=ext4\0 vermagic=6.1.0-56-amd64 SMP preempt mod_unload modversions \0
///
/// Keys this type does not model (`license`, `description`, `parm`, ...) are skipped.
public struct ModInfo: Equatable, Sendable {
    /// The module's name, as the kernel and `modules.dep` know it (`virtio_net`).
    public var name: String
    /// Modules that must be loaded first (`depends=`), in the module's order.
    public var depends: [String]
    /// Modules `modprobe` loads before this one (`softdep=pre:`). Entries may be aliases
    /// (`crypto-crc32c`) rather than module names, and may name modules that do not exist.
    public var softdepPre: [String]
    /// Modules `modprobe` loads after this one (`softdep=post:`); as loose as `softdepPre`.
    public var softdepPost: [String]
    /// Patterns a device's `modalias` is matched against with ``globMatch(_:_:)``.
    public var aliases: [String]
    /// Firmware files the driver may request, relative to `/lib/firmware`.
    public var firmware: [String]
    /// The kernel version and options the module was built for, byte for byte
    /// (Debian's ends with a space).
    public var vermagic: String?

    /// A module description given field by field.
    public init(
        name: String, depends: [String] = [], softdepPre: [String] = [], softdepPost: [String] = [],
        aliases: [String] = [], firmware: [String] = [], vermagic: String? = nil
    ) {
        self.name = name
        self.depends = depends
        self.softdepPre = softdepPre
        self.softdepPost = softdepPost
        self.aliases = aliases
        self.firmware = firmware
        self.vermagic = vermagic
    }

    /// Parses the bytes of a `.modinfo` section.
    ///
    /// - Parameters:
    ///   - name: the module's name when `.modinfo` has no `name=` key (older kernels), usually
    ///     ``moduleName(fromPath:)`` of its file; a `name=` key overrides it.
    ///   - modinfo: the section's bytes. Empty strings (alignment padding) are skipped; bytes
    ///     that are not UTF-8 are replaced with U+FFFD.
    public init(name: String, modinfo: some Collection<UInt8>) {
        self.init(name: name)
        for field in modinfo.split(separator: 0, omittingEmptySubsequences: true) {
            let text = String(decoding: field, as: UTF8.self)
            guard let equals = text.firstIndex(of: "=") else { continue }
            let key = text[..<equals]
            let value = String(text[text.index(after: equals)...])
            switch key {
            case "name":
                if !value.isEmpty { self.name = value }
            case "depends":
                depends += value.split(separator: ",").map(String.init)
            case "softdep":
                let (pre, post) = Self.parseSoftdep(value)
                softdepPre += pre
                softdepPost += post
            case "alias":
                aliases.append(value)
            case "firmware":
                firmware.append(value)
            case "vermagic":
                vermagic = value
            default:
                break
            }
        }
    }

    /// Splits a softdep value such as `pre: crc32c post: foo bar` into its two lists, the way
    /// kmod reads `softdep` lines: words after `pre:` or `post:` go to that list; words before
    /// either are ignored.
    public static func parseSoftdep(_ value: some StringProtocol) -> (pre: [String], post: [String]) {
        var mode = SoftdepMode.none
        var pre: [String] = []
        var post: [String] = []
        for word in value.split(whereSeparator: { $0 == " " || $0 == "\t" }) {
            switch word {
            case "pre:": mode = .pre
            case "post:": mode = .post
            default:
                switch mode {
                case .none: break
                case .pre: pre.append(String(word))
                case .post: post.append(String(word))
                }
            }
        }
        return (pre, post)
    }

    private enum SoftdepMode { case none, pre, post }

    /// The module name a file path stands for: its last component without `.ko`, `.ko.xz`,
    /// `.ko.zst` or `.ko.gz`, dashes turned to underscores as the kernel does
    /// (`kernel/arch/x86/crypto/crc32c-intel.ko` gives `crc32c_intel`).
    public static func moduleName(fromPath path: String) -> String {
        var base = Substring(path)
        if let slash = base.lastIndex(of: "/") {
            base = base[base.index(after: slash)...]
        }
        for suffix in [".ko", ".ko.xz", ".ko.zst", ".ko.gz"] where base.hasSuffix(suffix) && base.count > suffix.count {
            base = base.dropLast(suffix.count)
            break
        }
        return normalizedModuleName(base)
    }

    /// `name` with dashes turned to underscores: the kernel treats the two as the same.
    public static func normalizedModuleName(_ name: some StringProtocol) -> String {
        String(name.map { $0 == "-" ? "_" : $0 })
    }
}
