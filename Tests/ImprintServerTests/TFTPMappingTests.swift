import Foundation
import Glibc
import ImprintCore
import Testing

@testable import ImprintServer

/// Large blocks go to `sendmsg` from a mapping of the file. A file cut short under the transfer
/// must end it with "read error", never crash the server (SIGBUS) and never send a short block.
@Suite struct TFTPMappingTests {
    @Test func aFileCutShortUnderALargeBlockTransferEndsWithReadError() async throws {
        let store = try TestStore()
        defer { store.remove() }
        let bytes = TestStore.pattern(count: 65464 * 5 + 100, seed: 9)
        try store.write("boot/big", bytes)
        try await withServer(store) { server, log in
            let peer = try UDPPeer()
            peer.send(.readRequest(TFTPRequest(filename: "boot/big", options: [TFTPOption("blksize", "65464")])), to: server.port)
            let oack = try #require(peer.receive())
            #expect(oack.packet == .optionAck([TFTPOption("blksize", "65464")]))
            peer.send(.ack(block: 0), to: oack.port)
            let first = try #require(peer.receive())
            #expect(first.packet == .data(block: 1, payload: Array(bytes.prefix(65464))), "block 1 from the mapping")
            // Cut the file in the middle of block 2 (and past the page block 1 ended in).
            #expect(truncate("\(store.root)/boot/big", 65464 + 10_000) == 0)
            peer.send(.ack(block: 1), to: oack.port)
            let reply = try #require(peer.receive())
            guard case let .error(code, message)? = reply.packet else {
                Issue.record("expected ERROR read error, got \(String(describing: reply.packet)) (\(reply.raw.count) bytes)")
                return
            }
            #expect(code == .notDefined && message == "read error")
            #expect(await log.waitFor { $0.contains("tftp: failed boot/big") && $0.contains("could not be read at offset 65464") } != nil)
            // The server lives on: a new request for the file, now short, gets its first block.
            let again = try UDPPeer()
            again.send(.readRequest(TFTPRequest(filename: "boot/big", options: [TFTPOption("blksize", "65464")])), to: server.port)
            let oack2 = try #require(again.receive())
            again.send(.ack(block: 0), to: oack2.port)
            #expect(again.receive()?.packet == .data(block: 1, payload: Array(bytes.prefix(65464))))
        }
    }

    /// What the server counts on when a file is cut between its size check and the send: the kernel
    /// reading a mapped page past the new end fails `sendmsg` with EFAULT and sends nothing; no
    /// SIGBUS reaches the process, as it would if user code read that page.
    @Test func sendmsgFromAMappedPagePastTheEndFailsWithEFAULT() throws {
        let (source, _, root) = try TFTPReadAheadTests.source(size: 65536 * 2)
        defer { try? FileManager.default.removeItem(at: root) }
        let mapping = try #require(TFTPMapping(source))
        #expect(mapping.isWhole)
        #expect(truncate(root.appendingPathComponent("boot/file").path, 4096) == 0)
        #expect(!mapping.isWhole, "the size check sees the cut")
        let receiver = try UDPPeer(receiveTimeoutMilliseconds: 300)
        let sender = try UDPPeer()
        var address = UDPPeer.loopback(port: receiver.port)
        var piece = iovec(iov_base: UnsafeMutableRawPointer(mutating: mapping.bytes.baseAddress! + 65536), iov_len: 8192)
        let (sent, code) = withUnsafeMutablePointer(to: &address) { name in
            withUnsafeMutablePointer(to: &piece) { pieces in
                var message = msghdr(msg_name: UnsafeMutableRawPointer(name), msg_namelen: socklen_t(MemoryLayout<sockaddr_in>.size),
                                     msg_iov: pieces, msg_iovlen: 1, msg_control: nil, msg_controllen: 0, msg_flags: 0)
                let sent = sendmsg(sender.fd, &message, 0)
                return (sent, errno)
            }
        }
        #expect(sent == -1 && code == EFAULT, "sendmsg gave \(sent), errno \(code)")
        #expect(receiver.receive() == nil, "nothing was sent")
    }
}
