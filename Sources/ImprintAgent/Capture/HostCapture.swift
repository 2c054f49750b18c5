import Glibc
import ImprintCore

/// The capture (docs/capture.md): fetch the assignment, check it asks for a capture, stream the
/// whole disk zstd-compressed to `uploads/<mac>/<name>`, then its descriptor; report `capturing`,
/// `uploading`, `done` or `failed`. An upload cut off is started again from the first byte, after
/// a backoff; a refusal (4xx) or a disk that cannot be read ends it.
public struct CaptureRun {
    public var disk: String
    public var mac: MACAddress
    public var servers: [String]
    public var token: String?
    public var http: any HTTPClient
    public var clock: any AgentClock
    public var log: Log
    /// Upload attempts before giving up; the backoff doubles from 1 s up to 30 s.
    public var attempts: Int
    public var workers: Int
    /// The key the assignment must be signed with (host mode; a booted agent's deploy session checks it).
    public var manifestKey: [UInt8]?
    public var wallClock: () -> Int = realtimeEpochSeconds

    public init(disk: String, mac: MACAddress, servers: [String], token: String?, http: any HTTPClient, clock: any AgentClock, log: Log,
                attempts: Int = 4, workers: Int = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) {
        self.disk = disk
        self.mac = mac
        self.servers = servers
        self.token = token
        self.http = http
        self.clock = clock
        self.log = log
        self.attempts = attempts
        self.workers = max(1, workers)
    }

    /// Runs the capture; nil when it is done, else why it failed (also reported).
    public func run() -> CaptureFailure? {
        let fetched: (DeviceAssignment, String)
        do throws(CaptureFailure) { fetched = try fetchAssignment() } catch {
            log.error("capture failed: \(error)")
            report(StatusReport(mac: mac, phase: .failed, error: error.description), servers: servers)
            return error
        }
        return run(assignment: fetched.0, server: fetched.1)
    }

    /// Runs the capture `assignment` asks for, fetched from `server` (the PXE-booted agent has
    /// fetched it already); nil when it is done, else why it failed (also reported).
    public func run(assignment: DeviceAssignment, server: String) -> CaptureFailure? {
        do throws(CaptureFailure) {
            let plan = try CapturePlan(assignment: assignment, bootServer: server)
            log.info("capture \(plan.name): reading \(disk), uploading to \(plan.blobURL)")
            try capture(plan, server: server)
            return nil
        } catch {
            log.error("capture failed: \(error)")
            report(StatusReport(mac: mac, phase: .failed, error: error.description), servers: servers)
            return error
        }
    }

    private func fetchAssignment() throws(CaptureFailure) -> (DeviceAssignment, String) {
        var last = "no server to fetch the assignment from"
        for attempt in 1...max(1, attempts) {
            for server in servers {
                let url = "\(server)/devices/\(mac.hyphenated)/assignment.json"
                var headers: [String] = []
                if let token, !token.isEmpty { headers.append("Authorization: Bearer \(token)") }
                let (outcome, body) = http.get(url: url, headers: headers, connectTimeoutSeconds: 5, totalTimeoutSeconds: 30, maximumBytes: 4 << 20)
                if outcome.succeeded {
                    try verify(body, url: url, headers: headers)
                    let assignment: DeviceAssignment
                    do {
                        assignment = try DeviceAssignment.parse(String(decoding: body, as: UTF8.self))
                    } catch {
                        throw CaptureFailure("\(url): \(error)", hint: "imprint device capture rewrites it", retryable: false)
                    }
                    if let problem = ManifestTrust.bindingProblem(assignment, mac: mac, dmi: DMIInfo.gather(from: RootedFileSystem()), now: wallClock(), serverDate: TLSTrust.serverDate) {
                        throw CaptureFailure("the assignment was refused: \(problem)", hint: "imprint device capture rewrites it", retryable: false)
                    }
                    return (assignment, server)
                }
                last = "\(url): \(outcome.description)"
                if outcome.status == 404 {
                    throw CaptureFailure("\(url): no assignment", hint: "imprint device capture MAC --name NAME", retryable: false)
                }
                log.warning("fetching the assignment: \(last)")
            }
            if attempt < attempts { clock.sleep(milliseconds: UInt64(backoff(attempt) * 1000)) }
        }
        throw CaptureFailure(last, hint: "is imprint serve running and reachable?", retryable: true)
    }

