import CArchive
import Foundation

extension FirmwarePackage {
    /// A compressed firmware file (`.xz`, `.zst`) written out plain: the initrd is compressed as a
    /// whole, and Debian 6.1's kernel reads `.xz` firmware but not `.zst` (CONFIG_FW_LOADER_COMPRESS_ZSTD
    /// is off). Through libarchive's raw format, so no host tool is needed.
    static func decompress(_ source: String, to output: String) throws {
        guard let archive = archive_read_new() else { throw FirmwareError.io("\(source): out of memory") }
        defer { archive_read_free(archive) }
        archive_read_support_format_raw(archive)
        archive_read_support_filter_xz(archive)
        archive_read_support_filter_zstd(archive)
        try wrap(archive_read_open_filename(archive, source, 1 << 16), archive, "open \(source)")
        var entry: OpaquePointer?
        try wrap(archive_read_next_header(archive, &entry), archive, "read \(source)")
        try FileManager.default.createDirectory(atPath: (output as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let partial = output + ".partial"
        guard let file = fopen(partial, "wb") else {
            throw FirmwareError.io("cannot write \(partial): \(String(cString: strerror(errno)))")
        }
        var closed = false
        defer { if !closed { fclose(file); unlink(partial) } }
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
        defer { chunk.deallocate() }
        while true {
            let n = archive_read_data(archive, chunk.baseAddress, chunk.count)
            if n == 0 { break }
            if n < 0 { try wrap(Int32(n), archive, "decompress \(source)"); break }
            guard fwrite(chunk.baseAddress, 1, n, file) == n else {
                throw FirmwareError.io("cannot write \(partial): \(String(cString: strerror(errno)))")
            }
        }
        closed = true
        guard fclose(file) == 0, rename(partial, output) == 0 else {
            unlink(partial)
            throw FirmwareError.io("cannot write \(output): \(String(cString: strerror(errno)))")
        }
    }
}
