import CArchive

/// Reads the entries of an archive held in memory or in a file, one at a time.
final class ArchiveReader {
    struct Entry {
        var path: String
        var type: UInt32
        var size: Int64
        var mode: UInt32
        var symlink: String?
        var uid: Int64 = 0
        var gid: Int64 = 0
        var uname: String? = nil
        var gname: String? = nil
        /// Seconds since the epoch.
        var mtime: Int = 0
        var isRegularFile: Bool { type == imprint_ae_ifreg }
        var isDirectory: Bool { type == imprint_ae_ifdir }
    }

    private let archive: OpaquePointer
    private let label: String
    /// Keeps an in-memory source alive as long as libarchive reads it.
    private var buffer: UnsafeMutableRawBufferPointer?

    enum Formats { case ar, tar, cpio, all }

    private init(label: String, formats: Formats) throws {
        guard let a = archive_read_new() else { throw ArchiveError(operation: label, message: "out of memory") }
        archive = a
        self.label = label
        switch formats {
        case .ar: archive_read_support_format_ar(a)
        case .tar: archive_read_support_format_tar(a); archive_read_support_format_gnutar(a)
        case .cpio: archive_read_support_format_cpio(a)
        case .all:
            archive_read_support_format_ar(a); archive_read_support_format_tar(a)
            archive_read_support_format_gnutar(a); archive_read_support_format_cpio(a)
        }
        archive_read_support_filter_xz(a)
        archive_read_support_filter_zstd(a)
        archive_read_support_filter_gzip(a)
        archive_read_support_filter_bzip2(a)
        archive_read_support_filter_none(a)
    }

    convenience init(path: String, formats: Formats) throws {
        try self.init(label: path, formats: formats)
        try wrap(archive_read_open_filename(archive, path, 1 << 20), archive, "open \(path)")
    }

    convenience init(bytes: [UInt8], label: String, formats: Formats) throws {
        try self.init(label: label, formats: formats)
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 16)
        copy.copyBytes(from: bytes)
        buffer = copy
        try wrap(archive_read_open_memory(archive, copy.baseAddress, bytes.count), archive, "open \(label)")
    }

    deinit {
        archive_read_free(archive)
        buffer?.deallocate()
    }

    /// The next entry's header, or nil at the end.
    func next() throws -> Entry? {
        var entry: OpaquePointer?
        let code = archive_read_next_header(archive, &entry)
        if code == ARCHIVE_EOF { return nil }
        try wrap(code, archive, "read \(label)")
        guard let entry else { return nil }
        let path = archive_entry_pathname(entry).map { String(cString: $0) } ?? ""
        let link = archive_entry_symlink(entry).map { String(cString: $0) }
        return Entry(path: path, type: UInt32(archive_entry_filetype(entry)), size: archive_entry_size(entry),
                     mode: UInt32(archive_entry_perm(entry)), symlink: link,
                     uid: archive_entry_uid(entry), gid: archive_entry_gid(entry),
                     uname: archive_entry_uname(entry).map { String(cString: $0) },
                     gname: archive_entry_gname(entry).map { String(cString: $0) },
                     mtime: Int(archive_entry_mtime(entry)))
    }

    /// The current entry's data, whole.
    func readData() throws -> [UInt8] {
        var out: [UInt8] = []
        try readData { out.append(contentsOf: $0) }
        return out
    }

    /// The current entry's data, in chunks.
    func readData(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { chunk.deallocate() }
        while true {
            let n = archive_read_data(archive, chunk.baseAddress, chunk.count)
            if n == 0 { return }
            if n < 0 { try wrap(Int32(n), archive, "read data from \(label)") ; return }
            try body(UnsafeRawBufferPointer(rebasing: chunk[0..<n]))
        }
    }
}
