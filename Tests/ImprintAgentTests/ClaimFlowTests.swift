import ImprintAgent
import ImprintCore
import Testing

/// The agent's side of token claims against a scripted server: an identity without a token claims
/// before anything else and uses the answer; a refused claim stops the deploy with the reason; a
/// discovered machine (no identity) that the store now asks a token of claims one, then fetches its
/// assignment with it.
@Suite struct ClaimFlowTests {
    /// Answers by method and path; records every request with its `Authorization`.
    final class ScriptedStore: HTTPClient {
        var answers: [String: [(Int, String)]] = [:]
        private(set) var requests: [String] = []

        func answer(_ method: String, _ path: String, _ status: Int, _ body: String = "") {
            answers["\(method) \(path)", default: []].append((status, body))
        }

        private func respond(_ method: String, _ url: String, _ headers: [String]) -> (HTTPOutcome, [UInt8]) {
            let path = String(url.dropFirst("http://store".count))
            let auth = headers.first { $0.hasPrefix("Authorization: Bearer ") }.map { " [" + $0.dropFirst("Authorization: Bearer ".count).prefix(8) + "]" } ?? ""
            requests.append("\(method) \(path)\(auth)")
            guard var queue = answers["\(method) \(path)"], !queue.isEmpty else { return (HTTPOutcome(status: 404), []) }
            let (status, body) = queue.count > 1 ? queue.removeFirst() : queue[0]
            answers["\(method) \(path)"] = queue
            return (HTTPOutcome(status: status), Array(body.utf8))
        }

        func put(url: String, body: [UInt8], headers: [String], connectTimeoutSeconds: Int, totalTimeoutSeconds: Int) -> HTTPOutcome {
            respond("PUT", url, headers).0
        }

        func get(url: String, headers: [String], connectTimeoutSeconds: Int, totalTimeoutSeconds: Int, maximumBytes: Int) -> (HTTPOutcome, [UInt8]) {
            respond("GET", url, headers)
        }

        func post(url: String, headers: [String], connectTimeoutSeconds: Int, totalTimeoutSeconds: Int, maximumBytes: Int) -> (HTTPOutcome, [UInt8]) {
            respond("POST", url, headers)
        }
    }

    static let token = String(repeating: "ab", count: 32)
    static let claimPath = "/devices/52-54-00-12-34-56/claim"
    static let assignmentPath = "/devices/52-54-00-12-34-56/assignment.json"

    /// The context, and the fake root that must outlive it (its folder goes with it).
    static func context(identity: IdentityStatus, store: ScriptedStore) -> (AgentContext, FakeRoot) {
        let root = FakeRoot()
        root.write("key.pub", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n")
        let context = makeContext(root)
        context.identity = identity
        context.http = store
        context.serverOverride = "http://store"
        context.manifestKeyFile = "/key.pub"
        context.configuredInterface = NetworkInterface(name: "eth0", mac: "52:54:00:12:34:56", driver: "virtio_net", link: .up)
        context.retry = RetryPolicy(attempts: 1, backoffSeconds: [0], connectTimeoutSeconds: 1, totalTimeoutSeconds: 1)
        return (context, root)
    }

    @Test func anIdentityWithoutATokenClaimsFirstAndUsesIt() throws {
        let store = ScriptedStore()
        store.answer("POST", Self.claimPath, 200, DeviceClaim.answer(token: Self.token))
        let (context, root) = Self.context(identity: .present(Identity(mac: "52:54:00:12:34:56", servers: ["http://store"])), store: store)
        try ClaimToken(hostMode: true).run(context)
        guard case .present(let identity) = context.identity else { Issue.record("no identity"); return }
        #expect(identity.token == Self.token)
        #expect(store.requests == ["POST \(Self.claimPath)"])
        try withExtendedLifetime(root) { try Deploy(hostMode: true).run(context) }
        // Its status reports and the assignment's GET carry the claimed token.
        let fetches = store.requests.filter { !$0.hasPrefix("PUT ") }
        #expect(fetches.dropFirst().first == "GET \(Self.assignmentPath) [abababab]", "\(store.requests)")
        #expect(store.requests.filter { $0.hasPrefix("PUT ") }.allSatisfy { $0.hasSuffix("[abababab]") }, "\(store.requests)")
    }

    @Test func aRefusedClaimStopsTheDeployWithTheReason() throws {
        let store = ScriptedStore()
        store.answer("POST", Self.claimPath, 409)
        let (context, root) = Self.context(identity: .present(Identity(mac: "52:54:00:12:34:56", servers: ["http://store"])), store: store)
        try ClaimToken(hostMode: true).run(context)
        try withExtendedLifetime(root) { try Deploy(hostMode: true).run(context) }
        #expect(context.deployFailure?.what.contains("refused this device's token claim") == true, "\(String(describing: context.deployFailure))")
        #expect(context.deployFailure?.hint.contains("imprint device rearm 52:54:00:12:34:56") == true)
        #expect(store.requests == ["POST \(Self.claimPath)"], "nothing fetched without a token: \(store.requests)")
    }

    @Test func aDiscoveredMachineClaimsWhenTheStoreAsksForItsToken() throws {
        let store = ScriptedStore()
        store.answer("GET", Self.assignmentPath, 401)
        store.answer("POST", Self.claimPath, 200, DeviceClaim.answer(token: Self.token))
        let (context, root) = Self.context(identity: .absent, store: store)
        try withExtendedLifetime(root) { try Deploy(hostMode: true).run(context) }
        #expect(Array(store.requests.filter { !$0.hasPrefix("PUT ") }.prefix(3)) == ["GET \(Self.assignmentPath)", "POST \(Self.claimPath)", "GET \(Self.assignmentPath) [abababab]"],
                "\(store.requests)")
    }
}
