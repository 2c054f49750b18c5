import CCurl
import ImprintCore
import Glibc

/// One HTTP request's result: a status when the server answered, else curl's error.
public struct HTTPOutcome: Equatable, Sendable {
    /// The response status, 0 when there was none.
    public var status: Int
    /// curl's error text (`Couldn't connect to server: Failed to connect to ...`), nil when the transfer completed.
    public var transportError: String?

    public init(status: Int, transportError: String? = nil) {
        self.status = status
        self.transportError = transportError
    }

    public var succeeded: Bool { transportError == nil && (200..<300).contains(status) }

    /// For the log: `HTTP 403`, or curl's text with the status if there was one.
    public var description: String {
        if let transportError { return status == 0 ? transportError : "\(transportError) (HTTP \(status))" }
        return "HTTP \(status)"
    }
}

/// Sends HTTP requests; libcurl on a machine, a fake in tests.
public protocol HTTPClient {
    /// PUTs `body` to `url` with `headers` (`Name: value`), within the timeouts.
    func put(url: String, body: [UInt8], headers: [String], connectTimeoutSeconds: Int, totalTimeoutSeconds: Int) -> HTTPOutcome
    /// GETs a small document (a manifest): its body, at most `maximumBytes`.
    func get(url: String, headers: [String], connectTimeoutSeconds: Int, totalTimeoutSeconds: Int, maximumBytes: Int) -> (HTTPOutcome, [UInt8])
    /// POSTs with no body (a token claim): the answer's body, at most `maximumBytes`.
    func post(url: String, headers: [String], connectTimeoutSeconds: Int, totalTimeoutSeconds: Int, maximumBytes: Int) -> (HTTPOutcome, [UInt8])
}

extension HTTPClient {
    /// Clients made only for reports (older test doubles) cannot GET.
    public func get(url: String, headers: [String], connectTimeoutSeconds: Int, totalTimeoutSeconds: Int, maximumBytes: Int) -> (HTTPOutcome, [UInt8]) {
        (HTTPOutcome(status: 0, transportError: "this HTTP client cannot GET"), [])
    }

    /// Clients that only read (an offline stick's folder, older test doubles) cannot POST.
    public func post(url: String, headers: [String], connectTimeoutSeconds: Int, totalTimeoutSeconds: Int, maximumBytes: Int) -> (HTTPOutcome, [UInt8]) {
        (HTTPOutcome(status: 0, transportError: "this HTTP client cannot POST"), [])
    }
}

/// libcurl's easy interface, one handle per request.
public struct CurlHTTPClient: HTTPClient {
    public init() {}

    public func put(url: String, body: [UInt8], headers: [String], connectTimeoutSeconds: Int, totalTimeoutSeconds: Int) -> HTTPOutcome {
        guard let handle = curl_easy_init() else { return HTTPOutcome(status: 0, transportError: "curl_easy_init failed") }
        defer { curl_easy_cleanup(handle) }
        var list: UnsafeMutablePointer<curl_slist>?
        for header in headers {
            guard let appended = curl_slist_append(list, header) else {
                curl_slist_free_all(list)
                return HTTPOutcome(status: 0, transportError: "curl_slist_append failed")
            }
            list = appended
        }
        defer { curl_slist_free_all(list) }
        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        defer { errorBuffer.deallocate() }
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)

