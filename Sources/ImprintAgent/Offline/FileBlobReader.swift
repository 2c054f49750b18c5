import Glibc

/// A blob at a `file://` URL (the offline stick's data partition), read with `pread` in the sizes the
/// stream asks for. libcurl reads `file://` URLs too, but its file protocol cannot pause: the whole
/// file arrives in one call, which `BlobDownload` would have to hold in memory (or, pausing, abort and
/// resume every 4 MiB). A local file needs no retries: a short or unreadable one fails the stream.
final class FileBlobReader {
    let path: String
    let expectedSize: Int
    let log: Log
    private var fd: Int32 = -1
    private var offset = 0

    /// Nil unless the first URL is a `file://` one.
    init?(urls: [String], expectedSize: Int, log: Log) {
        guard let first = urls.first, let path = FileStoreClient.path(of: first) else { return nil }
        self.path = path
        self.expectedSize = expectedSize
        self.log = log
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    /// The next bytes into `buffer`; 0 once all `expectedSize` bytes were read.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(DeployFailure) -> Int {
        if fd < 0 {
            fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                throw DeployFailure(.stream, "cannot open the blob \(path): \(errorText(errno))",
                                    hint: "the stick's data partition is damaged or not this stick's: make it again (imprint usb MAC --offline)", retryable: false)
            }
            log.info("stream: reading \(path)")
        }
        guard offset < expectedSize, buffer.count > 0 else { return 0 }
        while true {
            let count = pread(fd, buffer.baseAddress, min(buffer.count, expectedSize - offset), off_t(offset))
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else {
                let why = count < 0 ? errorText(errno) : "the file ends there"
                throw DeployFailure(.stream, "reading the blob \(path) failed at byte \(offset) of \(expectedSize): \(why)",
                                    hint: "the stick's data partition is damaged: make it again (imprint usb MAC --offline)", retryable: false)
            }
            offset += count
            return count
        }
    }
}
