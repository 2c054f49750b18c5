import ImprintCore

/// Runs Core's `DHCPClient` on several interfaces side by side over one `DHCPSocket`, until the
/// first lease. Used by `ConfigureNetwork` (PID 1: no time limit) and `imprint-agent --dhcp`.
///
/// An interface starts as soon as its link is up (`operstate` `up`, or `unknown` for drivers that
/// report no carrier); past `linkWaitMilliseconds` the rest start anyway, as a wrong `operstate`
/// must not keep a machine from deploying. Every retransmission is logged, so a machine waiting for
/// DHCP says so on its console.
struct DHCPRun {
    var socket: any DHCPSocket
    var clock: any AgentClock
    var log: Log
    /// An interface's link state (`linkState(_:_:)` on a machine), nil when unreadable.
    var operstate: (String) -> String?
    /// Stop after this long without a lease; nil tries for ever.
    var giveUpAfter: UInt64?
    var linkWaitMilliseconds: UInt64 = 3000
    /// How often links are looked at while some are still down.
    var pollMilliseconds: UInt64 = 100
    /// Option 12 in requests.
    var hostName: String?
    /// Seeds each client's transaction ids and jitter (mixed with its MAC).
    var seed: UInt64

    struct Winner {
        var interface: NetworkInterface
        var lease: DHCPLease
        /// From the start of the run to the ACK.
        var milliseconds: UInt64
    }

    private struct Running {
        var interface: NetworkInterface
        var client: DHCPClient
    }

    /// The first lease, or nil when `giveUpAfter` passed or no interface could be used (each logged).
    func run(_ interfaces: [NetworkInterface]) -> Winner? {
        let start = clock.milliseconds()
        var waiting = interfaces
        var running: [Running] = []
        defer { socket.closeAll() }
        while true {
            let now = clock.milliseconds()
            let elapsed = now &- start
            if let giveUpAfter, elapsed >= giveUpAfter {
                log.error("dhcp: no lease on \(names(interfaces)) after \(Self.seconds(elapsed)) s — check that a DHCP server answers on this network")
                return nil
            }
            // Start the interfaces whose link came up (all of them once the link wait is over).
            waiting.removeAll { nic in
                let state = operstate(nic.name) ?? "-"
                let linked = state == "up" || state == "unknown"
                guard linked || elapsed >= linkWaitMilliseconds else { return false }
                if !linked { log.warning("dhcp: \(nic.name) link still \(state) after \(elapsed) ms; trying anyway (check the cable)") }
                if let started = begin(nic, now: now) { running.append(started) }
                return true
            }
            if running.isEmpty && waiting.isEmpty {
                log.error("dhcp: no interface could be used (\(names(interfaces)))")
                return nil
            }
            // Retransmissions that are due.
            for index in running.indices where running[index].client.deadline <= now {
                let actions = running[index].client.timeout(now: now)
                if let winner = carryOut(actions, &running[index], start: start, now: now) { return winner }
            }
            running.removeAll { $0.client.state == .gaveUp }
            var wake = running.map(\.client.deadline).min() ?? now &+ pollMilliseconds
            if !waiting.isEmpty { wake = min(wake, now &+ pollMilliseconds) }
            if let giveUpAfter { wake = min(wake, start &+ giveUpAfter) }
            let packet: ReceivedPacket?
            do {
                packet = try socket.receive(timeoutMilliseconds: wake > now ? wake - now : 0)
            } catch {
                log.warning("dhcp: \(error)")
                clock.sleep(milliseconds: pollMilliseconds)
                continue
            }
            guard let packet, let index = running.firstIndex(where: { $0.interface.name == packet.interface }),
                  let frame = try? IPv4UDPFrame.parse(packet.bytes, verifyUDPChecksum: !packet.checksumNotReady),
                  let message = try? DHCPMessage.decode(frame.payload) else { continue }
            let actions = running[index].client.receive(message, now: clock.milliseconds())
            if message.messageType == .nak, !actions.isEmpty {
                let text = message.serverMessage.map { ": " + String(decoding: $0.prefix(200), as: UTF8.self) } ?? ""
                log.warning("dhcp: \(packet.interface): NAK from \(DHCPLease.dotted(frame.source))\(text); starting over")
            }
            if let winner = carryOut(actions, &running[index], start: start, now: clock.milliseconds()) { return winner }
        }
    }

