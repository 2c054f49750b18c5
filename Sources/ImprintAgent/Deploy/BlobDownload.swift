import CCurl
import Glibc

/// How the stream retries: quick tries with backoff, then (on a machine) a slow pace forever.
public struct StreamRetryPolicy: Equatable, Sendable {
    /// Waits after each failed try in a row, in seconds: 1, 2, 4, 8, 16.
    public var backoffSeconds: [Int]
    /// Past the quick tries: nil gives up (host mode), else the wait between further tries.
    public var slowSeconds: Int?
    public var connectTimeoutSeconds: Int
    /// A transfer moving less than 1 byte/s for this long is dropped and resumed.
    public var stallSeconds: Int
    /// Bytes per second the download may use; nil: as fast as it goes.
    public var maximumRate: Int?

    public init(backoffSeconds: [Int], slowSeconds: Int?, connectTimeoutSeconds: Int = 10, stallSeconds: Int = 20, maximumRate: Int? = nil) {
        self.backoffSeconds = backoffSeconds
        self.slowSeconds = slowSeconds
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.stallSeconds = stallSeconds
        self.maximumRate = maximumRate
    }

    /// PID 1: never gives up; a minute between tries once the quick ones failed.
    public static let machine = StreamRetryPolicy(backoffSeconds: [1, 2, 4, 8, 16], slowSeconds: 60)
    /// Host mode: three quick tries (7 s), then the run fails: a script gets its answer.
    public static let host = StreamRetryPolicy(backoffSeconds: [1, 2, 4], slowSeconds: nil)
}

/// The blob's bytes in order, from the first server that answers. A broken
/// connection, a stall or a short body is resumed with `Range` from the first
/// byte not yet received, on the same server or the next; nothing received is
/// ever fetched twice. libcurl's multi interface turns its push into this pull,
/// so libarchive's read callback can ask for the next bytes.
final class BlobDownload {
    let urls: [String]
    let headers: [String]
    let expectedSize: Int
    let policy: StreamRetryPolicy
    let clock: any AgentClock
    let log: Log
    /// Called when the quick tries are spent and the stream waits at the slow pace: report it.
    var onSlowRetry: (String) -> Void = { _ in }

    /// Bytes received so far: the offset the next request resumes from.
    private(set) var received = 0
    private var pending: [UInt8] = []
    private var pendingIndex = 0

    private var multi: UnsafeMutableRawPointer?
    private var easy: UnsafeMutableRawPointer?
    private var list: UnsafeMutablePointer<curl_slist>?
    private let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
    /// This transfer's state, set by the write callback or when curl says it is done.
    private var responseChecked = false
    private var skip = 0
    private var refusal: String?
    private var finished: CURLcode?
    private var failuresInARow = 0
    /// The write callback paused the transfer because `pending` reached `pendingLimit`.
    private var paused = false
    /// What `pending` may hold before the transfer is paused: bounds memory whatever the socket buffers.
    private let pendingLimit = 4 << 20
    private var serverIndex = 0
    /// A `file://` blob (an offline stick's) is read directly, not through libcurl (docs/media.md).
    private lazy var file: FileBlobReader? = FileBlobReader(urls: urls, expectedSize: expectedSize, log: log)
    private var receivedAtLastFailure = 0

    init(urls: [String], headers: [String], expectedSize: Int, policy: StreamRetryPolicy, clock: any AgentClock, log: Log) {
        self.urls = urls
        self.headers = headers
        self.expectedSize = expectedSize
        self.policy = policy
        self.clock = clock
        self.log = log
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    }

    deinit {
        stopTransfer()
        if let multi { curl_multi_cleanup(multi) }
        curl_slist_free_all(list)
        errorBuffer.deallocate()
    }

    /// The URL being read, for the log.
    var currentURL: String { urls.isEmpty ? "-" : urls[serverIndex % urls.count] }

