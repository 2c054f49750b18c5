import ImprintCore

/// PUTs `reports/<mac>/status.json` (phase `booted`) and `inventory.json` to
/// the store with libcurl, retried (see ``RetryPolicy/reports``). A failure is
/// an ERROR line saying what to check, never fatal. Does nothing with
/// `imprint.mode=probe` unless `hostMode`, which also needs no configured network.
public struct SendBootReports: BootStep {
    public var hostMode: Bool

    public init(hostMode: Bool = false) {
        self.hostMode = hostMode
    }

    public var description: String { "send the booted report and the inventory" }

    public func run(_ context: AgentContext) throws(AgentError) {
        if !hostMode {
            guard context.commandLine.mode != .probe else { return }
            // ConfigureNetwork said why.
            guard context.configuredInterface != nil else { return }
        }
        var identity: Identity?
        switch context.identity {
        case .present(let present): identity = present
        case .absent: context.log.warning("no identity: reporting as a discovered machine, without a token")
        case .invalid(let reason): context.log.warning("identity refused (\(reason)): reporting without a token")
        }
        let inventory = Inventory.gather(from: context.fs)
        let macText = identity?.mac ?? context.configuredInterface?.mac ?? chooseInterface(inventory.interfaces, identityMAC: nil)?.mac
        guard let macText, let mac = try? MACAddress(parsing: macText) else {
            context.log.error("no MAC address to report as (\(macText ?? "no identity and no NIC")) — check the identity file")
            context.outcome = "no report sent"
            return
        }
        let servers = context.serverOverride.map { reportServers(identity: nil, commandLine: $0, profile: nil) }
            ?? reportServers(identity: identity, commandLine: context.commandLine.server, profile: context.profile?.server)
        guard !servers.isEmpty else {
            context.log.error("no server to report to — give the identity \"servers\" (imprint device add --server), or imprint.server= on the kernel command line")
            context.outcome = "no report sent"
            return
        }
        context.log.info("report as \(mac.hyphenated) to \(servers.joined(separator: " "))\(identity?.token == nil ? " (no token)" : "")")
        let headers = reportHeaders(token: identity?.token)
        let status = BootReports.booted(mac: mac, updated: UTCTime.format(epochSeconds: context.wallClock()))
        let inventoryJSON = BootReports.inventory(mac: mac, inventory: inventory, dmi: DMIInfo.gather(from: context.fs),
                                                  pci: PCIDevice.gather(from: context.fs))
        let base = "reports/\(mac.hyphenated)/"
        // Without a token the store takes only a discovered machine's inventory (docs/http.md): a
        // status PUT would be refused with 401 on every try.
        var statusOutcome: HTTPOutcome?
        if identity?.token == nil {
            context.log.info("no token: sending only the inventory, as a discovered machine may")
        } else {
            statusOutcome = upload(base + "status.json", status, servers: servers, headers: headers, context: context)
        }
        let statusSent = statusOutcome?.succeeded ?? true
        var inventoryOutcome: HTTPOutcome?
        if statusSent || statusOutcome?.transportError == nil {
            inventoryOutcome = upload(base + "inventory.json", inventoryJSON, servers: servers, headers: headers, context: context)
        }
        if statusSent && inventoryOutcome?.succeeded == true {
            context.reportsSent = true
            context.outcome = statusOutcome == nil ? "inventory sent" : "booted report sent"
            context.log.info(statusOutcome == nil ? "reported the inventory" : "reported booted and the inventory")
            return
        }
        let failed = (statusSent ? inventoryOutcome : statusOutcome) ?? HTTPOutcome(status: 0, transportError: "not tried")
        let name = statusSent ? "inventory.json" : "status.json"
        context.log.error("could not PUT \(name) after \(context.retry.attempts) tries (last: \(failed.description)) — \(hint(failed, servers: servers))")
        context.outcome = "report failed"
    }

    private func hint(_ outcome: HTTPOutcome, servers: [String]) -> String {
        switch outcome.status {
        case 401, 403: return "check the device token (the identity's must match the store's; imprint device add --force makes a new pair)"
        case 404: return "check the server URL (\(servers.joined(separator: ", "))) is an imprint store"
        case 0: return "check the server URL (\(servers.joined(separator: ", "))) is reachable from this machine and the server runs"
        default: return "check the server's log and the server URL (\(servers.joined(separator: ", ")))"
        }
    }

    /// Tries each server in order, `attempts` rounds with backoff between them; the last outcome.
    private func upload(_ path: String, _ json: JSONValue, servers: [String], headers: [String], context: AgentContext) -> HTTPOutcome {
        let body = Array((json.serialized(pretty: true) + "\n").utf8)
        let policy = context.retry
        var last = HTTPOutcome(status: 0, transportError: "not tried")
        for attempt in 1...max(1, policy.attempts) {
            for server in servers {
                let url = server + "/" + path
                last = context.http.put(url: url, body: body, headers: headers, connectTimeoutSeconds: policy.connectTimeoutSeconds,
                                        totalTimeoutSeconds: policy.totalTimeoutSeconds)
                if last.succeeded {
                    context.log.info("PUT \(url): \(last.description)")
                    return last
                }
                context.log.warning("PUT \(url) failed (try \(attempt) of \(policy.attempts)): \(last.description)")
            }
            if attempt < policy.attempts {
                context.clock.sleep(milliseconds: UInt64(policy.backoff(afterAttempt: attempt)) * 1000)
            }
        }
        return last
    }
}
