import Testing

@testable import ImprintCore

/// The client state machine driven by a fake clock (plain milliseconds) and no socket.
@Suite("DHCP client state machine")
struct DHCPClientTests {
    static let mac: [UInt8] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56]
    static let server: UInt32 = 0x0A00_0202
    static let offered: UInt32 = 0x0A00_020F

    /// A client with no jitter, so every deadline is exact.
    static func client(giveUpAfter: UInt64? = nil, hostName: String? = nil) -> DHCPClient {
        var configuration = DHCPClient.Configuration(hardwareAddress: mac, hostName: hostName, giveUpAfter: giveUpAfter)
        configuration.maximumJitter = 0
        return DHCPClient(configuration: configuration, seed: 42)
    }

    /// What QEMU's user-networking server would answer to `request`.
    static func reply(_ type: DHCPMessageType, to request: DHCPMessage, server: UInt32 = server,
                      xid: UInt32? = nil, chaddr: [UInt8]? = nil) -> DHCPMessage {
        var reply = DHCPMessage(op: DHCPMessage.bootReply, xid: xid ?? request.xid, yiaddr: type == .nak ? 0 : offered,
                                chaddr: chaddr ?? request.chaddr)
        reply.options = [DHCPOption(DHCPOption.messageType, [type.rawValue]), .address(DHCPOption.serverIdentifier, server)]
        if type != .nak {
            reply.options += [.address(DHCPOption.subnetMask, 0xFFFF_FF00), .address(DHCPOption.router, server),
                              .address(DHCPOption.domainNameServer, 0x0A00_0203), .address(DHCPOption.leaseTime, 86400)]
        }
        return reply
    }

    static func sent(_ actions: [DHCPClient.Action]) -> DHCPMessage? {
        for case let .send(message) in actions { return message }
        return nil
    }

    static func waits(_ actions: [DHCPClient.Action]) -> UInt64? {
        for case let .wait(until) in actions { return until }
        return nil
    }

    @Test("DISCOVER, OFFER, REQUEST with 50 and 54, ACK: bound")
    func happyPath() throws {
        var client = Self.client(hostName: "host01")
        let start = client.start(now: 1000)
        let discover = try #require(Self.sent(start))
        #expect(Self.waits(start) == 2000)
        #expect(discover.op == DHCPMessage.bootRequest && discover.xid == client.xid && client.xid != 0)
        #expect(discover.messageType == .discover)
        #expect(discover.broadcast)
        #expect(discover.hardwareAddress == Self.mac)
        #expect(discover.clientIdentifier == [1] + Self.mac)
        #expect(discover.parameterRequestList == [1, 3, 6, 12, 15, 51, 54])
        #expect(discover.maximumMessageSize == 1500)
        #expect(discover.hostName == Array("host01".utf8))
        #expect(discover.requestedAddress == nil && discover.serverIdentifier == nil)
        #expect(client.state == .selecting(round: 1))

        let afterOffer = client.receive(Self.reply(.offer, to: discover), now: 1200)
        let request = try #require(Self.sent(afterOffer))
        #expect(request.messageType == .request)
        #expect(request.xid == discover.xid)
        #expect(request.requestedAddress == Self.offered)
        #expect(request.serverIdentifier == Self.server)
        #expect(request.ciaddr == 0)
        #expect(Self.waits(afterOffer) == 2200)
        #expect(client.state == .requesting(address: Self.offered, server: Self.server, attempt: 1))

        let bound = client.receive(Self.reply(.ack, to: request), now: 1300)
        let lease = DHCPLease(address: Self.offered, netmask: 0xFFFF_FF00, router: Self.server, dnsServers: [0x0A00_0203],
                              leaseSeconds: 86400, serverIdentifier: Self.server)
        #expect(bound == [.bound(lease)])
        #expect(client.state == .bound(lease))
        #expect(client.timeout(now: 100_000).isEmpty, "a bound client does nothing more (no renewal)")
        #expect(client.receive(Self.reply(.nak, to: request), now: 1400).isEmpty)
    }

    @Test("lost OFFERs: DISCOVER again after 1, 2, 4, 8, 16 s, then every 30 s, same xid, secs counting")
    func lostOffers() throws {
        var client = Self.client()
        var now: UInt64 = 0
        let first = try #require(Self.sent(client.start(now: now)))
        var gaps: [UInt64] = []
        for round in 2...9 {
            let deadline = client.deadline
            gaps.append(deadline - now)
            now = deadline
            let actions = client.timeout(now: now)
            let again = try #require(Self.sent(actions))
            #expect(again.xid == first.xid)
            #expect(again.secs == UInt16(now / 1000))
            #expect(client.state == .selecting(round: round))
        }
        #expect(gaps == [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000])
        #expect(client.lastDelay == 30000)
    }

    @Test("a timeout before the deadline only waits again")
    func earlyTimeout() {
        var client = Self.client()
        _ = client.start(now: 0)
        #expect(client.timeout(now: 999) == [.wait(until: 1000)])
        #expect(client.state == .selecting(round: 1))
    }

    @Test("jitter: within a quarter of the wait and at most 1 s, the same for the same seed")
    func jitter() {
        func deadlines(seed: UInt64) -> [UInt64] {
            var client = DHCPClient(configuration: .init(hardwareAddress: Self.mac), seed: seed)
            var now: UInt64 = 0
            var gaps: [UInt64] = []
            _ = client.start(now: now)
            for _ in 0..<8 {
                gaps.append(client.deadline - now)
                now = client.deadline
                _ = client.timeout(now: now)
            }
            return gaps
        }
        let gaps = deadlines(seed: 7)
        #expect(gaps == deadlines(seed: 7))
        #expect(gaps != deadlines(seed: 8))
        for (gap, base) in zip(gaps, [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000] as [UInt64]) {
            let spread = min(1000, base / 4)
            #expect(gap >= base - spread && gap <= base + spread, "jitter out of bounds")
        }
    }

    @Test("another transaction's, another client's, or a request's message is ignored")
    func ignoresStrangers() throws {
        var client = Self.client()
        let discover = try #require(Self.sent(client.start(now: 0)))
        #expect(client.receive(Self.reply(.offer, to: discover, xid: discover.xid &+ 1), now: 10).isEmpty)
        #expect(client.receive(Self.reply(.offer, to: discover, chaddr: [0x52, 0x54, 0, 0, 0, 1]), now: 10).isEmpty)
        var ownEcho = Self.reply(.offer, to: discover)
        ownEcho.op = DHCPMessage.bootRequest
        #expect(client.receive(ownEcho, now: 10).isEmpty)
        #expect(client.receive(Self.reply(.ack, to: discover), now: 10).isEmpty, "an ACK before any REQUEST")
        var noServer = Self.reply(.offer, to: discover)
        noServer.setOption(DHCPOption.serverIdentifier, nil)
        #expect(client.receive(noServer, now: 10).isEmpty, "an OFFER naming no server at all")
        #expect(client.state == .selecting(round: 1))
        noServer.siaddr = Self.server
        #expect(Self.sent(client.receive(noServer, now: 10))?.serverIdentifier == Self.server, "siaddr stands in for option 54")
        #expect(client.receive(Self.reply(.offer, to: discover, server: 0x0A00_0009), now: 20).isEmpty, "a second OFFER")
        #expect(client.receive(Self.reply(.ack, to: discover, server: 0x0A00_0009), now: 20).isEmpty, "another server's ACK")
    }

    @Test("lost ACKs: REQUEST four times, then start over with a new xid")
    func lostAcks() throws {
        var client = Self.client()
        let discover = try #require(Self.sent(client.start(now: 0)))
        _ = client.receive(Self.reply(.offer, to: discover), now: 100)
        var now: UInt64 = 100
        var attempts = [1]
        for _ in 0..<3 {
            now = client.deadline
            let request = try #require(Self.sent(client.timeout(now: now)))
            #expect(request.messageType == .request && request.xid == discover.xid)
            if case let .requesting(_, _, attempt) = client.state { attempts.append(attempt) }
        }
        #expect(attempts == [1, 2, 3, 4])
        now = client.deadline
        let restart = try #require(Self.sent(client.timeout(now: now)))
        #expect(restart.messageType == .discover)
        #expect(restart.xid != discover.xid)
        #expect(client.state == .selecting(round: 1))
        // The old transaction's ACK comes too late.
        #expect(client.receive(Self.reply(.ack, to: discover), now: now + 1).isEmpty)
    }

    @Test("NAK: wait 1 s, then a new DISCOVER with a new xid; the next NAK waits 2 s")
    func nak() throws {
        var client = Self.client()
        let discover = try #require(Self.sent(client.start(now: 0)))
        let request = try #require(Self.sent(client.receive(Self.reply(.offer, to: discover), now: 10)))
        #expect(client.receive(Self.reply(.nak, to: request, server: 0x0A00_0009), now: 20).isEmpty, "another server's NAK")
        #expect(client.receive(Self.reply(.nak, to: request), now: 20) == [.wait(until: 1020)])
        #expect(client.state == .restarting)
        #expect(client.timeout(now: 500) == [.wait(until: 1020)])
        let again = try #require(Self.sent(client.timeout(now: 1020)))
        #expect(again.messageType == .discover && again.xid != discover.xid)
        let second = try #require(Self.sent(client.receive(Self.reply(.offer, to: again), now: 1030)))
        #expect(client.receive(Self.reply(.nak, to: second), now: 1040) == [.wait(until: 3040)])
    }

    @Test("give up after the configured time, whatever the state; then nothing")
    func givesUp() throws {
        var client = Self.client(giveUpAfter: 10_000)
        _ = client.start(now: 5000)
        var now: UInt64 = 5000
        var sends = 0
        var last: [DHCPClient.Action] = []
        while client.state != .gaveUp {
            now = client.deadline
            last = client.timeout(now: now)
            if Self.sent(last) != nil { sends += 1 }
        }
        #expect(now == 15_000, "the last wait is cut to the limit")
        #expect(sends == 3, "DISCOVERs at +1, +3 and +7 s")
        #expect(last == [.giveUp("no lease after 10 s")])
        #expect(client.timeout(now: now + 50_000).isEmpty)
        #expect(client.start(now: now).isEmpty)
    }
}
