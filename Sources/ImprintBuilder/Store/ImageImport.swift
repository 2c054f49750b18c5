import ImprintDigest
import CArchive
import Foundation
import ImprintCore

/// What `image add` reports while it works.
public enum ImportEvent: Sendable {
    /// A stage starts or ends: one line.
    case stage(String)
    /// `done` of `total` input bytes read.
    case progress(done: Int, total: Int)
}

/// One pass over an image file: the file is read once, in 1 MiB chunks. Each chunk read is
/// hashed and copied to the blob (or, when recompressing, the decompressed data goes through
/// libarchive's zstd write filter and what comes out is hashed and copied). libarchive's raw
/// format with the zstd, xz and gzip read filters decompresses, and the uncompressed stream
/// feeds its SHA-256, size, block map and the tar check.
final class ImageImport {
    struct Result {
        var blobSha256: String
        var blobSize: Int
        var uncompressedSha256: String
        var uncompressedSize: Int
        var format: ImageFormat
        var blockMap: BlockMap
    }

    private let input: Int32
    private let inputPath: String
    private let inputSize: Int
    private let output: Int32
    private let outputPath: String
    private let progress: (ImportEvent) -> Void

    private let readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
    private let blobHasher: SHA256
    private var blobSize = 0
    private var inputRead = 0
    private var lastProgress = 0
    /// A failure inside a libarchive callback, reported after libarchive returns.
    private var callbackError: Error?

    init(input: Int32, inputPath: String, inputSize: Int, output: Int32, outputPath: String,
         progress: @escaping (ImportEvent) -> Void) throws {
        self.input = input
        self.inputPath = inputPath
        self.inputSize = inputSize
        self.output = output
        self.outputPath = outputPath
        self.progress = progress
        blobHasher = try SHA256.make()
    }

    deinit { readBuffer.deallocate() }

    /// Reads the whole input. `recompress`: write the decompressed stream through zstd at
    /// `zstdLevel` instead of copying the input as it is.
    /// `uncompressed`: the input is not compressed, so its stream and the blob are the same bytes
    /// and one SHA-256 serves both (saves a second hash, about 0.75 s per GiB here).
    func run(recompress: Bool, uncompressed: Bool, zstdLevel: Int = 3) throws -> Result {
        recompressing = recompress
        let hashUncompressed = recompress || !uncompressed
        guard let reader = archive_read_new() else { throw StoreError("libarchive: out of memory") }
        defer { archive_read_free(reader) }
        archive_read_support_format_raw(reader)
        archive_read_support_filter_zstd(reader)
        archive_read_support_filter_xz(reader)
        archive_read_support_filter_gzip(reader)
        archive_read_support_filter_none(reader)
        let context = Unmanaged.passUnretained(self).toOpaque()
        try check(archive_read_open(reader, context, nil, { _, context, buffer in
            guard let context, let buffer else { return -1 }
            return Unmanaged<ImageImport>.fromOpaque(context).takeUnretainedValue().readInput(buffer)
        }, nil), reader, "read \(inputPath)")

        var writer: OpaquePointer?
        defer { if let writer { archive_write_free(writer) } }
        if recompress { writer = try openZstdWriter(level: zstdLevel) }

        var entry: OpaquePointer?
        let header = archive_read_next_header(reader, &entry)
        if header == ARCHIVE_EOF { throw StoreError("\(inputPath) holds no data: give a disk image or a tar archive") }
        try check(header, reader, "read \(inputPath)")

        let uncompressedHasher = try SHA256.make()
        var blocks = BlockMapBuilder()
        var head: [UInt8] = []
        var uncompressedSize = 0
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { chunk.deallocate() }
        while true {
            let n = archive_read_data(reader, chunk.baseAddress, chunk.count)
            if n == 0 { break }
            if n < 0 { try check(Int32(n), reader, "decompress \(inputPath)") }
            let data = UnsafeRawBufferPointer(rebasing: chunk[0..<n])
            if hashUncompressed { uncompressedHasher.update(data) }
            blocks.feed(data)
            if head.count < ImageFormat.ustarMagicOffset + 5 {
                head += data.prefix(ImageFormat.ustarMagicOffset + 5 - head.count)
            }
            uncompressedSize += n
            if let writer {
                let written = archive_write_data(writer, data.baseAddress, data.count)
                if written < 0 { try check(Int32(written), writer, "compress \(inputPath)") }
            }
        }
        if let callbackError { throw callbackError }
        // A filter reports a truncated stream at the end of the data, or when closing.
        try check(archive_read_close(reader), reader, "decompress \(inputPath)")
        if let writer { try check(archive_write_close(writer), writer, "compress \(inputPath)") }
        if let callbackError { throw callbackError }
        progress(.progress(done: inputSize, total: inputSize))
        let blobSha256 = blobHasher.finish()
        return Result(blobSha256: blobSha256, blobSize: blobSize,
                      uncompressedSha256: hashUncompressed ? uncompressedHasher.finish() : blobSha256,
                      uncompressedSize: uncompressedSize, format: ImageFormat.detect(head), blockMap: blocks.finish())
    }

