/// A DHCPv4 client for one interface as a value-type state machine (RFC 2131 section 4.4): it is
/// given messages and the time, and returns what to do. The caller owns the socket and the clock.
///
/// INIT -> SELECTING (DISCOVER, retransmitted with backoff) -> REQUESTING (REQUEST with options 50
/// and 54, retransmitted) -> BOUND on ACK; a NAK, or a REQUEST never answered, starts over with a new
/// transaction id. There is no RENEWING or REBINDING: the agent lives minutes, far less than any
/// lease, and a lease it outlives changes nothing until the next boot.
public struct DHCPClient: Sendable {
    public struct Configuration: Sendable {
        /// The interface's MAC (6 bytes): `chaddr` and the client identifier (option 61, type 1).
        public var hardwareAddress: [UInt8]
        /// Option 12 in DISCOVER and REQUEST, so the server can register the name; nil sends none.
        public var hostName: String?
        /// Waits after each DISCOVER of a round, in milliseconds; past the last, `maximumDelay`.
        public var backoff: [UInt64] = [1000, 2000, 4000, 8000, 16000]
        /// No wait is longer than this (the agent keeps trying at this pace for ever).
        public var maximumDelay: UInt64 = 30_000
        /// Each wait is moved by up to this much either way (RFC 2131 section 4.1: +-1 s), and by no
        /// more than a quarter of the wait.
        public var maximumJitter: UInt64 = 1000
        /// REQUESTs sent for one OFFER before starting over.
        public var requestAttempts = 4
        /// Stop with `.giveUp` this long after `start`; nil never gives up.
        public var giveUpAfter: UInt64?
        /// Ask servers to broadcast replies (flags bit 15). Not needed by a packet socket, which sees
        /// unicast to its MAC too, but kind to relays and switches that learn nothing from an
        /// unconfigured client; QEMU's server broadcasts either way.
        public var broadcast = true

        public init(hardwareAddress: [UInt8], hostName: String? = nil, giveUpAfter: UInt64? = nil) {
            self.hardwareAddress = hardwareAddress
            self.hostName = hostName
            self.giveUpAfter = giveUpAfter
        }
    }

    public enum State: Equatable, Sendable {
        case idle
        /// DISCOVER number `round` of this attempt was sent; waiting for an OFFER.
        case selecting(round: Int)
        /// REQUEST number `attempt` for `address` from `server` was sent; waiting for ACK or NAK.
        case requesting(address: UInt32, server: UInt32, attempt: Int)
        /// After a NAK: waiting to start over.
        case restarting
        case bound(DHCPLease)
        case gaveUp
    }

    public enum Action: Equatable, Sendable {
        /// Broadcast this message (UDP 68 to 67).
        case send(DHCPMessage)
        /// Call `timeout(now:)` at this time, unless a message comes first.
        case wait(until: UInt64)
        case bound(DHCPLease)
        /// The configured time ran out; the reason is for the log.
        case giveUp(String)
    }

    /// The options asked for in option 55: 1, 3, 6, 12, 15, 51, 54.
    public static let requestedOptions: [UInt8] = [
        DHCPOption.subnetMask, DHCPOption.router, DHCPOption.domainNameServer, DHCPOption.hostName,
        DHCPOption.domainName, DHCPOption.leaseTime, DHCPOption.serverIdentifier,
    ]

    public let configuration: Configuration
    public private(set) var state = State.idle
    public private(set) var xid: UInt32 = 0
    /// When `timeout(now:)` is next due.
    public private(set) var deadline: UInt64 = 0
    /// The last wait chosen, in milliseconds, before jitter (for the log: "next in 8 s").
    public private(set) var lastDelay: UInt64 = 0
    private var random: SplitMix64
    private var started: UInt64 = 0
    /// NAKs so far: the wait before starting over grows with them, so a server that NAKs every
    /// REQUEST is not asked in a tight loop.
    private var naks = 0

    /// `seed` drives transaction ids and jitter: a fixed one makes a run repeatable.
    public init(configuration: Configuration, seed: UInt64) {
        self.configuration = configuration
        random = SplitMix64(seed: seed)
    }

    /// Sends the first DISCOVER.
    public mutating func start(now: UInt64) -> [Action] {
        guard state == .idle else { return [] }
        started = now
        xid = nextXid()
        return discover(round: 1, now: now)
    }

