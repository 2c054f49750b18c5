import Foundation
import Testing

/// Issue 9 item 3, tokens claimed once, against a real `imprint serve`: an identity served over
/// PXE carries no token; `POST devices/<mac>/claim` answers once; a second claim is refused,
/// recorded and shown by `imprint status` until `imprint device rearm`; assignments are served
/// only with the device's token and never cached.
@Suite(.serialized) struct ClaimTests {
    typealias Lab = DeployHostTests.Lab
    static let macPath = DeployHostTests.macPath

    static func curl(_ lab: Lab, _ arguments: String) throws -> String {
        try lab.store.shellOutput("curl -s -m 10 \(arguments)")
    }

    @Test func aTokenIsClaimedOnceAndRearmingRestoresTheClaim() throws {
        let lab = try Lab(imageMiB: 4, dataEvery: 2)
        defer { lab.finish() }
        let identity = (try? String(contentsOfFile: lab.identity, encoding: .utf8)) ?? ""
        #expect(!identity.contains("\"token\""), "the identity PXE serves holds no token: \(identity)")
        let base = "http://127.0.0.1:\(lab.port)/devices/\(Self.macPath)"

        let first = try Self.curl(lab, "-X POST -w ' %{http_code}' \(base)/claim")
        #expect(first.hasSuffix(" 200") && first.contains("\"token\""), "\(first)")
        let token = try #require(first.range(of: #"[0-9a-f]{64}"#, options: .regularExpression).map { String(first[$0]) })
        #expect(lab.storeText("secrets/devices/\(Self.macPath).sha256").hasPrefix(try lab.store.shellOutput("printf %s \(token) | sha256sum | cut -c1-64")))
        let second = try Self.curl(lab, "-X POST -o /dev/null -w '%{http_code}' \(base)/claim")
        #expect(second == "409")
        let refused = lab.storeText("reports/\(Self.macPath)/claim-refused.json")
        #expect(refused.contains("\"refusals\": 1") && refused.contains("127.0.0.1"), "\(refused)")
        let status = try CLI.run(["status", Self.macPath, "--store", lab.storePath])
        #expect(status.stdout.contains("claim:      refused 1x") && status.stdout.contains("imprint device rearm"), "\(status.stdout)")
        let table = try CLI.run(["status", "--store", lab.storePath])
        #expect(table.stdout.contains("claim refused (1x)"), "\(table.stdout)")

        // The claimed token reads the assignment, privately; nothing else does.
        let noToken = try Self.curl(lab, "-o /dev/null -w '%{http_code}' \(base)/assignment.json")
        #expect(noToken == "401")
        let wrong = try Self.curl(lab, "-o /dev/null -w '%{http_code}' -H 'Authorization: Bearer \(String(repeating: "0", count: 64))' \(base)/assignment.json")
        #expect(wrong == "403")
        let headers = try Self.curl(lab, "-D - -o /dev/null -H 'Authorization: Bearer \(token)' \(base)/assignment.json")
        #expect(headers.contains("200") && headers.lowercased().contains("cache-control: private, no-store"), "\(headers)")
        // Its signature and the blobs stay public (caches keep working).
        #expect(try Self.curl(lab, "-o /dev/null -w '%{http_code}' \(base)/assignment.json.sig") == "200")

        // Rearm: the old token stops working at once, the next claim succeeds, the refusal is cleared.
        try lab.rearm()
        let stale = try Self.curl(lab, "-o /dev/null -w '%{http_code}' -H 'Authorization: Bearer \(token)' \(base)/assignment.json")
        #expect(stale == "403")
        #expect(!FileManager.default.fileExists(atPath: "\(lab.storePath)/reports/\(Self.macPath)/claim-refused.json"))
        let third = try Self.curl(lab, "-X POST -o /dev/null -w '%{http_code}' \(base)/claim")
        #expect(third == "200")
        #expect(lab.storeText("secrets/devices/\(Self.macPath).claimed") == "1\n", "rearmed once")
        // A device the store does not know: 404.
        #expect(try Self.curl(lab, "-X POST -o /dev/null -w '%{http_code}' http://127.0.0.1:\(lab.port)/devices/52-54-00-99-99-99/claim") == "404")
    }

    @Test func ofManyClaimsAtOnceExactlyOneGetsAToken() throws {
        let lab = try Lab(imageMiB: 4, dataEvery: 2)
        defer { lab.finish() }
        let url = "http://127.0.0.1:\(lab.port)/devices/\(Self.macPath)/claim"
        // xargs -P, not `&` and `wait`: a shell spawned from a test thread has SIGCHLD blocked, and dash's wait hangs.
        let codes = try lab.store.shellOutput("seq 12 | xargs -P 12 -I{} curl -s -m 10 -X POST -o /dev/null -w '%{http_code}\\n' \(url)")
        let list = codes.split(separator: "\n").map(String.init)
        #expect(list.count == 12)
        #expect(list.filter { $0 == "200" }.count == 1, "\(list)")
        #expect(list.filter { $0 == "409" }.count == 11, "\(list)")
    }

    @Test func theAgentClaimsDeploysAndIsRefusedASecondTime() throws {
        let lab = try Lab(imageMiB: 4, dataEvery: 2)
        defer { lab.finish() }
        let first = try DeployHostTests.agent(["--disk", try lab.disk(mib: 8), "--identity", lab.identity])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("claim: this device's token claimed from"), "\(first.stdout)")
        // Reports went in with the claimed token.
        #expect(lab.storeText("reports/\(Self.macPath)/status.json").contains("\"phase\": \"done\""))
        let again = try DeployHostTests.agent(["--disk", try lab.disk(mib: 8, name: "disk2.img"), "--identity", lab.identity])
        #expect(again.status == 1)
        #expect(again.stderr.contains("refused this device's token claim") && again.stderr.contains("imprint device rearm 52:54:00:12:34:56"), "\(again.stderr)")
        #expect(lab.file("disk2.img") == Data(count: 8 << 20), "not a byte written")
        try lab.rearm()
        let rearmed = try DeployHostTests.agent(["--disk", try lab.disk(mib: 8, name: "disk2.img"), "--identity", lab.identity])
        #expect(rearmed.status == 0, "\(rearmed.stderr)")
    }
}
