import Foundation

/// The host tools the demo image needs, each with the Debian package that ships it.
enum DemoTool: String, CaseIterable {
    case objcopy, objdump, mformat, mmd, mcopy
    case mkfsExt4 = "mkfs.ext4"
    case debugfs

    var package: String {
        switch self {
        case .objcopy, .objdump: return "binutils"
        case .mformat, .mmd, .mcopy: return "mtools"
        case .mkfsExt4, .debugfs: return "e2fsprogs"
        }
    }

    var hint: String { "install Debian's \(package) package (scripts/bootstrap does)" }

    /// On PATH, else in /usr/sbin or /sbin (a user's PATH on Debian leaves out the sbin folders,
    /// where mkfs.ext4 and debugfs live).
    var path: String? {
        which(rawValue) ?? ["/usr/sbin", "/sbin"].map { "\($0)/\(rawValue)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs the tool; a non-zero exit is an error that names the tool and its last line of stderr.
    @discardableResult
    func run(_ arguments: [String], environment: [String: String]? = nil, what: String) throws -> ProcessOutput {
        let out = try ImprintBuilder.run(path ?? rawValue, arguments, environment: environment, hint: hint)
        guard out.status == 0 else {
            throw DemoError("\(rawValue) failed to \(what) (exit \(out.status)): \(out.lastErrorLine)")
        }
        return out
    }

    /// The tools building `format` runs: a tar makes no file systems, so only binutils for the UKI.
    static func required(for format: DemoImage.Format) -> [DemoTool] {
        switch format {
        case .raw: return allCases
        case .tar: return [.objcopy, .objdump]
        }
    }

    /// The tools building `format` runs that are not on PATH.
    static func missing(for format: DemoImage.Format) -> [DemoTool] { required(for: format).filter { $0.path == nil } }
}
