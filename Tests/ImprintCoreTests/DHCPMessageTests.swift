import Testing

@testable import ImprintCore

@Suite("DHCP message codec")
struct DHCPMessageTests {
    static let mac: [UInt8] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56]

    @Test("dnsmasq's OFFER decodes field by field")
    func decodesDnsmasqOffer() throws {
        let bytes = DHCPVectors.dnsmasqOffer
        #expect(bytes.count == 305, "the capture is 305 bytes")
        let offer = try DHCPMessage.decode(bytes)
        #expect(offer.op == DHCPMessage.bootReply)
        #expect(offer.htype == 1 && offer.hlen == 6 && offer.hops == 0)
        #expect(offer.xid == 0x1a2b_3c4d)
        #expect(offer.secs == 0)
        #expect(offer.broadcast)
        #expect(offer.ciaddr == 0 && offer.giaddr == 0)
        #expect(offer.yiaddr == 0xC0A8_4D3A, "192.168.77.58")
        #expect(offer.siaddr == 0xC0A8_4D01)
        #expect(offer.hardwareAddress == Self.mac)
        #expect(offer.sname == [UInt8](repeating: 0, count: 64) && offer.file == [UInt8](repeating: 0, count: 128))
        #expect(offer.messageType == .offer)
        #expect(offer.serverIdentifier == 0xC0A8_4D01)
        #expect(offer.leaseSeconds == 3600)
        #expect(offer.subnetMask == 0xFFFF_FF00)
        #expect(offer.routers == [0xC0A8_4D01])
        #expect(offer.domainNameServers == [0xC0A8_4D01])
        #expect(offer.domainName == Array("lab.example".utf8))
        #expect(offer.hostName == nil)
        #expect(offer.options.map(\.code) == [53, 54, 51, 58, 59, 1, 28, 15, 6, 3], "options in wire order")
    }

    @Test("dnsmasq's ACK is a lease; its NAK carries its reason")
    func decodesAckAndNak() throws {
        let ack = try DHCPMessage.decode(DHCPVectors.dnsmasqAck)
        #expect(ack.messageType == .ack)
        let lease = DHCPLease(ack: ack, server: 0xC0A8_4D01)
        #expect(lease == DHCPLease(address: 0xC0A8_4D3A, netmask: 0xFFFF_FF00, router: 0xC0A8_4D01, dnsServers: [0xC0A8_4D01],
                                   domain: "lab.example", leaseSeconds: 3600, serverIdentifier: 0xC0A8_4D01))
        #expect(lease.description == "192.168.77.58/24 router 192.168.77.1 dns 192.168.77.1 domain lab.example from 192.168.77.1")

        let nak = try DHCPMessage.decode(DHCPVectors.dnsmasqNak)
        #expect(DHCPVectors.dnsmasqNak.count == 300, "padded to the BOOTP minimum")
        #expect(nak.messageType == .nak)
        #expect(nak.xid == 0x5566_7788)
        #expect(nak.yiaddr == 0 && nak.siaddr == 0)
        #expect(nak.serverMessage == Array("wrong network".utf8))
    }

    @Test("re-encoding a real message gives its bytes back", arguments: [
        DHCPVectors.dnsmasqOffer, DHCPVectors.dnsmasqAck, DHCPVectors.dnsmasqNak, DHCPVectors.discoverPayload,
    ])
    func reencodesCaptures(bytes: [UInt8]) throws {
        #expect(try DHCPMessage.decode(bytes).bytes == bytes)
    }

    @Test("a DISCOVER built in Swift is the python client's bytes")
    func encodesDiscover() throws {
        var discover = DHCPMessage(op: DHCPMessage.bootRequest, xid: 0x1a2b_3c4d, chaddr: Self.mac, options: [
            DHCPOption(DHCPOption.messageType, [DHCPMessageType.discover.rawValue]),
            DHCPOption(DHCPOption.clientIdentifier, [1] + Self.mac),
            DHCPOption(DHCPOption.parameterRequestList, DHCPClient.requestedOptions),
        ])
        discover.broadcast = true
        #expect(discover.bytes == DHCPVectors.discoverPayload)
        #expect(try DHCPMessage.decode(DHCPVectors.discoverPayload) == discover)
    }

    @Test("write-then-read round trips", arguments: [0, 1, 2, 3])
    func roundTrips(variant: Int) throws {
        var message = DHCPMessage(op: UInt8(variant % 2 + 1), hops: UInt8(variant), xid: UInt32(variant) &* 0x9E37_79B9,
                                  secs: UInt16(variant * 7), ciaddr: 0x0A00_020F, yiaddr: 0x0A00_0210, siaddr: 0x0A00_0202,
                                  giaddr: 0x0A00_0201, chaddr: Self.mac, sname: Array("server".utf8), file: Array("boot.ipxe".utf8))
        message.broadcast = variant.isMultiple(of: 2)
        message.options = [
            DHCPOption(DHCPOption.messageType, [UInt8(variant + 1)]),
            .address(DHCPOption.requestedAddress, 0x0A00_020F),
            DHCPOption(DHCPOption.maximumMessageSize, [0x05, 0xDC]),
            DHCPOption(DHCPOption.hostName, Array("host01".utf8)),
            DHCPOption(200, Array(repeating: UInt8(variant), count: variant * 60)),
        ]
        let bytes = message.bytes
        #expect(bytes.count >= DHCPMessage.minimumLength)
        let decoded = try DHCPMessage.decode(bytes)
        #expect(decoded == message)
        #expect(decoded.maximumMessageSize == 1500)
        #expect(decoded.requestedAddress == 0x0A00_020F)
        #expect(decoded.bytes == bytes)
    }

    @Test("an option longer than 255 bytes is split, and joined when read (RFC 3396)")
    func longOptions() throws {
        let servers = (0..<100).map { UInt32(0x0A00_0000 + $0) }
        var message = DHCPMessage(op: DHCPMessage.bootReply, xid: 1, chaddr: Self.mac)
        message.setOption(DHCPOption.domainNameServer, servers.flatMap { DHCPBytes.bigEndian($0) })
        let decoded = try DHCPMessage.decode(message.bytes)
        #expect(decoded.options.map(\.data.count) == [255, 145])
        #expect(decoded.domainNameServers == servers)
    }

    @Test("pad is skipped, anything after end ignored, a missing end tolerated")
    func padAndEnd() throws {
        let header = Array(DHCPVectors.dnsmasqOffer.prefix(DHCPMessage.fixedLength))
        let padded = try DHCPMessage.decode(header + [0, 0, 0x35, 0x01, 0x05, 0, 0xFF, 0x35, 0x01, 0x06, 0x03])
        #expect(padded.options == [DHCPOption(53, [5])])
        let unterminated = try DHCPMessage.decode(header + [0x35, 0x01, 0x02])
        #expect(unterminated.messageType == .offer)
        #expect(try DHCPMessage.decode(header).options.isEmpty)
    }

    @Test("malformed messages throw", arguments: [
        ([UInt8](), DHCPDecodeError.tooShort(count: 0)),
        (Array(DHCPVectors.dnsmasqOffer.prefix(239)), .tooShort(count: 239)),
        (Array(DHCPVectors.dnsmasqOffer.prefix(236)) + [99, 130, 83, 98], .badMagicCookie(0x6382_5362)),
        (Array(DHCPVectors.dnsmasqOffer.prefix(240)) + [0x35], .truncatedOption(code: 53, offset: 240)),
        (Array(DHCPVectors.dnsmasqOffer.prefix(240)) + [0x0F, 0x0B, 0x6C], .truncatedOption(code: 15, offset: 240)),
        (Array(DHCPVectors.dnsmasqOffer.prefix(252)), .truncatedOption(code: 51, offset: 249)),
    ])
    func rejects(bytes: [UInt8], error: DHCPDecodeError) {
        #expect(throws: error) { try DHCPMessage.decode(bytes) }
    }

    @Test("typed options of the wrong length read as absent")
    func wrongLengths() {
        var message = DHCPMessage(op: DHCPMessage.bootReply, xid: 1, chaddr: Self.mac)
        message.options = [DHCPOption(53, [5, 5]), DHCPOption(1, [255, 255, 255]), DHCPOption(3, [10, 0, 2, 2, 9]),
                           DHCPOption(54, []), DHCPOption(57, [1]), DHCPOption(53, [])]
        #expect(message.messageType == nil)
        #expect(message.subnetMask == nil)
        #expect(message.routers.isEmpty)
        #expect(message.serverIdentifier == nil)
        #expect(message.maximumMessageSize == nil)
        message.setOption(53, [9])
        #expect(message.messageType == nil, "type 9 is not a DHCPv4 message type")
    }
}

