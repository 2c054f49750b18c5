import Foundation
import ImprintCore
import Testing

@testable import ImprintServer

/// Hostile and malformed requests against a live server, with a raw UDP peer: each gets an ERROR
/// packet (or, for noise, nothing) and a log line, and the server keeps serving.
@Suite("TFTP server safety")
struct TFTPSafetyTests {
    /// tftpd-hpa's seven refusals (`..`, absolute paths, ...) and more: encoded, backslashed,
    /// symlinked out of the store or onto a private file, private trees, control bytes, long names.
    static let corpus: [(String, [UInt8])] = [
        ("dotdot", Array("../etc/passwd".utf8)),
        ("dotdot only", Array("..".utf8)),
        ("absolute outside", Array("/etc/passwd".utf8)),
        ("inner dotdot", Array("boot/../../x".utf8)),
        ("dotdot back into store", Array("boot/../devices/52-54-00-12-34-56/assignment.json".utf8)),
        ("backslashes", Array("..\\..\\etc\\passwd".utf8)),
        ("percent encoded", Array("%2e%2e/%2e%2e/etc/passwd".utf8)),
        ("percent encoded under boot", Array("boot/%2e%2e/%2e%2e/etc/passwd".utf8)),
        ("symlink out of the store", Array("boot/escape".utf8)),
        ("symlink to a private file", Array("boot/assignment".utf8)),
        ("through a symlinked folder", Array("boot/outside-dir/passwd".utf8)),
        ("NUL in the name", Array("boot/kernel".utf8) + [0] + Array("../../etc/passwd".utf8)),
        ("over 255 bytes", Array("boot/".utf8) + [UInt8](repeating: UInt8(ascii: "a"), count: 300)),
        ("secrets", Array("secrets/tokens".utf8)),
        ("incoming", Array("incoming/cap/disk.img".utf8)),
        ("assignment", Array("devices/52-54-00-12-34-56/assignment.json".utf8)),
        ("reports", Array("reports/52-54-00-12-34-56/status.json".utf8)),
        ("a folder", Array("boot/qemu-virtio".utf8)),
        ("missing file", Array("boot/nope".utf8)),
        ("control byte", Array("boot/\u{1B}[2J".utf8)),
    ]

    @Test(arguments: corpus.map(\.0))
    func refusedWithAnErrorPacketAndALogLine(name: String) async throws {
        let item = try #require(Self.corpus.first { $0.0 == name })
        let store = try TestStore()
        defer { store.remove() }
        try await withServer(store) { server, log in
            let peer = try UDPPeer()
            peer.send([0, 1] + item.1 + [0] + Array("octet".utf8) + [0], to: server.port)
            let reply = try #require(peer.receive(), "no answer")
            guard case let .error(code, message)? = reply.packet else {
                Issue.record("expected ERROR, got \(reply.raw.prefix(8))")
                return
            }
            #expect([TFTPErrorCode.fileNotFound, .accessViolation, .illegalOperation].contains(code), "\(code) \(message)")
            #expect(await log.waitFor { $0.contains("refused") && $0.contains("127.0.0.1:\(peer.port)") } != nil, "\(log.all)")
            #expect(!log.all.contains { $0.contains("tftp: sent") })
        }
    }

    @Test func writeRequestsAreAccessViolations() async throws {
        let store = try TestStore()
        defer { store.remove() }
        try await withServer(store) { server, log in
            let peer = try UDPPeer()
            peer.send(.writeRequest(TFTPRequest(filename: "boot/qemu-virtio/vmlinuz")), to: server.port)
            let reply = try #require(peer.receive())
            #expect(reply.packet == .error(.accessViolation, message: "this server is read-only"))
            #expect(await log.waitFor { $0.contains("refused WRQ 'boot/qemu-virtio/vmlinuz'") } != nil)
        }
        #expect(try store.bytes("boot/qemu-virtio/vmlinuz").count == 3_000_001, "the file is untouched")
    }

    @Test func malformedRequestsGetIllegalOperationAndNoiseGetsNothing() async throws {
        let store = try TestStore()
        defer { store.remove() }
        try await withServer(store) { server, _ in
            let peer = try UDPPeer()
            // Noise first: none of it may be answered...
            for junk: [UInt8] in [[], [0], [0, 9, 1, 2], [0, 3, 0, 1, 5], [0, 4, 0, 1], [0, 5, 0, 0, 0x41], [0, 6, 0]] {
                peer.send(junk, to: server.port)
            }
            // ...so the first answer is the one to this good request.
            peer.send(.readRequest(TFTPRequest(filename: "devices/default.ipxe")), to: server.port)
            let first = try #require(peer.receive())
            guard case .data(1, _)? = first.packet else {
                Issue.record("first answer was not DATA 1: \(first.raw.prefix(8))")
                return
            }
            peer.send(.ack(block: 1), to: first.port)

            let malformed: [[UInt8]] = [
                [0, 1] + Array("boot/x".utf8),  // no NUL
                [0, 1] + Array("boot/x\0octet".utf8),  // mode without NUL
                [0, 1] + Array("boot/x\0octet\0blksize\0".utf8),  // option without value
                [0, 1] + Array("boot/x\0binary\0".utf8),  // unknown mode
                [0, 2, 0],  // empty WRQ
            ]
            for packet in malformed {
                peer.send(packet, to: server.port)
                let reply = try #require(peer.receive(), "no answer to \(packet)")
                #expect(reply.packet?.opcode == .error, "\(reply.raw)")
            }
        }
    }