    private func openZstdWriter(level: Int) throws -> OpaquePointer {
        guard let writer = archive_write_new() else { throw StoreError("libarchive: out of memory") }
        do {
            // libarchive's raw format writes one entry's data with no headers around it.
            try check(archive_write_set_format_raw(writer), writer, "raw format", hint: "libarchive cannot write zstd here")
            try check(archive_write_add_filter_zstd(writer), writer, "zstd filter", hint: "libarchive cannot write zstd here")
            try check(archive_write_set_filter_option(writer, "zstd", "compression-level", "\(level)"), writer, "zstd level", hint: "libarchive cannot write zstd here")
            // Several threads where this libarchive's zstd filter offers them; one otherwise.
            _ = archive_write_set_filter_option(writer, "zstd", "threads", "\(ProcessInfo.processInfo.activeProcessorCount)")
            // No blocking: block padding would put zeros after the zstd frame.
            try check(archive_write_set_bytes_per_block(writer, 0), writer, "block size", hint: "libarchive cannot write zstd here")
            let context = Unmanaged.passUnretained(self).toOpaque()
            try check(archive_write_open(writer, context, nil, { _, context, buffer, length in
                guard let context, let buffer else { return -1 }
                return Unmanaged<ImageImport>.fromOpaque(context).takeUnretainedValue()
                    .storeBlob(UnsafeRawBufferPointer(start: buffer, count: length))
            }, nil), writer, "open the zstd writer", hint: "libarchive cannot write zstd here")
            guard let entry = archive_entry_new() else { throw StoreError("libarchive: out of memory") }
            defer { archive_entry_free(entry) }
            archive_entry_set_pathname(entry, "image")
            archive_entry_set_mode(entry, mode_t(imprint_ae_ifreg | 0o644))
            try check(archive_write_header(writer, entry), writer, "start the zstd stream", hint: "libarchive cannot write zstd here")
            return writer
        } catch {
            archive_write_free(writer)
            throw error
        }
    }

    private var recompressing = false

    /// libarchive's read callback: the next chunk of the input file, also copied to the blob
    /// unless the blob is a recompression.
    private func readInput(_ buffer: UnsafeMutablePointer<UnsafeRawPointer?>) -> Int {
        while true {
            let n = read(input, readBuffer.baseAddress, readBuffer.count)
            if n < 0 && errno == EINTR { continue }
            if n < 0 {
                callbackError = StoreError("cannot read \(inputPath): \(FileIO.errnoText())")
                return -1
            }
            buffer.pointee = UnsafeRawPointer(readBuffer.baseAddress)
            inputRead += n
            if inputRead - lastProgress >= 8 << 20 || n == 0 {
                lastProgress = inputRead
                progress(.progress(done: inputRead, total: inputSize))
            }
            if !recompressing && n > 0 {
                guard storeBlob(UnsafeRawBufferPointer(rebasing: readBuffer[0..<n])) == n else { return -1 }
            }
            return n
        }
    }

    /// Hashes and writes blob bytes; returns their count, or -1 after recording the failure.
    private func storeBlob(_ bytes: UnsafeRawBufferPointer) -> Int {
        blobHasher.update(bytes)
        do {
            try FileIO.writeAll(output, bytes, path: outputPath)
        } catch {
            callbackError = error
            return -1
        }
        blobSize += bytes.count
        return bytes.count
    }

    /// libarchive's code (through the `wrap` choke point) to a StoreError, preferring a
    /// callback's own failure, which libarchive only knows as -1.
    private func check(_ code: Int32, _ archive: OpaquePointer, _ operation: String,
                       hint: String = "the file is damaged or truncated; nothing was added to the store") throws {
        if code >= ARCHIVE_WARN { return }
        if let callbackError { throw callbackError }
        do {
            try wrap(code, archive, operation)
        } catch let error as ArchiveError {
            throw StoreError("\(error): \(hint)")
        }
    }
}