    /// Opens the interface's socket and sends its first DISCOVER; nil (logged) when that fails.
    private func begin(_ nic: NetworkInterface, now: UInt64) -> Running? {
        guard let mac = Self.macBytes(nic.mac) else {
            log.warning("dhcp: \(nic.name): MAC '\(nic.mac)' not understood; skipped")
            return nil
        }
        do {
            try socket.open(nic.name)
        } catch {
            log.warning("dhcp: \(nic.name): \(error); skipped")
            return nil
        }
        let macSeed = mac.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let configuration = DHCPClient.Configuration(hardwareAddress: mac, hostName: hostName)
        var running = Running(interface: nic, client: DHCPClient(configuration: configuration, seed: seed ^ macSeed))
        log.info("dhcp: \(nic.name) mac \(nic.mac): DISCOVER")
        _ = carryOut(running.client.start(now: now), &running, start: now, now: now)
        return running
    }

    /// Sends what the client asks, logs its progress; the winner when it is bound.
    private func carryOut(_ actions: [DHCPClient.Action], _ running: inout Running, start: UInt64, now: UInt64) -> Winner? {
        let name = running.interface.name
        for action in actions {
            switch action {
            case let .send(message):
                switch running.client.state {
                case let .selecting(round) where round > 1:
                    log.info("dhcp: \(name): no offer yet (round \(round), next in \(Self.seconds(running.client.lastDelay)) s)")
                case let .requesting(address, server, attempt):
                    let what = "\(DHCPLease.dotted(address)) from \(DHCPLease.dotted(server))"
                    log.info(attempt == 1 ? "dhcp: \(name): offer \(what); REQUEST" : "dhcp: \(name): no answer yet to REQUEST \(what) (try \(attempt))")
                default:
                    break
                }
                guard let packet = IPv4UDPFrame.dhcpClientBroadcast(message.bytes).bytes else { continue }
                do {
                    try socket.send(packet, on: name)
                } catch {
                    log.warning("dhcp: \(error); will retry")
                }
            case let .bound(lease):
                return Winner(interface: running.interface, lease: lease, milliseconds: now &- start)
            case let .giveUp(reason):
                log.warning("dhcp: \(name): \(reason)")
            case .wait:
                break
            }
        }
        return nil
    }

    /// `52:54:00:12:34:56` as six bytes; nil when it is not a 6-byte MAC.
    static func macBytes(_ text: String) -> [UInt8]? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 6 else { return nil }
        var bytes: [UInt8] = []
        for part in parts {
            guard part.count == 2, let byte = UInt8(part, radix: 16) else { return nil }
            bytes.append(byte)
        }
        return bytes
    }

    /// `up` when `carrier` says 1, else `operstate`. `carrier` follows the driver at once, while
    /// `operstate` lags by up to a second (the kernel's link watch), a second every boot would wait.
    static func linkState(_ fs: any FileSystem, _ name: String) -> String? {
        fs.readValue("/sys/class/net/\(name)/carrier") == "1" ? "up" : fs.readValue("/sys/class/net/\(name)/operstate")
    }

    /// Milliseconds as seconds, whole ones as such (`8`), others to a tenth (`1.2`, `0.0`).
    static func seconds(_ milliseconds: UInt64) -> String {
        if milliseconds % 1000 == 0 { return "\(milliseconds / 1000)" }
        let tenths = (milliseconds + 50) / 100
        return "\(tenths / 10).\(tenths % 10)"
    }

    /// Milliseconds as seconds to a tenth, for durations: `1.2`, `0.0`.
    static func tenths(_ milliseconds: UInt64) -> String {
        let tenths = (milliseconds + 50) / 100
        return "\(tenths / 10).\(tenths % 10)"
    }

    private func names(_ interfaces: [NetworkInterface]) -> String {
        interfaces.map(\.name).joined(separator: ", ")
    }
}

