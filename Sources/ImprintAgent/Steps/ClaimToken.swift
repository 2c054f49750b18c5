import ImprintCore

/// Claims the device's token (docs/security.md "Tokens"): an identity served over PXE carries none,
/// so before its first report the agent `POST`s `devices/<mac>/claim` and keeps the answer in memory.
/// A claim the store refuses (claimed already: an earlier boot, or someone else) is said on every
/// console; on a machine it is asked again every `deployRetrySeconds` until the operator runs
/// `imprint device rearm`, in host mode the deploy fails with it.
public struct ClaimToken: BootStep {
    public var hostMode: Bool

    public init(hostMode: Bool = false) {
        self.hostMode = hostMode
    }

    public var description: String { "claim the device's token" }

    public func run(_ context: AgentContext) throws(AgentError) {
        guard case .present(var identity) = context.identity, identity.token == nil else { return }
        if !hostMode {
            guard context.commandLine.mode != .probe, context.configuredInterface != nil, !context.commandLine.offline else { return }
        }
        guard let mac = try? MACAddress(parsing: identity.mac) else { return }
        let servers = context.serverOverride.map { reportServers(identity: nil, commandLine: $0, profile: nil) }
            ?? reportServers(identity: identity, commandLine: context.commandLine.server, profile: context.profile?.server)
        // An offline stick's folder store has no claims, and needs no token.
        guard !servers.isEmpty, !servers.allSatisfy({ $0.hasPrefix("file://") }) else { return }
        switch TokenClaim.claim(mac: mac, servers: servers, context: context, hostMode: hostMode) {
        case .success(let token):
            identity.token = token
            context.identity = .present(identity)
        case .failure(let failure):
            context.claimFailure = failure
        }
    }
}

/// The claim request, shared by ``ClaimToken`` and a discovered machine's deploy once it is added.
enum TokenClaim {
    static func claim(mac: MACAddress, servers: [String], context: AgentContext, hostMode: Bool) -> Result<String, DeployFailure> {
        let policy = context.retry
        var attempt = 0
        while true {
            attempt += 1
            var last = HTTPOutcome(status: 0, transportError: "not tried")
            for server in servers where !server.hasPrefix("file://") {
                let url = "\(server)/devices/\(mac.hyphenated)/claim"
                let (outcome, body) = context.http.post(url: url, headers: [], connectTimeoutSeconds: policy.connectTimeoutSeconds,
                                                        totalTimeoutSeconds: policy.totalTimeoutSeconds, maximumBytes: 4096)
                if outcome.succeeded, let token = DeviceClaim.token(inAnswer: String(decoding: body, as: UTF8.self)) {
                    context.log.info("claim: this device's token claimed from \(server) (kept in memory only)")
                    return .success(token)
                }
                last = outcome
                if outcome.transportError == nil && (outcome.status == 409 || outcome.status == 404) { break }
                context.log.warning("claim: POST \(url): \(outcome.description)")
            }
            let refused = last.transportError == nil && last.status == 409
            let unknown = last.transportError == nil && last.status == 404
            let failure: DeployFailure
            if refused {
                failure = DeployFailure(.assignment, "the store refused this device's token claim: it was claimed already (by an earlier boot of this machine, or by someone else)",
                                        hint: "if that was not this machine, find out who; then imprint device rearm \(mac.colon)", retryable: false)
            } else if unknown {
                failure = DeployFailure(.assignment, "the store has no device \(mac.colon) to claim a token for", hint: "imprint device add \(mac.colon) --profile P --image NAME", retryable: false)
            } else {
                failure = DeployFailure(.assignment, "could not claim this device's token (last: \(last.description))",
                                        hint: "check that the server (\(servers.joined(separator: ", "))) runs and is reachable")
            }
            if hostMode {
                context.log.error(failure.description)
                return .failure(failure)
            }
            if refused || unknown {
                context.log.error("\(failure.description); asking again in \(context.deployRetrySeconds) s")
                context.clock.sleep(milliseconds: context.deployRetrySeconds * 1000)
            } else if let attempts = context.deployAttempts, attempt >= attempts * max(1, policy.attempts) {
                context.log.error(failure.description)
                return .failure(failure)
            } else {
                context.clock.sleep(milliseconds: UInt64(policy.backoff(afterAttempt: min(attempt, policy.attempts))) * 1000)
            }
            if let attempts = context.deployAttempts, attempt >= attempts { return .failure(failure) }
        }
    }
}
