import CArchive
import CCurl
import Glibc
import ImprintCore
import ImprintDigest

/// Reads a disk from start to end and hands libcurl its zstd stream: each chunk read is hashed
/// (SHA-256 of the disk), mapped (which blocks hold data) and compressed with libzstd's worker
/// threads, which run beside the read. A read error or a disk shorter than it was is recorded
/// in ``failure`` and aborts the transfer.
final class CaptureStream {
    let fd: Int32
    let size: Int
    let path: String
    private(set) var offset = 0
    private(set) var compressedBytes = 0
    private(set) var failure: CaptureFailure?
    private(set) var map: BlockMapBuilder
    private let hasher: SHA256
    private let cctx: OpaquePointer
    private let input: UnsafeMutableRawBufferPointer
    private let output: UnsafeMutableRawBufferPointer
    private var inPosition = 0
    private var inEnd = 0
    private var outPosition = 0
    private var outEnd = 0
    private var inputDone = false
    private var finished = false

    /// 4 MiB reads: few syscalls, and enough input per call to keep every zstd worker busy.
    static let chunkBytes = 4 << 20

    init(fd: Int32, size: Int, path: String, workers: Int) throws(CaptureFailure) {
        guard let hasher = SHA256() else { throw CaptureFailure("OpenSSL could not start a SHA-256", hint: "out of memory?", retryable: false) }
        guard let cctx = ZSTD_createCCtx() else { throw CaptureFailure("libzstd could not start a compressor", hint: "out of memory?", retryable: false) }
        self.fd = fd
        self.size = size
        self.path = path
        self.hasher = hasher
        self.cctx = cctx
        map = BlockMapBuilder()
        _ = ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, 3)
        _ = ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1)
        if workers > 0 { _ = ZSTD_CCtx_setParameter(cctx, ZSTD_c_nbWorkers, Int32(workers)) }
        input = .allocate(byteCount: Self.chunkBytes, alignment: 4096)
        output = .allocate(byteCount: ZSTD_CStreamOutSize() * 4, alignment: 64)
    }

    deinit {
        ZSTD_freeCCtx(cctx)
        input.deallocate()
        output.deallocate()
    }

    /// The disk's SHA-256, once the stream has ended.
    func digest() -> String { hasher.finish() }

    /// Fills `buffer` with the next compressed bytes: their count, 0 at the end, or -1 on a failure.
    func read(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        while outPosition == outEnd {
            if finished { return 0 }
            if inPosition == inEnd && !inputDone {
                guard refill() else { return -1 }
            }
            var source = ZSTD_inBuffer(src: UnsafeRawPointer(input.baseAddress), size: inEnd, pos: inPosition)
            var sink = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: 0)
            let left = ZSTD_compressStream2(cctx, &sink, &source, inputDone ? ZSTD_e_end : ZSTD_e_continue)
            if ZSTD_isError(left) != 0 {
                failure = CaptureFailure("zstd: \(String(cString: ZSTD_getErrorName(left)))", retryable: false)
                return -1
            }
            inPosition = source.pos
            outPosition = 0
            outEnd = sink.pos
            if inputDone && left == 0 { finished = true }
        }
        let count = min(buffer.count, outEnd - outPosition)
        guard let base = buffer.baseAddress, let from = output.baseAddress else { return 0 }
        base.copyMemory(from: from + outPosition, byteCount: count)
        outPosition += count
        compressedBytes += count
        return count
    }

    private func refill() -> Bool {
        let want = min(Self.chunkBytes, size - offset)
        guard want > 0 else {
            inputDone = true
            inPosition = 0
            inEnd = 0
            return true
        }
        guard let base = input.baseAddress else { return false }
        var got = 0
        while got < want {
            let n = pread(fd, base + got, want - got, off_t(offset + got))
            if n < 0 {
                if errno == EINTR { continue }
                failure = CaptureFailure("cannot read \(path) at byte \(offset + got) of \(size): \(String(cString: strerror(errno)))",
                                         hint: "a failing disk: check its health (smartctl) before capturing it", retryable: false)
                return false
            }
            if n == 0 {
                failure = CaptureFailure("\(path) ended at byte \(offset + got) of the \(size) it had when the capture began",
                                         hint: "nothing may change the disk while it is captured", retryable: false)
                return false
            }
            got += n
        }
        let chunk = UnsafeRawBufferPointer(rebasing: input[0..<got])
        hasher.update(chunk)
        map.feed(chunk)
        offset += got
        inPosition = 0
        inEnd = got
        return true
    }
}

