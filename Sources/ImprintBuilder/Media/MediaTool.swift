import Foundation

/// The host tools and GRUB platform files boot media need, each with the Debian package that ships it
/// (docs/media.md). GRUB comes from the host's packages, not the cache: `grub-mkimage` and the modules
/// it links must be of one version.
enum MediaTool: String, CaseIterable, Sendable {
    case grubMkimage = "grub-mkimage"
    case xorriso
    case mformat, mmd, mcopy
    /// GRUB's BIOS platform (`/usr/lib/grub/i386-pc`): the El Torito core's modules and the hybrid MBR.
    case grubBIOS = "i386-pc"
    /// GRUB's UEFI platform (`/usr/lib/grub/x86_64-efi`).
    case grubEFI = "x86_64-efi"

    /// Where Debian installs GRUB's platform folders.
    static let grubRoot = "/usr/lib/grub"

    var package: String {
        switch self {
        case .grubMkimage, .grubBIOS: return "grub-pc-bin"
        case .grubEFI: return "grub-efi-amd64-bin"
        case .xorriso: return "xorriso"
        case .mformat, .mmd, .mcopy: return "mtools"
        }
    }

    var hint: String { "install Debian's \(package) package (scripts/bootstrap does)" }

    /// The file that shows a GRUB platform is installed; nil for a program.
    var platformMarker: String? {
        switch self {
        case .grubBIOS: return "boot_hybrid.img"
        case .grubEFI: return "linux.mod"
        default: return nil
        }
    }

    /// The program on PATH, or the GRUB platform folder; nil when missing.
    func locate(path: [String], grubRoot: String = MediaTool.grubRoot) -> String? {
        let fm = FileManager.default
        if let marker = platformMarker {
            let dir = "\(grubRoot)/\(rawValue)"
            return fm.isReadableFile(atPath: "\(dir)/\(marker)") ? dir : nil
        }
        return path.map { "\($0)/\(rawValue)" }.first { fm.isExecutableFile(atPath: $0) }
    }

    /// The folders of `$PATH`.
    static var searchPath: [String] {
        (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":").map(String.init)
    }

    /// The tools that are missing, in a stable order.
    static func missing(path: [String] = searchPath, grubRoot: String = grubRoot) -> [MediaTool] {
        allCases.filter { $0.locate(path: path, grubRoot: grubRoot) == nil }
    }

    /// The error for `missing` tools: each named, with the packages to install.
    static func missingError(_ missing: [MediaTool]) -> MediaError {
        let names = missing.map { $0.platformMarker == nil ? $0.rawValue : "GRUB's \($0.rawValue) platform (\(grubRoot)/\($0.rawValue))" }
        let packages = Set(missing.map(\.package)).sorted().joined(separator: " ")
        return MediaError("missing \(names.joined(separator: ", ")): install Debian's \(packages) (scripts/bootstrap does, or apt-get install \(packages))")
    }

    /// Runs the program; a non-zero exit is an error naming the tool, what it was doing and its last line of stderr.
    @discardableResult
    func run(_ arguments: [String], environment: [String: String], what: String) throws -> ProcessOutput {
        let out: ProcessOutput
        do {
            out = try ImprintBuilder.run(locate(path: Self.searchPath) ?? rawValue, arguments, environment: environment, hint: hint)
        } catch {
            throw MediaError("\(error)")
        }
        guard out.status == 0 else {
            throw MediaError("\(rawValue) failed to \(what) (exit \(out.status)): \(out.lastErrorLine)")
        }
        return out
    }

    /// Tools see a fixed time and zone, so the same inputs give the same bytes (DESIGN section 10).
    static func environment(epoch: Int) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["SOURCE_DATE_EPOCH"] = "\(epoch)"
        // mtools writes FAT dates in local time.
        env["TZ"] = "UTC"
        env["MTOOLS_SKIP_CHECK"] = "1"
        return env
    }
}
