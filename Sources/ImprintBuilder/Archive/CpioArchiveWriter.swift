import CArchive

/// One entry of an initrd, held in memory or read from a file when written.
public struct InitrdEntry: Sendable {
    public enum Content: Sendable {
        case directory
        case file(source: String)
        case bytes([UInt8])
        case symlink(target: String)
        case characterDevice(major: UInt32, minor: UInt32)
    }
    /// Relative path inside the archive, no leading slash (`usr/bin/imprint-agent`).
    public var path: String
    public var mode: UInt32
    public var content: Content

    public init(path: String, mode: UInt32, content: Content) {
        self.path = path
        self.mode = mode
        self.content = content
    }
}

/// Writes a newc cpio archive through libarchive, compressed with zstd, reproducibly:
/// entries sorted by path, mtimes and owners zero, inode numbers by position.
enum CpioArchiveWriter {
    struct Result {
        var uncompressedSize: Int
        var compressedSize: Int
    }

    static func write(_ entries: [InitrdEntry], to path: String, zstdLevel: Int = 19, read: (String) throws -> [UInt8]) throws -> Result {
        guard let a = archive_write_new() else { throw ArchiveError(operation: "write \(path)", message: "out of memory") }
        defer { archive_write_free(a) }
        try wrap(archive_write_set_format_cpio_newc(a), a, "cpio format")
        try wrap(archive_write_add_filter_zstd(a), a, "zstd filter")
        try wrap(archive_write_set_filter_option(a, "zstd", "compression-level", "\(zstdLevel)"), a, "zstd level")
        // No block padding: the output is padded to 4 bytes afterwards, which is what the kernel needs.
        try wrap(archive_write_set_bytes_per_block(a, 0), a, "block size")
        try wrap(archive_write_open_filename(a, path), a, "open \(path)")

        let sorted = entries.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
        for (index, item) in sorted.enumerated() {
            guard let e = archive_entry_new() else { throw ArchiveError(operation: "entry", message: "out of memory") }
            defer { archive_entry_free(e) }
            archive_entry_set_pathname(e, item.path)
            archive_entry_set_ino64(e, Int64(index + 1))
            archive_entry_set_mtime(e, 0, 0)
            archive_entry_set_uid(e, 0)
            archive_entry_set_gid(e, 0)
            // The cpio writer needs a size even for entries with no data (DESIGN section 10).
            archive_entry_set_size(e, 0)
            var data: [UInt8] = []
            switch item.content {
            case .directory:
                archive_entry_set_mode(e, mode_t(imprint_ae_ifdir | (item.mode & 0o7777)))
                archive_entry_set_nlink(e, 2)
            case let .file(source):
                data = try read(source)
            case let .bytes(bytes):
                data = bytes
            case let .symlink(target):
                archive_entry_set_mode(e, mode_t(imprint_ae_iflnk | 0o777))
                archive_entry_set_symlink(e, target)
                archive_entry_set_nlink(e, 1)
            case let .characterDevice(major, minor):
                archive_entry_set_mode(e, mode_t(imprint_ae_ifchr | (item.mode & 0o7777)))
                archive_entry_set_rdevmajor(e, dev_t(major))
                archive_entry_set_rdevminor(e, dev_t(minor))
                archive_entry_set_nlink(e, 1)
            }
            switch item.content {
            case .file, .bytes:
                archive_entry_set_mode(e, mode_t(imprint_ae_ifreg | (item.mode & 0o7777)))
                archive_entry_set_nlink(e, 1)
                archive_entry_set_size(e, Int64(data.count))
            default: break
            }
            try wrap(archive_write_header(a, e), a, "write \(item.path)")
            if !data.isEmpty {
                let n = data.withUnsafeBytes { archive_write_data(a, $0.baseAddress, $0.count) }
                if n < 0 { try wrap(Int32(n), a, "write \(item.path)") }
            }
        }
        try wrap(archive_write_close(a), a, "close \(path)")
        // Index 0 counts what went into the filter chain, -1 what came out of it.
        return Result(uncompressedSize: Int(archive_filter_bytes(a, 0)), compressedSize: Int(archive_filter_bytes(a, -1)))
    }
}
