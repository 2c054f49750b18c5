import Glibc
import ImprintCore

/// Reports taken at a site, waiting for upstream: `secrets/mirror/outbox/<mac>.<name>`, each the
/// device's `Authorization` header on the first line, then the body. A newer report of the same
/// name replaces a waiting one (upstream keeps only the latest anyway). Forwarded in name order,
/// retried with backoff (1 s doubling to 30 s) until upstream answers; a 4xx other than 408 and
/// 429 means upstream will never take it (a wrong token): it is dropped with a log line.
final class MirrorOutbox: Sendable {
    let store: MirrorStore
    private let doorbell = MirrorDoorbell()

    init(store: MirrorStore) { self.store = store }

    func enqueue(mac: String, name: String, authorization: String?, body: [UInt8]) async throws(MirrorError) {
        try store.makeParents("\(store.outbox)/x")
        let header = Array(((authorization ?? "").filter { $0 != "\n" && $0 != "\r" } + "\n").utf8)
        try store.write(header + body, to: "\(store.outbox)/\(mac).\(name)", mode: 0o600)
        await doorbell.ring()
    }

    /// The names waiting, oldest name first.
    func waiting() -> [String] {
        guard let dir = opendir(store.outbox) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if !name.hasPrefix(".") { names.append(name) }
        }
        return names.sorted()
    }

    func run(client: UpstreamClient, log: @Sendable (String) -> Void) async {
        var failures = 0
        while !Task.isCancelled {
            var failed = false
            for name in waiting() {
                guard !Task.isCancelled else { return }
                let file = "\(store.outbox)/\(name)"
                guard let (mac, report) = Self.split(name), let info = Self.identity(file),
                      let bytes = MirrorStore.readSmall(file, limit: 16 << 20), let newline = bytes.firstIndex(of: 10) else {
                    log("mirror: outbox entry \(name) is not a report; removed")
                    unlink(file)
                    continue
                }
                let authorization = String(decoding: bytes[..<newline], as: UTF8.self)
                var headers = [("Content-Type", report.hasSuffix(".json") ? "application/json" : "text/plain; charset=utf-8")]
                if !authorization.isEmpty { headers.append(("Authorization", authorization)) }
                let target = "reports/\(mac)/\(report)"
                var status: Int?
                var problem = ""
                do {
                    status = try await client.put(target, body: Array(bytes[(newline + 1)...]), headers: headers)
                } catch {
                    problem = Mirror.describe(error)
                }
                switch MirrorDecision.forwarding(status: status) {
                case .delivered:
                    if let now = Self.identity(file), now == info { unlink(file) }
                    log("mirror: \(target) forwarded to \(client.upstream.url) (\(status ?? 0))")
                case .refused:
                    if let now = Self.identity(file), now == info { unlink(file) }
                    log("mirror: \(client.upstream.url) refused \(target) with \(status ?? 0); dropped (check the device's token at the main office)")
                case .retry:
                    failed = true
                    log("mirror: \(target) not forwarded (\(status.map { "upstream answered \($0)" } ?? "upstream unreachable: \(problem)")); retrying in \(Int(MirrorDecision.backoff(failures: failures + 1))) s")
                }
                if failed { break }
            }
            failures = failed ? failures + 1 : 0
            await doorbell.wait(seconds: failed ? MirrorDecision.backoff(failures: failures) : 30)
        }
    }

    /// `<mac>.<report name>`: the MAC is 17 characters.
    static func split(_ name: String) -> (String, String)? {
        guard name.utf8.count > 18 else { return nil }
        let mac = String(name.prefix(17))
        let report = String(name.dropFirst(18))
        guard name.dropFirst(17).first == ".", let parsed = try? MACAddress(parsing: mac), parsed.hyphenated == mac,
              HTTPStoreResponder.reportNames.contains(report) else { return nil }
        return (mac, report)
    }

    /// Inode and mtime: a waiting report replaced while it was sent is sent again.
    static func identity(_ path: String) -> (UInt64, Int64)? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return (UInt64(info.st_ino), Int64(info.st_mtim.tv_sec) &* 1_000_000_000 &+ Int64(info.st_mtim.tv_nsec))
    }
}

/// Wakes the forwarder when a report arrives, or after a timeout.
actor MirrorDoorbell {
    private var rung = false
    private var waiter: CheckedContinuation<Void, Never>?

    func ring() {
        if let waiter {
            self.waiter = nil
            waiter.resume()
        } else {
            rung = true
        }
    }

    func wait(seconds: Double) async {
        if rung {
            rung = false
            return
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                waiter = continuation
                Task {
                    try? await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
                    self.ring()
                }
            }
        } onCancel: {
            Task { await self.ring() }
        }
        rung = false
    }
}
