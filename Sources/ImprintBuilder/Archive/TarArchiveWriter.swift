import Foundation

/// Writes an uncompressed POSIX ustar archive (what `tar --format=ustar` writes) reproducibly:
/// entries sorted by path, one mtime for all, owner root (uid and gid 0, user and group `root`).
/// Takes the same entries as ``CpioArchiveWriter``.
///
/// In Swift rather than through libarchive: every libarchive tar writer (ustar, pax, gnutar) calls a
/// helper in `archive_write_set_format.o`, whose format table links every writer there is (zip,
/// 7-zip, xar) and with them nettle and libxml2, which CArchive's static link leaves out on purpose
/// (DESIGN section 10). A ustar header is 512 bytes of fixed fields; writing one is simpler than
/// linking those.
enum TarArchiveWriter {
    static let blockSize = 512
    /// GNU tar's and libarchive's default record (20 blocks): the archive is padded to a multiple.
    static let recordSize = 10_240

    struct Result {
        /// Bytes written, end blocks and record padding included.
        var size: Int
        var entries: Int
    }

    static func write(_ entries: [InitrdEntry], to path: String, mtime: Int, read: (String) throws -> [UInt8]) throws -> Result {
        let fm = FileManager.default
        guard fm.createFile(atPath: path, contents: nil) else {
            throw ArchiveError(operation: "write \(path)", message: "cannot create the file")
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        var size = 0
        func emit(_ bytes: [UInt8]) throws {
            try handle.write(contentsOf: bytes)
            size += bytes.count
        }

        let sorted = entries.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
        for item in sorted {
            var data: [UInt8] = []
            switch item.content {
            case let .file(source): data = try read(source)
            case let .bytes(bytes): data = bytes
            case .directory, .symlink, .characterDevice: break
            }
            try emit(try header(for: item, size: data.count, mtime: mtime))
            if !data.isEmpty {
                try emit(data)
                try emit([UInt8](repeating: 0, count: (blockSize - data.count % blockSize) % blockSize))
            }
        }
        // The end: two zero blocks, then zeros to the end of the record.
        let end = size + 2 * blockSize
        try emit([UInt8](repeating: 0, count: end - size + (recordSize - end % recordSize) % recordSize))
        try handle.synchronize()
        return Result(size: size, entries: sorted.count)
    }

    /// The 512-byte ustar header of `entry`, whose data is `size` bytes. Directories get a trailing
    /// `/`, as GNU tar and libarchive write them. A path that does not fit ustar's 100-byte name and
    /// 155-byte prefix, or a link target over 100 bytes, is an error rather than a truncation.
    static func header(for entry: InitrdEntry, size: Int, mtime: Int) throws -> [UInt8] {
        var block = [UInt8](repeating: 0, count: blockSize)
        func put(_ bytes: some Collection<UInt8>, at offset: Int) {
            for (i, byte) in bytes.enumerated() { block[offset + i] = byte }
        }
        /// An octal number in `width` bytes: zero-padded digits and a NUL.
        func octal(_ value: Int, at offset: Int, width: Int) throws {
            let digits = String(value, radix: 8)
            guard value >= 0, digits.utf8.count <= width - 1 else {
                throw ArchiveError(operation: "tar header for \(entry.path)", message: "\(value) does not fit \(width - 1) octal digits")
            }
            put(Array(String(repeating: "0", count: width - 1 - digits.utf8.count).utf8) + Array(digits.utf8) + [0], at: offset)
        }

        let type: UInt8
        var path = entry.path
        var mode = entry.mode & 0o7777
        var link = ""
        var device: (major: UInt32, minor: UInt32) = (0, 0)
        switch entry.content {
        case .file, .bytes: type = UInt8(ascii: "0")
        case let .symlink(target): type = UInt8(ascii: "2"); link = target; mode = 0o777
        case let .characterDevice(major, minor): type = UInt8(ascii: "3"); device = (major, minor)
        case .directory: type = UInt8(ascii: "5"); path += "/"
        }

        let name = Array(path.utf8)
        guard !name.isEmpty, name.first != UInt8(ascii: "/") else {
            throw ArchiveError(operation: "tar header for \(entry.path)", message: "names are relative and not empty")
        }
        if name.count <= 100 {
            put(name, at: 0)
        } else {
            // Split at a slash: up to 155 bytes of prefix, up to 100 of name.
            guard let slash = name.indices.last(where: { name[$0] == UInt8(ascii: "/") && $0 <= 155 && name.count - $0 - 1 <= 100 && $0 < name.count - 1 }) else {
                throw ArchiveError(operation: "tar header for \(entry.path)", message: "the path is too long for ustar (100-byte name, 155-byte prefix)")
            }
            put(name[(slash + 1)...], at: 0)
            put(name[..<slash], at: 345)
        }
        guard link.utf8.count <= 100 else {
            throw ArchiveError(operation: "tar header for \(entry.path)", message: "the link target is longer than ustar's 100 bytes")
        }
        try octal(Int(mode), at: 100, width: 8)
        try octal(0, at: 108, width: 8)            // uid
        try octal(0, at: 116, width: 8)            // gid
        try octal(size, at: 124, width: 12)
        try octal(mtime, at: 136, width: 12)
        put(Array(repeating: UInt8(ascii: " "), count: 8), at: 148)   // the checksum counts itself as spaces
        block[156] = type
        put(Array(link.utf8), at: 157)
        put(Array("ustar\0".utf8), at: 257)
        put(Array("00".utf8), at: 263)
        put(Array("root".utf8), at: 265)           // uname
        put(Array("root".utf8), at: 297)           // gname
        try octal(Int(device.major), at: 329, width: 8)
        try octal(Int(device.minor), at: 337, width: 8)
        // Six octal digits, NUL, space: what GNU tar and libarchive write.
        let checksum = block.reduce(0) { $0 + Int($1) }
        try octal(checksum, at: 148, width: 7)
        block[155] = UInt8(ascii: " ")
        return block
    }
}
