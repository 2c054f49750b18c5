import ImprintCore

/// The deploy (DESIGN section 6): fetch the assignment and the image descriptor, check the
/// disk before writing, stream the image onto it verifying the blob's digest, customize the
/// deployed system, report `done`. On a machine a failure is reported and the whole deploy is
/// tried again after `deployRetrySeconds`, forever; in host mode the first failure ends it.
public struct Deploy: BootStep {
    public var hostMode: Bool

    public init(hostMode: Bool = false) {
        self.hostMode = hostMode
    }

    public var description: String { "deploy the assigned image" }

    public func run(_ context: AgentContext) throws(AgentError) {
        if !hostMode {
            guard context.commandLine.mode != .probe else { return }
            // ConfigureNetwork said why there is no network.
            guard context.configuredInterface != nil || context.commandLine.offline else { return }
        }
        if let failure = context.claimFailure {
            fail(failure, context)
            return
        }
        var identity: Identity?
        if case .present(let present) = context.identity { identity = present }
        let macText = identity?.mac ?? context.configuredInterface?.mac
        guard let macText, let mac = try? MACAddress(parsing: macText) else {
            fail(DeployFailure(.assignment, "no MAC address to deploy as", hint: "give an identity (imprint device add) or check the NIC", retryable: false), context)
            return
        }
        let servers = context.serverOverride.map { reportServers(identity: nil, commandLine: $0, profile: nil) }
            ?? reportServers(identity: identity, commandLine: context.commandLine.server, profile: context.profile?.server)
        guard !servers.isEmpty else {
            fail(DeployFailure(.assignment, "no server to fetch the assignment from",
                               hint: "give the identity \"servers\" (imprint device add --server), or imprint.server= on the kernel command line", retryable: false), context)
            return
        }
        let manifestKey: [UInt8]
        switch ManifestKeySource.resolve(context, identity: identity, hostMode: hostMode) {
        case .success(let key): manifestKey = key
        case .failure(let failure):
            fail(failure, context)
            return
        }
        let reporter = DeployReporter(mac: mac, servers: servers, token: identity?.token, http: context.http, clock: context.clock,
                                      wallClock: context.wallClock, log: context.log, retry: context.retry)
        if let network = context.networkMilliseconds { reporter.record("network", milliseconds: network) }
        var session = DeploySession(context: context, reporter: reporter, mac: mac, servers: servers, token: identity?.token, manifestKey: manifestKey, hostMode: hostMode)
        var attempt = 0
        while true {
            attempt += 1
            do throws(DeployFailure) {
                if session.token == nil, try session.assignmentNeedsToken() {
                    // A discovered machine the operator has added since: claim its token now.
                    switch TokenClaim.claim(mac: mac, servers: servers, context: context, hostMode: hostMode) {
                    case .success(let token):
                        session = DeploySession(context: context, reporter: reporter, mac: mac, servers: servers, token: token, manifestKey: manifestKey, hostMode: hostMode)
                        reporter.token = token
                    case .failure(let failure): throw failure
                    }
                }
                let assignment = try session.deploy()
                context.deployedAfter = assignment.after
                context.outcome = assignment.mode == .capture ? "captured" : "deployed"
                return
            } catch {
                context.log.error(error.description)
                reporter.failed(error)
                if hostMode || context.deployAttempts.map({ attempt >= $0 }) == true {
                    context.deployFailure = error
                    context.outcome = "deploy failed"
                    return
                }
                context.log.info("the deploy will be tried again in \(context.deployRetrySeconds) s (fix the cause above; nothing is marked done)")
                context.clock.sleep(milliseconds: context.deployRetrySeconds * 1000)
            }
        }
    }

    private func fail(_ failure: DeployFailure, _ context: AgentContext) {
        context.log.error(failure.description)
        context.deployFailure = failure
        context.outcome = "deploy failed"
    }
}