    @Test(arguments: [("blksize", "7", TFTPErrorCode.optionRefused), ("blksize", "x", .optionRefused), ("windowsize", "0", .optionRefused), ("timeout", "300", .optionRefused)])
    func badOptionValuesAreRefusedWithError8(name: String, value: String, code: TFTPErrorCode) async throws {
        let store = try TestStore()
        defer { store.remove() }
        try await withServer(store) { server, _ in
            let peer = try UDPPeer()
            peer.send(.readRequest(TFTPRequest(filename: "boot/kernel", options: [TFTPOption(name, value)])), to: server.port)
            guard case let .error(got, _)? = try #require(peer.receive()).packet else {
                Issue.record("no ERROR")
                return
            }
            #expect(got == code)
        }
    }

    @Test func oversizedBlksizeIsAnsweredWith65464() async throws {
        let store = try TestStore()
        defer { store.remove() }
        try await withServer(store) { server, _ in
            let peer = try UDPPeer()
            peer.send(.readRequest(TFTPRequest(filename: "boot/kernel", options: [TFTPOption("blksize", "100000"), TFTPOption("tsize", "0")])), to: server.port)
            let reply = try #require(peer.receive())
            #expect(reply.packet == .optionAck([TFTPOption("blksize", "65464"), TFTPOption("tsize", "3000001")]))
            #expect(reply.port != server.port, "the transfer answers from a port of its own")
            peer.send(.ack(block: 0), to: reply.port)
            let data = try #require(peer.receive())
            guard case let .data(1, payload)? = data.packet else { Issue.record("no DATA 1"); return }
            #expect(payload.count == 65464)
            #expect(payload == Array(try store.bytes("boot/kernel").prefix(65464)))
        }
    }

    @Test func duplicateAcksNeverSendABlockTwice() async throws {
        // Lockstep by hand, every ACK sent twice: each block must still arrive exactly once.
        let store = try TestStore()
        defer { store.remove() }
        try await withServer(store) { server, log in
            let peer = try UDPPeer(receiveTimeoutMilliseconds: 400)
            peer.send(.readRequest(TFTPRequest(filename: "boot/ipxe/undionly.kpxe", options: [TFTPOption("blksize", "8192")])), to: server.port)
            let oack = try #require(peer.receive())
            peer.send(.ack(block: 0), to: oack.port)
            peer.send(.ack(block: 0), to: oack.port)
            var received: [UInt16] = []
            var file: [UInt8] = []
            while let datagram = peer.receive() {
                guard case let .data(block, payload)? = datagram.packet else { continue }
                received.append(block)
                if block == UInt16(received.count) { file += payload }
                peer.send(.ack(block: block), to: oack.port)
                peer.send(.ack(block: block), to: oack.port)
                if payload.count < 8192 { break }
            }
            #expect(received == Array(1...9), "blocks arrived as \(received)")
            #expect(file == (try store.bytes("boot/ipxe/undionly.kpxe")))
            #expect(await log.waitFor { $0.contains("sent boot/ipxe/undionly.kpxe") && $0.contains("0 resent") } != nil, "\(log.all)")
        }
    }

    @Test func aStrangerWritingToATransferGetsUnknownTransferID() async throws {
        let store = try TestStore()
        defer { store.remove() }
        try await withServer(store) { server, _ in
            let peer = try UDPPeer()
            let stranger = try UDPPeer()
            peer.send(.readRequest(TFTPRequest(filename: "devices/default.ipxe")), to: server.port)
            let first = try #require(peer.receive())
            stranger.send(.ack(block: 1), to: first.port)
            #expect(stranger.receive()?.packet == .error(.unknownTransferID, message: "unknown transfer ID"))
            // The real peer's transfer is unaffected: its ACK finishes it (a one-block file).
            guard case let .data(1, payload)? = first.packet else { Issue.record("no DATA"); return }
            #expect(payload == (try store.bytes("devices/default.ipxe")))
            peer.send(.ack(block: 1), to: first.port)
        }
    }

    @Test func aPeerThatVanishesIsDroppedAfterItsRetransmits() async throws {
        let store = try TestStore()
        defer { store.remove() }
        try await withServer(store, configure: { $0.defaultTimeoutMilliseconds = 100; $0.maxRetransmits = 2 }) { server, log in
            let peer = try UDPPeer(receiveTimeoutMilliseconds: 1500)
            peer.send(.readRequest(TFTPRequest(filename: "boot/kernel")), to: server.port)
            var copies = 0
            while let datagram = peer.receive() {
                if case .data(1, _)? = datagram.packet { copies += 1 }
            }
            #expect(copies == 3, "block 1 sent once and resent twice, then given up")
            #expect(await log.waitFor { $0.contains("failed kernel") || $0.contains("failed boot/qemu-virtio/vmlinuz") } != nil, "\(log.all)")
            #expect(log.all.contains { $0.contains("peer stopped answering") })
        }
    }

    @Test func transfersPastTheBoundAreToldTheServerIsBusy() async throws {
        let store = try TestStore()
        defer { store.remove() }
        try await withServer(store, configure: { $0.maxTransfers = 2 }) { server, log in
            let holders = [try UDPPeer(), try UDPPeer()]
            for holder in holders {
                holder.send(.readRequest(TFTPRequest(filename: "boot/kernel")), to: server.port)
                #expect(holder.receive() != nil)
            }
            let third = try UDPPeer()
            third.send(.readRequest(TFTPRequest(filename: "boot/kernel")), to: server.port)
            guard case let .error(code, message)? = try #require(third.receive()).packet else {
                Issue.record("the third transfer was not refused")
                return
            }
            #expect(code == .notDefined)
            #expect(message.contains("busy"))
            #expect(await log.waitFor { $0.contains("server busy") } != nil)
        }
    }
}
