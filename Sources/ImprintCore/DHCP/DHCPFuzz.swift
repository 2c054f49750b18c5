/// What the DHCP fuzz target (`Fuzz/DHCPDecode.swift`) and the corpus replay test run on each input:
/// every pure step the agent takes on a received packet. It must never trap, whatever the bytes.
public enum DHCPFuzz {
    public static func run(_ bytes: [UInt8]) {
        // As a packet off the wire: IPv4 and UDP first (the low bit of the first byte decides whether the
        // UDP checksum is checked, as the kernel's TP_STATUS_CSUMNOTREADY does), then the DHCP payload.
        if let frame = try? IPv4UDPFrame.parse(bytes, verifyUDPChecksum: (bytes.first ?? 0) & 1 == 0) {
            precondition(frame.destinationPort == IPv4UDPFrame.dhcpClientPort, "parse let another port through")
            if let again = frame.bytes {
                precondition((try? IPv4UDPFrame.parse(again)) == frame, "re-framing changed the datagram")
            }
            message(frame.payload)
        }
        // As a bare UDP payload.
        message(bytes)
    }

    static func message(_ bytes: [UInt8]) {
        guard let message = try? DHCPMessage.decode(bytes) else { return }
        // A decoded message re-encodes to bytes that decode to the same message.
        precondition((try? DHCPMessage.decode(message.bytes)) == message, "re-encoding changed the message")
        _ = (message.messageType, message.subnetMask, message.routers, message.domainNameServers, message.hostName,
             message.domainName, message.requestedAddress, message.leaseSeconds, message.serverIdentifier,
             message.parameterRequestList, message.serverMessage, message.maximumMessageSize, message.clientIdentifier)
        let lease = DHCPLease(ack: message, server: message.siaddr)
        _ = lease.description
        if let prefix = lease.prefixLength { precondition((0...32).contains(prefix), "prefix out of range") }

        // A client that takes the message for its own: the message as an OFFER, then as itself.
        var client = DHCPClient(configuration: .init(hardwareAddress: message.hardwareAddress, giveUpAfter: 60_000),
                                seed: UInt64(message.xid))
        var now: UInt64 = 0
        _ = client.start(now: now)
        var reply = message
        reply.op = DHCPMessage.bootReply
        reply.xid = client.xid
        var offer = reply
        offer.setOption(DHCPOption.messageType, [DHCPMessageType.offer.rawValue])
        for (index, candidate) in [offer, reply, reply].enumerated() {
            now += UInt64(message.secs) * 10
            let actions = index == 2 ? client.timeout(now: now) : client.receive(candidate, now: now)
            for action in actions {
                switch action {
                case let .send(sent):
                    precondition(sent.xid == client.xid && sent.op == DHCPMessage.bootRequest, "sent a stranger's message")
                    precondition((try? DHCPMessage.decode(sent.bytes)) == sent, "a sent message does not decode")
                case let .bound(bound):
                    precondition(bound.address != 0, "bound to 0.0.0.0")
                case .wait, .giveUp:
                    break
                }
            }
        }
    }
}