    /// Copies the next bytes into `buffer`; 0 once all `expectedSize` bytes came.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(DeployFailure) -> Int {
        if let file { return try file.read(into: buffer) }
        while true {
            if pendingIndex < pending.count {
                let count = min(buffer.count, pending.count - pendingIndex)
                pending.withUnsafeBytes { source in
                    buffer.baseAddress?.copyMemory(from: source.baseAddress! + pendingIndex, byteCount: count)
                }
                pendingIndex += count
                return count
            }
            pending.removeAll(keepingCapacity: true)
            pendingIndex = 0
            if paused, let easy {
                // Delivers what curl held back, through the write callback, before anything new.
                paused = false
                _ = curl_easy_pause(easy, 0) // CURLPAUSE_CONT
                continue
            }
            if received == expectedSize && easy == nil { return 0 }
            if easy == nil { try start() }
            try drive()
        }
    }

    /// One round of libcurl work: perform, collect a finished transfer, or wait for the socket.
    private func drive() throws(DeployFailure) {
        guard let multi else { return }
        var running: Int32 = 0
        let performed = curl_multi_perform(multi, &running)
        if performed != CURLM_OK {
            throw DeployFailure(.stream, "libcurl: \(String(cString: curl_multi_strerror(performed)))", hint: "this is a bug in the agent; report it")
        }
        var left: Int32 = 0
        while let message = curl_multi_info_read(multi, &left) {
            if message.pointee.msg == CURLMSG_DONE { finished = imprint_curl_msg_result(message) }
        }
        if let finished {
            // Hand over what this transfer delivered before judging how it ended.
            if pendingIndex < pending.count { return }
            try conclude(finished)
            return
        }
        if pending.isEmpty {
            var ready: Int32 = 0
            _ = curl_multi_poll(multi, nil, 0, 1000, &ready)
        }
    }

    /// A transfer ended: done, or a failure to resume from.
    private func conclude(_ code: CURLcode) throws(DeployFailure) {
        var status = 0
        if let easy { _ = imprint_curl_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status) }
        let detail = String(cString: errorBuffer)
        let reason: String
        if let refusal {
            reason = refusal
        } else if code != CURLE_OK {
            let summary = String(cString: curl_easy_strerror(code))
            reason = detail.isEmpty ? summary : "\(summary): \(detail)"
        } else if received < expectedSize {
            reason = "the server closed the body after \(received) of \(expectedSize) bytes"
        } else {
            stopTransfer()
            return
        }
        stopTransfer()
        try failed(reason, status: status)
    }

    /// Logs a failed try, waits its backoff (or the slow pace), and moves to the next server.
    private func failed(_ reason: String, status: Int) throws(DeployFailure) {
        if received > receivedAtLastFailure { failuresInARow = 0 }
        receivedAtLastFailure = received
        failuresInARow += 1
        serverIndex += 1
        let quick = policy.backoffSeconds
        if failuresInARow <= quick.count {
            let wait = quick[failuresInARow - 1]
            log.warning("stream: \(reason) at byte \(received) of \(expectedSize); resuming from byte \(received) in \(wait) s (try \(failuresInARow) of \(quick.count))")
            clock.sleep(milliseconds: UInt64(wait) * 1000)
            return
        }
        guard let slow = policy.slowSeconds else {
            throw DeployFailure(.stream, "download failed \(quick.count) times in a row (last: \(reason)) at byte \(received) of \(expectedSize)",
                                hint: hint(status: status))
        }
        let message = "download failing (\(reason)) at byte \(received) of \(expectedSize); retrying every \(slow) s"
        log.error("stream: \(message) — \(hint(status: status))")
        onSlowRetry(message)
        clock.sleep(milliseconds: UInt64(slow) * 1000)
    }

    private func hint(status: Int) -> String {
        switch status {
        case 404: return "the blob is not on the server: check `imprint image list` and that the server serves this store"
        case 401, 403: return "the server refused the request: check the device token"
        case 416: return "the blob on the server is shorter than its descriptor says: re-add the image (imprint image add)"
        default: return "check that the server (\(urls.joined(separator: ", "))) runs and is reachable"
        }
    }

    /// Starts a GET from byte `received` on the current server.
    private func start() throws(DeployFailure) {
        guard !urls.isEmpty else { throw DeployFailure(.stream, "no server to download from", hint: "give the identity servers") }
        if multi == nil {
            guard let made = curl_multi_init() else { throw DeployFailure(.stream, "curl_multi_init failed", hint: "out of memory?") }
            multi = made
            for header in headers {
                guard let appended = curl_slist_append(list, header) else { throw DeployFailure(.stream, "curl_slist_append failed", hint: "out of memory?") }
                list = appended
            }
        }
        guard let handle = curl_easy_init() else { throw DeployFailure(.stream, "curl_easy_init failed", hint: "out of memory?") }
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        responseChecked = false
        refusal = nil
        finished = nil
        skip = 0
        let write: imprint_curl_write_fn = { data, size, count, context in
            guard let data, let context else { return 0 }
            return Unmanaged<BlobDownload>.fromOpaque(context).takeUnretainedValue()
                .receive(UnsafeRawBufferPointer(start: data, count: size &* count))
        }
        var setup = imprint_curl_setopt_string(handle, CURLOPT_URL, currentURL)
        func set(_ result: CURLcode) { if setup == CURLE_OK { setup = result } }
        set(TLSTrust.apply(to: handle))
        set(imprint_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, list))
        set(imprint_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT, policy.connectTimeoutSeconds))
        set(imprint_curl_setopt_long(handle, CURLOPT_LOW_SPEED_LIMIT, 1))
        set(imprint_curl_setopt_long(handle, CURLOPT_LOW_SPEED_TIME, policy.stallSeconds))
        set(imprint_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1))
        set(imprint_curl_setopt_long(handle, CURLOPT_BUFFERSIZE, 512 * 1024))
        set(imprint_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, UnsafeMutableRawPointer(errorBuffer)))
        set(imprint_curl_setopt_write(handle, CURLOPT_WRITEFUNCTION, write))
        set(imprint_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, Unmanaged.passUnretained(self).toOpaque()))
        if let rate = policy.maximumRate { set(imprint_curl_setopt_off(handle, CURLOPT_MAX_RECV_SPEED_LARGE, curl_off_t(rate))) }
        if received > 0 { set(imprint_curl_setopt_off(handle, CURLOPT_RESUME_FROM_LARGE, curl_off_t(received))) }
        guard setup == CURLE_OK, let multi, curl_multi_add_handle(multi, handle) == CURLM_OK else {
            curl_easy_cleanup(handle)
            throw DeployFailure(.stream, "libcurl refused the request set-up", hint: "this is a bug in the agent; report it")
        }
        easy = handle
        if received > 0 { log.info("stream: GET \(currentURL) from byte \(received)") } else { log.info("stream: GET \(currentURL)") }
    }

    private func stopTransfer() {
        if let easy {
            if let multi { curl_multi_remove_handle(multi, easy) }
            curl_easy_cleanup(easy)
        }
        easy = nil
        finished = nil
        paused = false
    }

    /// libcurl's write callback: checks the response once, then keeps the body's bytes.
    /// Returning less than given aborts the transfer (CURLE_WRITE_ERROR), with `refusal` saying why.
    private func receive(_ data: UnsafeRawBufferPointer) -> Int {
        guard let easy else { return 0 }
        if pending.count - pendingIndex >= pendingLimit {
            // curl keeps this chunk and hands it over again after curl_easy_pause(CONT).
            paused = true
            return 0x1000_0001 // CURL_WRITEFUNC_PAUSE
        }
        if !responseChecked {
            responseChecked = true
            var status = 0
            _ = imprint_curl_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
            var typePointer: UnsafeMutablePointer<CChar>?
            _ = imprint_curl_getinfo_string(easy, CURLINFO_CONTENT_TYPE, &typePointer)
            let contentType = typePointer.map { String(cString: $0) } ?? ""
            if status == 200 {
                // The server ignored Range (or none was sent): drop what was already received.
                skip = received
            } else if status != 206 {
                refusal = "HTTP \(status) from \(currentURL)"
                return 0
            }
            if contentType.lowercased().hasPrefix("text/html") {
                refusal = "the server answered an HTML page (Content-Type \(contentType)), not the blob"
                return 0
            }
        }
        var bytes = data
        if skip > 0 {
            let dropped = min(skip, bytes.count)
            skip -= dropped
            bytes = UnsafeRawBufferPointer(rebasing: bytes[dropped...])
        }
        guard received + bytes.count <= expectedSize else {
            refusal = "the server sent more than the image descriptor's \(expectedSize) bytes"
            return 0
        }
        pending.append(contentsOf: bytes)
        received += bytes.count
        return data.count
    }
}
