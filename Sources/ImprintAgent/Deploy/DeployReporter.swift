import ImprintCore

/// Keeps `reports/<mac>/status.json` current through a deploy: each phase, progress during
/// the stream (at most every `progressIntervalMilliseconds`), timings, and the end (`done`
/// or `failed` with its error); `log.txt` with the console log at the end.
final class DeployReporter {
    let mac: MACAddress
    let servers: [String]
    var token: String?
    let http: any HTTPClient
    let clock: any AgentClock
    let wallClock: () -> Int
    let log: Log
    let retry: RetryPolicy
    var progressIntervalMilliseconds: UInt64 = 2000

    private(set) var phase: StatusReport.Phase = .booted
    private var timings: [(name: String, seconds: Double)] = []
    private var phaseStart: UInt64
    private let start: UInt64
    private var lastProgress: UInt64 = 0
    private var bytesWritten = 0
    private var bytesTotal = 0
    private var rate: Double = 0

    init(mac: MACAddress, servers: [String], token: String?, http: any HTTPClient, clock: any AgentClock,
         wallClock: @escaping () -> Int, log: Log, retry: RetryPolicy, bootMilliseconds: UInt64? = nil) {
        self.mac = mac
        self.servers = servers
        self.token = token
        self.http = http
        self.clock = clock
        self.wallClock = wallClock
        self.log = log
        self.retry = retry
        let now = clock.milliseconds()
        start = bootMilliseconds ?? now
        phaseStart = now
    }

    /// Records a timing measured elsewhere (the network step).
    func record(_ name: String, milliseconds: UInt64) {
        timings.removeAll { $0.name == name }
        timings.append((name, Double(milliseconds) / 1000))
    }

    /// Enters `phase`; `timing` names the previous phase's entry in `timings`.
    func enter(_ next: StatusReport.Phase, closing timing: String? = nil) {
        let now = clock.milliseconds()
        if let timing { record(timing, milliseconds: now &- phaseStart) }
        phaseStart = now
        phase = next
        log.info("phase \(next.rawValue)")
        _ = put(final: false)
    }

    /// During the stream: progress, sent when the interval has passed.
    func progress(written: Int, total: Int, force: Bool = false) {
        bytesWritten = written
        bytesTotal = total
        let now = clock.milliseconds()
        let elapsed = now &- phaseStart
        rate = elapsed > 0 ? Double(written) * 1000 / Double(elapsed) : 0
        guard force || now &- lastProgress >= progressIntervalMilliseconds else { return }
        lastProgress = now
        _ = put(final: false)
    }

    /// The stream is waiting to retry: said in the report, the phase unchanged.
    func retrying(_ message: String) {
        _ = put(final: false, error: message)
    }

    /// `done`: the last timing, `total`, a report tried with the full retry policy, then the log.
    @discardableResult
    func done(closing timing: String) -> Bool {
        let now = clock.milliseconds()
        record(timing, milliseconds: now &- phaseStart)
        record("total", milliseconds: now &- start)
        phase = .done
        let sent = put(final: true)
        uploadLog()
        return sent
    }

    /// `failed` with the error, then the log.
    func failed(_ failure: DeployFailure) {
        record("total", milliseconds: clock.milliseconds() &- start)
        phase = .failed
        _ = put(final: true, error: failure.description)
        uploadLog()
    }

    var report: StatusReport {
        StatusReport(mac: mac, phase: phase, bytesWritten: bytesWritten, bytesTotal: bytesTotal, rate: (rate * 10).rounded() / 10,
                     timings: timings.map { ($0.name, ($0.seconds * 1000).rounded() / 1000) },
                     updated: UTCTime.format(epochSeconds: wallClock()))
    }

    private func put(final: Bool, error: String? = nil) -> Bool {
        var status = report
        status.error = error
        if status.timings.isEmpty { status.timings = [] }
        let body = Array((status.json.serialized(pretty: true) + "\n").utf8)
        return send("status.json", body: body, contentType: "application/json", final: final)
    }

    private func uploadLog() {
        let text = log.history.joined(separator: "\n") + "\n"
        _ = send("log.txt", body: Array(text.suffix(900_000).utf8), contentType: "text/plain; charset=utf-8", final: true)
    }

    /// Progress goes once to each server, never waiting; a final report is retried.
    private func send(_ name: String, body: [UInt8], contentType: String, final: Bool) -> Bool {
        var headers = reportHeaders(token: token)
        headers[0] = "Content-Type: \(contentType)"
        let attempts = final ? max(1, retry.attempts) : 1
        for attempt in 1...attempts {
            for server in servers {
                let url = "\(server)/reports/\(mac.hyphenated)/\(name)"
                let outcome = http.put(url: url, body: body, headers: headers, connectTimeoutSeconds: retry.connectTimeoutSeconds,
                                       totalTimeoutSeconds: retry.totalTimeoutSeconds)
                if outcome.succeeded { return true }
                log.warning("PUT \(url) failed\(final ? " (try \(attempt) of \(attempts))" : ""): \(outcome.description)")
            }
            if final && attempt < attempts { clock.sleep(milliseconds: UInt64(retry.backoff(afterAttempt: attempt)) * 1000) }
        }
        return false
    }
}