        // The response body is not needed: without a write function curl would
        // print it on stdout, which for PID 1 is the console.
        let discard: imprint_curl_write_fn = { _, size, count, _ in size &* count }
        var body = body
        let code: CURLcode = body.withUnsafeMutableBytes { bytes in
            // A PUT with its body from memory: CUSTOMREQUEST keeps libcurl's POSTFIELDS
            // machinery (no read callback) while sending the PUT method.
            var setup = imprint_curl_setopt_string(handle, CURLOPT_URL, url)
            func set(_ result: CURLcode) { if setup == CURLE_OK { setup = result } }
            set(TLSTrust.apply(to: handle))
            set(imprint_curl_setopt_string(handle, CURLOPT_CUSTOMREQUEST, "PUT"))
            set(imprint_curl_setopt_pointer(handle, CURLOPT_POSTFIELDS, bytes.baseAddress ?? UnsafeMutableRawPointer(errorBuffer)))
            set(imprint_curl_setopt_off(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(bytes.count)))
            set(imprint_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, list))
            set(imprint_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT, connectTimeoutSeconds))
            set(imprint_curl_setopt_long(handle, CURLOPT_TIMEOUT, totalTimeoutSeconds))
            // PID 1 has no use for SIGALRM-based resolver timeouts.
            set(imprint_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1))
            set(imprint_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, UnsafeMutableRawPointer(errorBuffer)))
            set(imprint_curl_setopt_write(handle, CURLOPT_WRITEFUNCTION, discard))
            guard setup == CURLE_OK else { return setup }
            return curl_easy_perform(handle)
        }
        var status = 0
        _ = imprint_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        guard code == CURLE_OK else {
            let summary = curl_easy_strerror(code).map { String(cString: $0) } ?? "curl error \(code.rawValue)"
            let detail = String(cString: errorBuffer)
            return HTTPOutcome(status: status, transportError: detail.isEmpty ? summary : "\(summary): \(detail)")
        }
        return HTTPOutcome(status: status)
    }
}

extension CurlHTTPClient {
    public func get(url: String, headers: [String], connectTimeoutSeconds: Int, totalTimeoutSeconds: Int, maximumBytes: Int) -> (HTTPOutcome, [UInt8]) {
        transfer(method: nil, url: url, headers: headers, connectTimeoutSeconds: connectTimeoutSeconds, totalTimeoutSeconds: totalTimeoutSeconds, maximumBytes: maximumBytes)
    }

    public func post(url: String, headers: [String], connectTimeoutSeconds: Int, totalTimeoutSeconds: Int, maximumBytes: Int) -> (HTTPOutcome, [UInt8]) {
        transfer(method: "POST", url: url, headers: headers, connectTimeoutSeconds: connectTimeoutSeconds, totalTimeoutSeconds: totalTimeoutSeconds, maximumBytes: maximumBytes)
    }

