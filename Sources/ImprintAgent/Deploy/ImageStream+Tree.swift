import CArchive
import Glibc
import ImprintCore

/// What a finished tree extraction measured.
struct TreeResult: Equatable, Sendable {
    var blobSha256: String
    /// Bytes of the decompressed tar stream libarchive read.
    var tarBytes: Int
    var entries: Int
    /// Bytes of file data written.
    var fileBytes: Int
    /// Entries written with a warning (an owner or a time a vfat partition cannot keep).
    var warnings: Int
}

extension ImageStream {
    /// HTTP -> SHA-256 of the blob -> the descriptor's filter -> tar -> `archive_write_disk`. Each
    /// member goes to the partition ``DiskLayout/route(_:)`` names, as `p<N>/<path>` under `base`
    /// (the folder holding one directory per partition: its mount point on a machine, a staging
    /// folder in host mode). Never writes outside those directories: `..` members are refused
    /// before libarchive sees them, and libarchive's secure flags refuse absolute names and writes
    /// through symbolic links. Numeric owners are kept (the agent's own user database means nothing
    /// to the deployed system).
    func extractTree(layout: DiskLayout, base: String, log: Log) throws(DeployFailure) -> TreeResult {
        let reader = try openReader(format: .tar)
        defer { archive_read_free(reader) }
        guard let writer = archive_write_disk_new() else { throw DeployFailure(.stream, "libarchive: out of memory", hint: "the machine needs more memory") }
        defer { archive_write_free(writer) }
        let owner = geteuid() == 0 ? ARCHIVE_EXTRACT_OWNER : 0
        archive_write_disk_set_options(writer, owner | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_ACL
                                       | ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT
                                       | ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS)

        // libarchive resolves relative names against the working directory.
        let previous = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard chdir(base) == 0 else {
            if previous >= 0 { close(previous) }
            throw DeployFailure(.stream, "cannot enter \(base): \(errorText(errno))", hint: "check the console", retryable: false)
        }
        defer {
            if previous >= 0 { _ = fchdir(previous); close(previous) } else { _ = chdir("/") }
        }

        var result = TreeResult(blobSha256: "", tarBytes: 0, entries: 0, fileBytes: 0, warnings: 0)
        var first = true
        while true {
            var entry: OpaquePointer?
            let status = archive_read_next_header(reader, &entry)
            if status == ARCHIVE_EOF {
                if first, downloadFailure == nil { throw decodeFailure("the blob holds no tar members", reader: nil) }
                break
            }
            if status < ARCHIVE_WARN || entry == nil {
                throw decodeFailure(first ? "cannot read the blob as a \(compression.rawValue) tar" : "reading the tar failed", reader: reader)
            }
            if first {
                try checkFilter(reader)
                first = false
            }
            guard let entry else { break }
            let name = archive_entry_pathname(entry).map { String(cString: $0) } ?? ""
            guard let route = layout.route(name) else {
                throw DeployFailure(.stream, "tar member \(String(reflecting: name)) leads outside the tree (a .. component)",
                                    hint: "the image is hostile or broken: rebuild the tar with relative names", retryable: false)
            }
            // The partitions' own roots (`./`, `boot/efi/`) exist already: mkfs made them.
            if route.path.isEmpty { continue }
            archive_entry_set_pathname(entry, "p\(route.partition + 1)/\(route.path)")
            if let link = archive_entry_hardlink(entry) {
                let target = String(cString: link)
                guard let linkRoute = layout.route(target), linkRoute.partition == route.partition, !linkRoute.path.isEmpty else {
                    throw DeployFailure(.stream, "tar member \(name) is a hard link to \(target), on another partition of the layout or outside the tree",
                                        hint: "hard links cannot cross partitions: change the layout or the image", retryable: false)
                }
                archive_entry_set_hardlink(entry, "p\(linkRoute.partition + 1)/\(linkRoute.path)")
            }
            var written = archive_write_header(writer, entry)
            if written == ARCHIVE_OK || written == ARCHIVE_WARN {
                if written == ARCHIVE_WARN { warn(name, writer, &result, log) }
                written = try copyData(reader, writer, name: name, into: &result)
            }
            if written == ARCHIVE_OK { written = archive_write_finish_entry(writer) }
            if written == ARCHIVE_WARN {
                warn(name, writer, &result, log)
            } else if written != ARCHIVE_OK {
                if let downloadFailure { throw downloadFailure }
                let why = archive_error_string(writer).map { String(cString: $0) } ?? "libarchive status \(written)"
                throw DeployFailure(.stream, "cannot write \(name) to partition \(route.partition + 1) (\(layout.partitions[route.partition].name)): \(why)",
                                    hint: why.contains("No space") ? "the partition is too small for the tree: give it more room in the layout (--part)" : "check the console",
                                    retryable: false)
            }
            result.entries += 1
            result.tarBytes = Int(archive_filter_bytes(reader, -1))
            progress(result.tarBytes, blobBytes)
        }
        // Directory modes and times are set last, at close.
        if archive_write_close(writer) < ARCHIVE_WARN {
            let why = archive_error_string(writer).map { String(cString: $0) } ?? "unknown"
            throw DeployFailure(.stream, "finishing the tree failed: \(why)", hint: "check the console", retryable: false)
        }
        result.tarBytes = Int(archive_filter_bytes(reader, -1))
        if let downloadFailure { throw downloadFailure }
        try drain()
        let digest = hasher.finish()
        guard digest == expectedSha256 else { throw Self.mismatch(digest: digest, expected: expectedSha256, detail: nil) }
        result.blobSha256 = digest
        return result
    }

    private func copyData(_ reader: OpaquePointer, _ writer: OpaquePointer, name: String, into result: inout TreeResult) throws(DeployFailure) -> Int32 {
        var block: UnsafeRawPointer?
        var size = 0
        var offset: la_int64_t = 0
        while true {
            let status = archive_read_data_block(reader, &block, &size, &offset)
            if status == ARCHIVE_EOF { return ARCHIVE_OK }
            if status < ARCHIVE_WARN { throw decodeFailure("reading \(name) from the tar failed", reader: reader) }
            let written = archive_write_data_block(writer, block, size, offset)
            if written < ARCHIVE_WARN { return Int32(written) }
            result.fileBytes += size
        }
    }

    private func warn(_ name: String, _ writer: OpaquePointer, _ result: inout TreeResult, _ log: Log) {
        result.warnings += 1
        if result.warnings <= 10 {
            let why = archive_error_string(writer).map { String(cString: $0) } ?? "warning"
            log.warning("extract \(name): \(why)\(result.warnings == 10 ? " (further warnings only counted)" : "")")
        }
    }
}