    /// The assignment's `.sig` must be the manifest key's signature of exactly `body`.
    private func verify(_ body: [UInt8], url: String, headers: [String]) throws(CaptureFailure) {
        guard let manifestKey else {
            throw CaptureFailure("no manifest key to check the assignment's signature with", hint: "give --manifest-key FILE or an identity made by this imprint", retryable: false)
        }
        let (outcome, signature) = http.get(url: url + ".sig", headers: headers, connectTimeoutSeconds: 5, totalTimeoutSeconds: 30, maximumBytes: 4096)
        guard outcome.succeeded else {
            throw CaptureFailure("\(url).sig: \(outcome.description): the assignment is not signed, so it is refused", hint: "imprint device capture rewrites it, signed", retryable: false)
        }
        if let problem = ManifestTrust.problem(body, signatureFile: signature, key: manifestKey, name: "assignment.json") {
            throw CaptureFailure("refused: \(problem)", hint: "check who can write the store", retryable: false)
        }
    }

    private func capture(_ plan: CapturePlan, server: String) throws(CaptureFailure) {
        var attempt = 0
        while true {
            attempt += 1
            let fd = open(disk, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                throw CaptureFailure("cannot open \(disk): \(String(cString: strerror(errno)))", hint: "check --disk", retryable: false)
            }
            defer { close(fd) }
            let end = lseek(fd, 0, SEEK_END)
            guard end >= 0 else { throw CaptureFailure("cannot size \(disk): \(String(cString: strerror(errno)))", retryable: false) }
            let size = Int(end)
            report(StatusReport(mac: mac, phase: .capturing, bytesWritten: 0, bytesTotal: size), servers: [server])
            let started = clock.milliseconds()
            let stream = try CaptureStream(fd: fd, size: size, path: disk, workers: workers)
            log.info("capturing \(disk) (\(size) bytes), attempt \(attempt) of \(attempts)")
            let outcome = uploadCapture(stream, url: plan.blobURL, token: token, connectTimeoutSeconds: 5)
            if let failure = outcome.streamFailure { throw failure }
            if outcome.http.succeeded {
                let seconds = Double(max(1, clock.milliseconds() &- started)) / 1000
                let map = stream.map.finish()
                let digest = stream.digest()
                log.info("uploaded \(size) bytes as \(stream.compressedBytes) zstd bytes in \(seconds) s (\(Int(Double(size) / seconds / 1_000_000)) MB/s); \(map.dataBytes) bytes of data in \(map.ranges.count) ranges; sha256 \(digest)")
                report(StatusReport(mac: mac, phase: .uploading, bytesWritten: size, bytesTotal: size, rate: Double(size) / seconds), servers: [server])
                try putDescriptor(CapturePlan.descriptor(name: plan.name, uncompressedSha256: digest, map: map), url: plan.descriptorURL)
                report(StatusReport(mac: mac, phase: .done, bytesWritten: size, bytesTotal: size, rate: Double(size) / seconds), servers: [server])
                log.info("capture \(plan.name) done: accept it with imprint image accept \(plan.name)")
                return
            }
            let why = "uploading \(plan.blobURL): \(outcome.http.description) after \(stream.offset) of \(size) bytes read"
            guard CapturePlan.retryable(status: outcome.http.status) else {
                throw CaptureFailure(why, hint: outcome.http.status == 403 ? "the store refused it: is this device assigned that capture (imprint device capture)?" : nil, retryable: false)
            }
            guard attempt < attempts else { throw CaptureFailure(why + "; gave up after \(attempts) attempts", retryable: true) }
            log.warning("\(why); starting again from the first byte in \(backoff(attempt)) s")
            clock.sleep(milliseconds: UInt64(backoff(attempt) * 1000))
        }
    }