@Suite("DHCP lease")
struct DHCPLeaseTests {
    @Test("names that could break resolv.conf are dropped; trailing NULs are not names")
    func names() {
        #expect(DHCPLease.name(Array("lab.example".utf8)) == "lab.example")
        #expect(DHCPLease.name(Array("lab.example".utf8) + [0]) == "lab.example")
        #expect(DHCPLease.name(Array("lab.example\nnameserver 6.6.6.6".utf8)) == nil)
        #expect(DHCPLease.name(Array("a b".utf8)) == nil)
        #expect(DHCPLease.name([]) == nil)
        #expect(DHCPLease.name([UInt8](repeating: 0x61, count: 254)) == nil)
    }

    @Test("no option 1: the classful mask; a mask with holes prints as a mask")
    func masks() {
        var ack = DHCPMessage(op: DHCPMessage.bootReply, xid: 1, yiaddr: 0x0A00_020F, chaddr: [])
        ack.setOption(DHCPOption.messageType, [5])
        #expect(DHCPLease(ack: ack, server: 0x0A00_0202).netmask == 0xFF00_0000)
        #expect(DHCPLease.classfulMask(0xAC10_0001) == 0xFFFF_0000)
        #expect(DHCPLease.classfulMask(0xC0A8_0101) == 0xFFFF_FF00)
        let odd = DHCPLease(address: 0x0A00_020F, netmask: 0xFF00_FF00, serverIdentifier: 0x0A00_0202)
        #expect(odd.prefixLength == nil)
        #expect(odd.description == "10.0.2.15 netmask 255.0.255.0 router none dns none from 10.0.2.2")
        #expect(DHCPLease(address: 1, netmask: 0, serverIdentifier: 2).prefixLength == 0)
        #expect(DHCPLease(address: 1, netmask: UInt32.max, serverIdentifier: 2).prefixLength == 32)
    }
}
