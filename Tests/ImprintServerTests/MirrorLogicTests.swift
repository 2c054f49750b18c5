import ImprintCore
import Testing

@testable import ImprintServer

/// The mirror's pure parts: rates, the rate limiter, upstream decisions, replicate planning, site tokens.
@Suite struct MirrorLogicTests {
    @Test(arguments: [("50MB/s", 50_000_000), ("50mb/s", 50_000_000), ("400KiB/s", 409_600), ("1GB/s", 1_000_000_000),
                      ("2GiB", 2_147_483_648), ("12000000", 12_000_000), ("1.5MB/s", 1_500_000), (" 10 MiB/s ", 10_485_760), ("64k", 64_000)])
    func ratesParse(text: String, bytes: Int) throws {
        #expect(try MirrorRate(parsing: text).bytesPerSecond == bytes)
    }

    @Test(arguments: ["", "fast", "50XB/s", "MB/s", "1.2.3MB/s", "0", "0.5", "-5MB/s", "50 MB per second", "99999999PB"])
    func badRatesSayWhatToGive(text: String) {
        do {
            _ = try MirrorRate(parsing: text)
            Issue.record("\(text) parsed")
        } catch {
            #expect(error.description.contains("is not a rate"), "\(error)")
            #expect(error.description.contains("such as 50MB/s"), "\(error)")
        }
    }

    @Test func theLimiterHoldsTheRateOverTime() {
        var limiter = MirrorRateLimiter(bytesPerSecond: 1_000_000, burstSeconds: 0.25)
        // The burst passes at once; then each 100 kB costs 0.1 s.
        #expect(limiter.take(250_000, now: 0) == 0)
        let wait = limiter.take(100_000, now: 0)
        #expect(abs(wait - 0.1) < 1e-9)
        // After sleeping what it said, the next 100 kB costs another 0.1 s.
        let next = limiter.take(100_000, now: 0.1)
        #expect(abs(next - 0.1) < 1e-9)
        // Idle time refills no more than the burst.
        #expect(limiter.take(250_000, now: 100) == 0)
        #expect(limiter.take(1, now: 100) > 0)
        // 10 MB through it takes 10 s of simulated time, less the burst.
        var clock = 200.0
        var slow = MirrorRateLimiter(bytesPerSecond: 1_000_000)
        for _ in 0..<100 { clock += slow.take(100_000, now: clock) }
        #expect(abs(clock - 200 - 9.75) < 0.2, "\(clock - 200)")
    }

    @Test func revalidationDecisions() {
        typealias D = MirrorDecision
        #expect(D.revalidation(.answered(status: 304, contentType: nil, contentLength: 0), haveLocal: true) == .serveLocal(note: "mirror: revalidated, unchanged"))
        #expect(D.revalidation(.answered(status: 200, contentType: "application/json", contentLength: 10), haveLocal: true) == .store)
        #expect(D.revalidation(.answered(status: 200, contentType: "application/octet-stream", contentLength: 10), haveLocal: false) == .store)
        #expect(D.revalidation(.answered(status: 404, contentType: nil, contentLength: 0), haveLocal: true) == .gone)
        #expect(D.revalidation(.answered(status: 403, contentType: nil, contentLength: 0), haveLocal: true) == .pass(status: 403, note: "mirror: upstream answered 403"))
        guard case let .serveLocal(note) = D.revalidation(.unreachable("connection refused"), haveLocal: true) else { Issue.record("unreachable with a copy"); return }
        #expect(note.contains("unreachable (connection refused)") && note.contains("served the local copy"))
        guard case let .badGateway(gone) = D.revalidation(.unreachable("connection refused"), haveLocal: false) else { Issue.record("unreachable without a copy"); return }
        #expect(gone.contains("no local copy"))
        guard case let .badGateway(html) = D.revalidation(.answered(status: 200, contentType: "text/html; charset=utf-8", contentLength: 5), haveLocal: false) else {
            Issue.record("HTML is never kept"); return
        }
        #expect(html.contains("HTML"))
        guard case .serveLocal = D.revalidation(.answered(status: 502, contentType: nil, contentLength: 0), haveLocal: true) else { Issue.record("5xx with a copy"); return }
        guard case .badGateway = D.revalidation(.answered(status: 200, contentType: nil, contentLength: nil), haveLocal: false) else { Issue.record("no length"); return }
        guard case .badGateway = D.revalidation(.answered(status: 304, contentType: nil, contentLength: 0), haveLocal: false) else { Issue.record("304 with nothing held"); return }
    }