    /// Handles a message received on the interface; messages for another transaction, another
    /// client, or not expected in this state are ignored (no actions).
    public mutating func receive(_ message: DHCPMessage, now: UInt64) -> [Action] {
        guard message.op == DHCPMessage.bootReply, message.xid == xid,
              message.hardwareAddress == Array(configuration.hardwareAddress.prefix(16)),
              let type = message.messageType else { return [] }
        switch (state, type) {
        case (.selecting, .offer):
            guard message.yiaddr != 0, let server = message.serverIdentifier ?? (message.siaddr != 0 ? message.siaddr : nil) else {
                return []
            }
            return request(address: message.yiaddr, server: server, attempt: 1, now: now)
        case let (.requesting(_, server, _), .ack):
            guard message.yiaddr != 0, message.serverIdentifier.map({ $0 == server }) ?? true else { return [] }
            let lease = DHCPLease(ack: message, server: server)
            state = .bound(lease)
            return [.bound(lease)]
        case let (.requesting(_, server, _), .nak):
            guard message.serverIdentifier.map({ $0 == server }) ?? true else { return [] }
            naks += 1
            state = .restarting
            return [wait(delay(index: naks - 1), now: now)]
        default:
            return []
        }
    }

    /// The wait ran out: retransmit, move on, or give up. Early calls do nothing but wait again.
    public mutating func timeout(now: UInt64) -> [Action] {
        switch state {
        case .idle, .bound, .gaveUp:
            return []
        default:
            break
        }
        if let limit = configuration.giveUpAfter, now &- started >= limit {
            state = .gaveUp
            return [.giveUp("no lease after \(limit / 1000) s")]
        }
        guard now >= deadline else { return [.wait(until: deadline)] }
        switch state {
        case let .selecting(round):
            return discover(round: round + 1, now: now)
        case let .requesting(address, server, attempt):
            if attempt < configuration.requestAttempts {
                return request(address: address, server: server, attempt: attempt + 1, now: now)
            }
            xid = nextXid()
            return discover(round: 1, now: now)
        case .restarting:
            xid = nextXid()
            return discover(round: 1, now: now)
        case .idle, .bound, .gaveUp:
            return []
        }
    }

    private mutating func discover(round: Int, now: UInt64) -> [Action] {
        state = .selecting(round: round)
        var message = base(now: now)
        message.options = [DHCPOption(DHCPOption.messageType, [DHCPMessageType.discover.rawValue])] + commonOptions
        return [.send(message), wait(delay(index: round - 1), now: now)]
    }

    private mutating func request(address: UInt32, server: UInt32, attempt: Int, now: UInt64) -> [Action] {
        state = .requesting(address: address, server: server, attempt: attempt)
        var message = base(now: now)
        message.options = [
            DHCPOption(DHCPOption.messageType, [DHCPMessageType.request.rawValue]),
            .address(DHCPOption.requestedAddress, address),
            .address(DHCPOption.serverIdentifier, server),
        ] + commonOptions
        return [.send(message), wait(delay(index: attempt - 1), now: now)]
    }

    private func base(now: UInt64) -> DHCPMessage {
        var message = DHCPMessage(op: DHCPMessage.bootRequest, hlen: UInt8(min(configuration.hardwareAddress.count, 16)), xid: xid,
                                  secs: UInt16(min((now &- started) / 1000, 0xFFFF)), chaddr: configuration.hardwareAddress)
        message.broadcast = configuration.broadcast
        return message
    }

    private var commonOptions: [DHCPOption] {
        var options = [
            DHCPOption(DHCPOption.clientIdentifier, [1] + configuration.hardwareAddress),
            DHCPOption(DHCPOption.maximumMessageSize, DHCPBytes.bigEndian(UInt16(1500))),
            DHCPOption(DHCPOption.parameterRequestList, Self.requestedOptions),
        ]
        if let name = configuration.hostName, !name.isEmpty { options.append(DHCPOption(DHCPOption.hostName, Array(name.utf8.prefix(255)))) }
        return options
    }

    /// The wait after the `index`-th send (0-based), before jitter.
    public func delay(index: Int) -> UInt64 {
        let schedule = configuration.backoff
        let base = index < schedule.count ? schedule[max(index, 0)] : configuration.maximumDelay
        return min(base, configuration.maximumDelay)
    }

    private mutating func wait(_ delay: UInt64, now: UInt64) -> Action {
        lastDelay = delay
        let spread = min(configuration.maximumJitter, delay / 4)
        var jittered = delay
        if spread > 0 {
            let offset = random.next() % (2 * spread + 1)
            jittered = delay - spread + offset
        }
        deadline = now &+ jittered
        if let limit = configuration.giveUpAfter { deadline = min(deadline, started &+ limit) }
        return .wait(until: deadline)
    }

    private mutating func nextXid() -> UInt32 {
        var id: UInt32 = 0
        while id == 0 { id = UInt32(truncatingIfNeeded: random.next()) }
        return id
    }
}

/// A small, fast, seedable generator (Steele, Lea and Flood's SplitMix64): the client's randomness
/// is injected as a seed so tests and fuzzing repeat exactly.
struct SplitMix64: Sendable {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