    /// A request with no body (`method` nil: GET) whose answer is read into memory.
    func transfer(method: String?, url: String, headers: [String], connectTimeoutSeconds: Int, totalTimeoutSeconds: Int, maximumBytes: Int) -> (HTTPOutcome, [UInt8]) {
        guard let handle = curl_easy_init() else { return (HTTPOutcome(status: 0, transportError: "curl_easy_init failed"), []) }
        defer { curl_easy_cleanup(handle) }
        var list: UnsafeMutablePointer<curl_slist>?
        for header in headers {
            guard let appended = curl_slist_append(list, header) else {
                curl_slist_free_all(list)
                return (HTTPOutcome(status: 0, transportError: "curl_slist_append failed"), [])
            }
            list = appended
        }
        defer { curl_slist_free_all(list) }
        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        defer { errorBuffer.deallocate() }
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        let sink = BodySink(limit: maximumBytes)
        let collect: imprint_curl_write_fn = { data, size, count, context in
            guard let data, let context else { return 0 }
            let sink = Unmanaged<BodySink>.fromOpaque(context).takeUnretainedValue()
            let length = size &* count
            guard sink.bytes.count + length <= sink.limit else { return 0 }
            sink.bytes.append(contentsOf: UnsafeRawBufferPointer(start: data, count: length))
            return length
        }
        var setup = imprint_curl_setopt_string(handle, CURLOPT_URL, url)
        func set(_ result: CURLcode) { if setup == CURLE_OK { setup = result } }
        set(TLSTrust.apply(to: handle))
        if let method { set(imprint_curl_setopt_string(handle, CURLOPT_CUSTOMREQUEST, method)) }
        set(imprint_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, list))
        set(imprint_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT, connectTimeoutSeconds))
        set(imprint_curl_setopt_long(handle, CURLOPT_TIMEOUT, totalTimeoutSeconds))
        set(imprint_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1))
        set(imprint_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, UnsafeMutableRawPointer(errorBuffer)))
        set(imprint_curl_setopt_write(handle, CURLOPT_WRITEFUNCTION, collect))
        set(imprint_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, Unmanaged.passUnretained(sink).toOpaque()))
        // A server verified against the pinned CA vouches for the time too (its `Date`).
        if TLSTrust.isPinned && url.lowercased().hasPrefix("https://") {
            let header: imprint_curl_write_fn = { data, size, count, context in
                guard let data, let context else { return 0 }
                let length = size &* count
                let sink = Unmanaged<BodySink>.fromOpaque(context).takeUnretainedValue()
                let line = String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
                if let value = HTTPDate.headerValue(line) { sink.date = HTTPDate.parse(value) }
                return length
            }
            set(imprint_curl_setopt_write(handle, CURLOPT_HEADERFUNCTION, header))
            set(imprint_curl_setopt_pointer(handle, CURLOPT_HEADERDATA, Unmanaged.passUnretained(sink).toOpaque()))
        }
        let code = setup == CURLE_OK ? curl_easy_perform(handle) : setup
        if let date = sink.date { TLSTrust.noteServerDate(date) }
        var status = 0
        _ = imprint_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        guard code == CURLE_OK else {
            if code == CURLE_WRITE_ERROR && sink.bytes.count >= 0 && status != 0 {
                return (HTTPOutcome(status: status, transportError: "the answer is larger than \(maximumBytes) bytes"), [])
            }
            let summary = curl_easy_strerror(code).map { String(cString: $0) } ?? "curl error \(code.rawValue)"
            let detail = String(cString: errorBuffer)
            return (HTTPOutcome(status: status, transportError: detail.isEmpty ? summary : "\(summary): \(detail)"), [])
        }
        return (HTTPOutcome(status: status), sink.bytes)
    }
}

/// A GET's body as it arrives, up to a limit.
private final class BodySink {
    let limit: Int
    var bytes: [UInt8] = []
    /// The answer's `Date`, when read (HTTPS to a pinned server only).
    var date: Int?
    init(limit: Int) { self.limit = limit }
}

/// How reports are retried: `attempts` tries, sleeping `backoffSeconds[i]` after failed try i.
public struct RetryPolicy: Equatable, Sendable {
    public var attempts: Int
    public var backoffSeconds: [Int]
    public var connectTimeoutSeconds: Int
    public var totalTimeoutSeconds: Int

    public init(attempts: Int, backoffSeconds: [Int], connectTimeoutSeconds: Int, totalTimeoutSeconds: Int) {
        self.attempts = attempts
        self.backoffSeconds = backoffSeconds
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.totalTimeoutSeconds = totalTimeoutSeconds
    }

    /// 4 tries, 1, 2 and 4 s apart; connect within 5 s, finish within 30 s.
    public static let reports = RetryPolicy(attempts: 4, backoffSeconds: [1, 2, 4], connectTimeoutSeconds: 5, totalTimeoutSeconds: 30)

    /// The wait after failed attempt `attempt` (1-based): the last listed value once past the list.
    public func backoff(afterAttempt attempt: Int) -> Int {
        guard let last = backoffSeconds.last else { return 0 }
        let index = attempt - 1
        return index >= 0 && index < backoffSeconds.count ? backoffSeconds[index] : last
    }
}

/// The headers of a report PUT. The empty `Expect:` stops libcurl from sending
/// `Expect: 100-continue`, which Hummingbird never answers (DESIGN section 10).
public func reportHeaders(token: String?) -> [String] {
    var headers = ["Content-Type: application/json", "Expect:"]
    if let token, !token.isEmpty { headers.append("Authorization: Bearer \(token)") }
    return headers
}
