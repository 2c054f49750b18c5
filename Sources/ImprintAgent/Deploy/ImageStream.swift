import CArchive
import ImprintCore
import ImprintDigest

/// What a finished stream measured.
public struct StreamResult: Equatable, Sendable {
    /// SHA-256 of the blob as it arrived.
    public var blobSha256: String
    /// Bytes of the decompressed image (its length on the disk).
    public var imageBytes: Int
    /// Bytes actually written: the image less its all-zero blocks.
    public var dataBytesWritten: Int
}

/// HTTP -> SHA-256 of the blob -> libarchive's raw read filter (zstd, xz, gzip or none) ->
/// `pwrite` at each block's offset, all-zero blocks skipped. One thread, a 1 MiB input
/// buffer and a 1 MiB output buffer, whatever the image's size.
final class ImageStream {
    let download: BlobDownload
    let compression: Compression
    let disk: any DiskDevice
    let imageSize: Int
    /// The blob's SHA-256 the assignment names.
    let expectedSha256: String
    /// Called after each output chunk with (image bytes done, blob bytes received).
    var progress: (Int, Int) -> Void = { _, _ in }

    let hasher: SHA256
    private let input = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
    let output = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
    /// The download's failure, kept while libarchive unwinds.
    var downloadFailure: DeployFailure?
    private(set) var blobBytes = 0

    init(download: BlobDownload, compression: Compression, disk: any DiskDevice, imageSize: Int, expectedSha256: String) throws(DeployFailure) {
        guard let hasher = SHA256() else { throw DeployFailure(.stream, "OpenSSL could not start a SHA-256", hint: "out of memory?") }
        self.download = download
        self.compression = compression
        self.disk = disk
        self.imageSize = imageSize
        self.expectedSha256 = expectedSha256
        self.hasher = hasher
    }

    deinit {
        input.deallocate()
        output.deallocate()
    }

    /// Streams the whole image onto the disk; returns what it measured once the blob's digest matched.
    func run() throws(DeployFailure) -> StreamResult {
        let reader = try openReader(format: .raw)
        defer { archive_read_free(reader) }
        var entry: OpaquePointer?
        let status = archive_read_next_header(reader, &entry)
        if status != ARCHIVE_OK {
            if status == ARCHIVE_EOF, downloadFailure == nil {
                throw decodeFailure("the blob is empty", reader: nil)
            }
            throw decodeFailure("cannot read the blob as \(compression.rawValue)", reader: reader)
        }
        try checkFilter(reader)
        var offset = 0
        var written = 0
        while true {
            let count = archive_read_data(reader, output.baseAddress, output.count)
            if count == 0 { break }
            if count < 0 { throw decodeFailure("decompressing the blob failed", reader: reader) }
            guard offset + count <= imageSize else {
                throw DeployFailure(.stream, "the image is larger than its descriptor's \(imageSize) bytes", hint: "the descriptor does not match its blob: re-add the image", retryable: false)
            }
            let chunk = UnsafeRawBufferPointer(rebasing: output[0..<count])
            for run in ZeroScan.dataRuns(chunk, offset: offset) {
                try disk.write(UnsafeRawBufferPointer(rebasing: chunk[run]), at: offset + run.lowerBound)
                written += run.count
            }
            offset += count
            progress(offset, blobBytes)
        }
        if let downloadFailure { throw downloadFailure }
        let digest = hasher.finish()
        guard digest == expectedSha256 else { throw Self.mismatch(digest: digest, expected: expectedSha256, detail: nil) }
        guard offset == imageSize else {
            throw DeployFailure(.stream, "the image ended at byte \(offset) of the \(imageSize) its descriptor says (blob sha256 \(digest))",
                                hint: "the blob is truncated or does not match its descriptor: re-add the image", retryable: false)
        }
        return StreamResult(blobSha256: digest, imageBytes: offset, dataBytesWritten: written)
    }

    enum Format { case raw, tar }