    @Test func blobHeads() {
        #expect(MirrorDecision.blobHeadProblem(status: 200, contentType: "application/octet-stream", contentLength: 5, maxBytes: 10) == nil)
        #expect(MirrorDecision.blobHeadProblem(status: 500, contentType: nil, contentLength: 5, maxBytes: 10) == "upstream answered 500")
        #expect(MirrorDecision.blobHeadProblem(status: 200, contentType: "text/html", contentLength: 5, maxBytes: 10)?.contains("HTML") == true)
        #expect(MirrorDecision.blobHeadProblem(status: 200, contentType: nil, contentLength: nil, maxBytes: 10)?.contains("no Content-Length") == true)
        #expect(MirrorDecision.blobHeadProblem(status: 200, contentType: nil, contentLength: 11, maxBytes: 10)?.contains("more than") == true)
        #expect(MirrorDecision.isBlobName(String(repeating: "a", count: 64)))
        #expect(!MirrorDecision.isBlobName(String(repeating: "A", count: 64)))
        #expect(!MirrorDecision.isBlobName(String(repeating: "a", count: 63)))
    }

    @Test func forwardingAndBackoff() {
        #expect(MirrorDecision.forwarding(status: 204) == .delivered)
        #expect(MirrorDecision.forwarding(status: 403) == .refused)
        #expect(MirrorDecision.forwarding(status: 401) == .refused)
        #expect(MirrorDecision.forwarding(status: 429) == .retry)
        #expect(MirrorDecision.forwarding(status: 503) == .retry)
        #expect(MirrorDecision.forwarding(status: nil) == .retry)
        #expect((1...8).map { MirrorDecision.backoff(failures: $0) } == [1, 2, 4, 8, 16, 30, 30, 30])
    }

    @Test func replicatePlanFollowsAssignmentAndDescriptor() throws {
        let mac = try MACAddress(parsing: "52:54:00:12:34:56")
        #expect(ReplicatePlan.deviceFiles(mac).map(\.path) == ["devices/52-54-00-12-34-56/assignment.json", "devices/52-54-00-12-34-56/assignment.json.sig",
                                                              "devices/52-54-00-12-34-56/boot.ipxe", "devices/52-54-00-12-34-56/identity.cpio"])
        #expect(ReplicatePlan.deviceFiles(mac).filter { !$0.required }.map(\.path) == ["devices/52-54-00-12-34-56/assignment.json.sig"])
        #expect(ReplicatePlan.profileFiles("qemu-virtio").map(\.path) == ["boot/qemu-virtio/vmlinuz", "boot/qemu-virtio/initrd.img", "boot/qemu-virtio/build.json"])
        let hex = String(repeating: "ab", count: 32)
        let assignment = DeviceAssignment(mac: mac, profile: "qemu-virtio", imageName: "golden", imageSha256: hex).serialized
        let followed = try ReplicatePlan.follow(assignment: assignment)
        #expect(followed.image == "golden" && followed.profile == "qemu-virtio")
        #expect(throws: ReplicatePlanError.self) { try ReplicatePlan.follow(assignment: "{\"version\": 1}") }
        let evil = DeviceAssignment(mac: mac, profile: "../secrets", imageName: "golden", imageSha256: hex).serialized
        #expect(throws: ReplicatePlanError.self) { try ReplicatePlan.follow(assignment: evil) }
        let descriptor = """
            {"version": 1, "name": "golden", "blob": "\(hex)", "uncompressedSha256": "\(hex)", "format": "raw",
             "compression": "none", "size": 10, "uncompressedSize": 10}
            """
        let blob = try ReplicatePlan.follow(descriptor: descriptor)
        #expect(blob.blob == hex && blob.size == 10)
        #expect(ReplicatePlan.blobPath(hex) == "blobs/sha256/\(hex)")
        #expect(!ReplicatePlan.isSafeName(".hidden") && !ReplicatePlan.isSafeName("a/b") && ReplicatePlan.isSafeName("debian-12.1_x"))
    }

    @Test func siteTokens() {
        let token = "branch-1." + String(repeating: "0f", count: 32)
        #expect(SiteToken.name(of: token) == "branch-1")
        #expect(SiteToken.name(of: "branch-1") == nil)
        #expect(SiteToken.name(of: "Branch." + String(repeating: "0f", count: 32)) == nil)
        #expect(SiteToken.name(of: "b." + String(repeating: "0F", count: 32)) == nil)
        let stored = Array(SiteToken.storedHash(of: token).utf8)
        #expect(stored.count == 65 && stored.last == 10)
        #expect(SiteToken.matches(token, stored: stored))
        #expect(!SiteToken.matches(token + "0", stored: stored))
        #expect(!SiteToken.matches(token, stored: Array(stored.prefix(10))))
    }
}