/// The result of one streaming PUT.
struct CaptureUploadOutcome {
    var http: HTTPOutcome
    /// Set when the stream itself failed (the disk), which aborted the transfer.
    var streamFailure: CaptureFailure?
}

/// PUTs `stream` to `url` as it is produced (chunked), with the device's token.
func uploadCapture(_ stream: CaptureStream, url: String, token: String?, connectTimeoutSeconds: Int) -> CaptureUploadOutcome {
    guard let handle = curl_easy_init() else { return CaptureUploadOutcome(http: HTTPOutcome(status: 0, transportError: "curl_easy_init failed")) }
    defer { curl_easy_cleanup(handle) }
    var headers = ["Content-Type: application/zstd", "Expect:"]
    if let token, !token.isEmpty { headers.append("Authorization: Bearer \(token)") }
    var list: UnsafeMutablePointer<curl_slist>?
    for header in headers { list = curl_slist_append(list, header) }
    defer { curl_slist_free_all(list) }
    let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
    defer { errorBuffer.deallocate() }
    errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    // libcurl's read callback has the write callback's C type: one shim serves both.
    let pull: imprint_curl_write_fn = { data, size, count, context in
        guard let data, let context else { return 0 }
        let stream = Unmanaged<CaptureStream>.fromOpaque(context).takeUnretainedValue()
        let n = stream.read(into: UnsafeMutableRawBufferPointer(start: UnsafeMutableRawPointer(data), count: size &* count))
        return n < 0 ? Int(CURL_READFUNC_ABORT) : n
    }
    let discard: imprint_curl_write_fn = { _, size, count, _ in size &* count }
    var setup = imprint_curl_setopt_string(handle, CURLOPT_URL, url)
    func set(_ result: CURLcode) { if setup == CURLE_OK { setup = result } }
    set(TLSTrust.apply(to: handle))
    set(imprint_curl_setopt_long(handle, CURLOPT_UPLOAD, 1))
    set(imprint_curl_setopt_write(handle, CURLOPT_READFUNCTION, pull))
    set(imprint_curl_setopt_pointer(handle, CURLOPT_READDATA, Unmanaged.passUnretained(stream).toOpaque()))
    set(imprint_curl_setopt_long(handle, CURLOPT_UPLOAD_BUFFERSIZE, 1 << 20))
    set(imprint_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, list))
    set(imprint_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT, connectTimeoutSeconds))
    // No total timeout (a disk takes as long as it takes); a stalled server is given up after 60 s.
    set(imprint_curl_setopt_long(handle, CURLOPT_LOW_SPEED_LIMIT, 1))
    set(imprint_curl_setopt_long(handle, CURLOPT_LOW_SPEED_TIME, 60))
    set(imprint_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1))
    set(imprint_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, UnsafeMutableRawPointer(errorBuffer)))
    set(imprint_curl_setopt_write(handle, CURLOPT_WRITEFUNCTION, discard))
    let code = setup == CURLE_OK ? curl_easy_perform(handle) : setup
    var status = 0
    _ = imprint_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
    guard code == CURLE_OK else {
        let summary = curl_easy_strerror(code).map { String(cString: $0) } ?? "curl error \(code.rawValue)"
        let detail = String(cString: errorBuffer)
        return CaptureUploadOutcome(http: HTTPOutcome(status: status, transportError: detail.isEmpty ? summary : "\(summary): \(detail)"),
                                    streamFailure: stream.failure)
    }
    return CaptureUploadOutcome(http: HTTPOutcome(status: status), streamFailure: stream.failure)
}