    private func putDescriptor(_ text: String, url: String) throws(CaptureFailure) {
        var last = HTTPOutcome(status: 0)
        for attempt in 1...max(1, attempts) {
            last = http.put(url: url, body: Array(text.utf8), headers: reportHeaders(token: token), connectTimeoutSeconds: 5, totalTimeoutSeconds: 60)
            if last.succeeded { return }
            guard CapturePlan.retryable(status: last.status) else { break }
            log.warning("uploading the descriptor: \(last.description)")
            if attempt < attempts { clock.sleep(milliseconds: UInt64(backoff(attempt) * 1000)) }
        }
        throw CaptureFailure("uploading the descriptor to \(url): \(last.description)", retryable: CapturePlan.retryable(status: last.status))
    }

    /// 1, 2, 4, ... s, at most 30.
    func backoff(_ attempt: Int) -> Int { min(30, 1 << min(attempt - 1, 5)) }

    /// Best effort: a status report that cannot be stored does not stop the capture.
    private func report(_ status: StatusReport, servers: [String]) {
        let body = Array((status.json.serialized(pretty: true) + "\n").utf8)
        for server in servers {
            let outcome = http.put(url: "\(server)/reports/\(mac.hyphenated)/status.json", body: body, headers: reportHeaders(token: token),
                                   connectTimeoutSeconds: 5, totalTimeoutSeconds: 30)
            if outcome.succeeded { return }
            log.warning("status \(status.phase.rawValue) not stored at \(server): \(outcome.description)")
        }
    }
}

extension AgentMain {
    /// `imprint-agent --capture --disk FILE --identity FILE.json [--server URL]`: 0 when the capture is done.
    public static func capture(disk: String, identityFile: String, server: String?, manifestKey: String? = nil, http: any HTTPClient = CurlHTTPClient(),
                               clock: any AgentClock = MonotonicClock(), output: any LogSink, errors: any LogSink) -> Int32 {
        let identity: Identity
        do {
            identity = try Identity.parse(try RootedFileSystem().readFile(identityFile))
            TLSTrust.pin(identity.ca)
        } catch {
            errors.write("imprint-agent: \(identityFile): \(error)\n")
            return 2
        }
        guard let mac = try? MACAddress(parsing: identity.mac) else {
            errors.write("imprint-agent: \(identityFile): \"mac\" \(identity.mac) is not a MAC address\n")
            return 2
        }
        let servers = (server.map { [$0] } ?? identity.servers).map { url in var u = url; while u.hasSuffix("/") { u.removeLast() }; return u }
        guard !servers.isEmpty else {
            errors.write("imprint-agent: no server: give the identity \"servers\" or --server URL\n")
            return 2
        }
        var token = identity.token
        if token == nil {
            // An identity served over PXE carries no token: claim it, as a booted agent does (docs/security.md).
            let context = AgentContext(fs: RootedFileSystem(), loader: DryRunModuleLoader(), clock: clock, machine: LinuxMachine(),
                                       log: Log(sinks: [output]), libraries: LibraryVersions.linked())
            context.http = http
            switch TokenClaim.claim(mac: mac, servers: servers, context: context, hostMode: true) {
            case .success(let claimed): token = claimed
            case .failure(let failure):
                errors.write("imprint-agent: capture failed: \(failure)\n")
                return 1
            }
        }
        var run = CaptureRun(disk: disk, mac: mac, servers: servers, token: token, http: http, clock: clock, log: Log(sinks: [output]))
        if let manifestKey {
            guard let text = try? RootedFileSystem().readFile(manifestKey), let key = ManifestTrust.decodeKey(text) else {
                errors.write("imprint-agent: --manifest-key \(manifestKey): not readable as a manifest key (base64 of a 32-byte Ed25519 key)\n")
                return 2
            }
            run.manifestKey = key
        } else {
            run.manifestKey = identity.manifestKey.flatMap(ManifestTrust.decodeKey)
        }
        if let failure = run.run() {
            errors.write("imprint-agent: capture failed: \(failure)\n")
            return 1
        }
        return 0
    }
}