    /// A libarchive reader pulling the blob through ``pull(_:)``, with only the descriptor's filter enabled.
    func openReader(format: Format) throws(DeployFailure) -> OpaquePointer {
        guard let reader = archive_read_new() else { throw DeployFailure(.stream, "libarchive: out of memory", hint: "the machine needs more memory") }
        switch format {
        case .raw: archive_read_support_format_raw(reader)
        case .tar: archive_read_support_format_tar(reader)
        }
        switch compression {
        case .zstd: archive_read_support_filter_zstd(reader)
        case .xz: archive_read_support_filter_xz(reader)
        case .gzip: archive_read_support_filter_gzip(reader)
        case .none: archive_read_support_filter_none(reader)
        }
        let context = Unmanaged.passUnretained(self).toOpaque()
        let status = archive_read_open(reader, context, nil, { _, context, buffer in
            guard let context, let buffer else { return -1 }
            return Unmanaged<ImageStream>.fromOpaque(context).takeUnretainedValue().pull(buffer)
        }, nil)
        guard status == ARCHIVE_OK else {
            defer { archive_read_free(reader) }
            if status == ARCHIVE_EOF, downloadFailure == nil { throw decodeFailure("the blob is empty", reader: nil) }
            throw decodeFailure("cannot read the blob as \(compression.rawValue)", reader: reader)
        }
        return reader
    }

    /// The descriptor's compression is enforced: libarchive passes data it does not recognise as "none".
    func checkFilter(_ reader: OpaquePointer) throws(DeployFailure) {
        let expected: Int32
        switch compression {
        case .zstd: expected = ARCHIVE_FILTER_ZSTD
        case .xz: expected = ARCHIVE_FILTER_XZ
        case .gzip: expected = ARCHIVE_FILTER_GZIP
        case .none: expected = ARCHIVE_FILTER_NONE
        }
        guard archive_filter_code(reader, 0) == expected else {
            throw decodeFailure("the blob is not \(compression.rawValue) data, as its image descriptor says", reader: nil)
        }
    }

    /// Reads what is left of the blob through the hash (libarchive may stop before the blob's end).
    func drain() throws(DeployFailure) {
        while true {
            let count = try download.read(into: input)
            guard count > 0 else { return }
            hasher.update(UnsafeRawBufferPointer(rebasing: input[0..<count]))
            blobBytes += count
        }
    }

    /// libarchive's read callback: the next bytes of the blob, hashed as they pass.
    private func pull(_ buffer: UnsafeMutablePointer<UnsafeRawPointer?>) -> Int {
        do {
            let count = try download.read(into: input)
            hasher.update(UnsafeRawBufferPointer(rebasing: input[0..<count]))
            blobBytes += count
            buffer.pointee = UnsafeRawPointer(input.baseAddress)
            return count
        } catch {
            downloadFailure = error
            return -1
        }
    }

    /// A decompression failure: a download failure first if there was one; otherwise the rest
    /// of the blob is read through the hash, so a corrupt blob is reported as a digest mismatch.
    func decodeFailure(_ what: String, reader: OpaquePointer?) -> DeployFailure {
        if let downloadFailure { return downloadFailure }
        let detail = reader.flatMap { archive_error_string($0) }.map { ": " + String(cString: $0) } ?? ""
        while true {
            guard let count = try? download.read(into: input), count > 0 else { break }
            hasher.update(UnsafeRawBufferPointer(rebasing: input[0..<count]))
            blobBytes += count
        }
        let digest = hasher.finish()
        if digest != expectedSha256 { return Self.mismatch(digest: digest, expected: expectedSha256, detail: "\(what)\(detail)") }
        return DeployFailure(.verify, "\(what)\(detail) (the blob's digest matches: \(digest))",
                             hint: "the image was stored wrongly or this agent cannot read it: re-add the image (imprint image add)", retryable: false)
    }

    static func mismatch(digest: String, expected: String, detail: String?) -> DeployFailure {
        DeployFailure(.verify, "digest mismatch: the blob's sha256 is \(digest), the assignment expects \(expected)" + (detail.map { " (\($0))" } ?? ""),
                      hint: "the blob on the server is corrupt or was replaced: re-add the image (imprint image add) and the device (imprint device add --force)",
                      retryable: false)
    }
}
