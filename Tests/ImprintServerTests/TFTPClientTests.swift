import Foundation
import ImprintCore
import Testing

@testable import ImprintServer

/// The server against the clients machines and people use: curl, atftp (the one with windowsize)
/// and tftp-hpa. Each download must be byte-identical to the store's file.
@Suite("TFTP with real clients")
struct TFTPClientTests {
    @Test(arguments: [512, 1468, 8192, 65464])
    func curlAtEveryBlockSize(blksize: Int) async throws {
        let store = try TestStore()
        defer { store.remove() }
        try await withServer(store) { server, log in
            let out = temporaryFile("curl")
            defer { try? FileManager.default.removeItem(atPath: out) }
            let run = try await Run.run("curl", ["-sS", "--tftp-blksize", "\(blksize)", "-o", out,
                                                 "tftp://127.0.0.1:\(server.port)/boot/qemu-virtio/vmlinuz"])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(fileBytes(out) == (try store.bytes("boot/qemu-virtio/vmlinuz")))
            #expect(await log.waitFor { $0.contains("sent boot/qemu-virtio/vmlinuz") && $0.contains("blksize \(blksize)") && $0.contains("3000001 bytes") } != nil, "\(log.all)")
        }
    }

    @Test(arguments: [(1468, 16, 16), (1468, 64, 64), (8192, 16, 12), (65464, 16, 3), (512, 1, 1)])
    func atftpWithWindows(blksize: Int, windowsize: Int, granted: Int) async throws {
        let store = try TestStore()
        defer { store.remove() }
        try await withServer(store) { server, log in
            let out = temporaryFile("atftp")
            defer { try? FileManager.default.removeItem(atPath: out) }
            let run = try await Run.run("atftp", ["--option", "blksize \(blksize)", "--option", "windowsize \(windowsize)",
                                                  "-g", "-r", "boot/qemu-virtio/vmlinuz", "-l", out, "127.0.0.1", "\(server.port)"])
            #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
            #expect(fileBytes(out) == (try store.bytes("boot/qemu-virtio/vmlinuz")))
            // The window is bound by the socket budget (16 x 65464 would overflow atftp's receive buffer).
            let line = await log.waitFor { $0.contains("sent boot/qemu-virtio/vmlinuz") }
            #expect(line?.contains("windowsize \(granted))") == true || line?.contains("windowsize \(granted),") == true, "\(line ?? "no line")")
            #expect(run.seconds < 20, "a stall: \(run.seconds) s")
        }
    }

    @Test func tftpHPAInBinaryAndAscii() async throws {
        let store = try TestStore()
        defer { store.remove() }
        try await withServer(store) { server, log in
            let out = temporaryFile("hpa"), text = temporaryFile("hpa-text")
            defer { for f in [out, text] { try? FileManager.default.removeItem(atPath: f) } }
            let binary = try await Run.run("tftp", ["127.0.0.1", "\(server.port)", "-m", "binary", "-c", "get", "boot/ipxe/undionly.kpxe", out])
            #expect(binary.status == 0, "\(binary.stderr)")
            #expect(fileBytes(out) == (try store.bytes("boot/ipxe/undionly.kpxe")))
            // netascii: the client turns CR LF back into LF and CR NUL into CR, so the file comes back as stored.
            let ascii = try await Run.run("tftp", ["127.0.0.1", "\(server.port)", "-m", "ascii", "-c", "get", "devices/default.ipxe", text])
            #expect(ascii.status == 0, "\(ascii.stderr)")
            #expect(fileBytes(text) == (try store.bytes("devices/default.ipxe")))
            #expect(await log.waitFor { $0.contains("sent devices/default.ipxe") && $0.contains("mode netascii") } != nil, "\(log.all)")
        }
    }

    @Test func emptyAndWholeBlockFiles() async throws {
        let store = try TestStore()
        defer { store.remove() }
        try await withServer(store) { server, _ in
            for (name, blksize) in [("boot/empty", 512), ("boot/exact", 512), ("boot/exact", 8192)] {
                let out = temporaryFile("edge")
                defer { try? FileManager.default.removeItem(atPath: out) }
                let run = try await Run.run("curl", ["-sS", "--tftp-blksize", "\(blksize)", "-o", out, "tftp://127.0.0.1:\(server.port)/\(name)"])
                #expect(run.status == 0, "\(name): \(run.stderr)")
                let want = try store.bytes(name)
                #expect(fileBytes(out) ?? [1] == want, "\(name) at \(blksize)")
            }
        }
    }

    @Test func sixteenConcurrentClientsGetIdenticalBytes() async throws {
        let store = try TestStore()
        defer { store.remove() }
        let expected = try store.bytes("boot/qemu-virtio/vmlinuz")
        try await withServer(store) { server, log in
            let outs = (0..<16).map { temporaryFile("c\($0)") }
            defer { for f in outs { try? FileManager.default.removeItem(atPath: f) } }
            let runs = try await withThrowingTaskGroup(of: (Int, Run).self) { group in
                for (i, out) in outs.enumerated() {
                    group.addTask {
                        // Alternate clients and settings: a mix is what a rack of booting machines looks like.
                        let run = i % 2 == 0
                            ? try await Run.run("curl", ["-sS", "--tftp-blksize", "1468", "-o", out, "tftp://127.0.0.1:\(server.port)/boot/qemu-virtio/vmlinuz"])
                            : try await Run.run("atftp", ["--option", "blksize 1468", "--option", "windowsize 8", "-g", "-r", "boot/qemu-virtio/vmlinuz", "-l", out, "127.0.0.1", "\(server.port)"])
                        return (i, run)
                    }
                }
                var all: [(Int, Run)] = []
                for try await result in group { all.append(result) }
                return all
            }
            for (i, run) in runs {
                #expect(run.status == 0, "client \(i): \(run.stderr)")
                #expect(fileBytes(outs[i]) == expected, "client \(i) got different bytes")
            }
            #expect(await log.waitFor { lines in log.all.filter { $0.contains("tftp: sent boot/qemu-virtio/vmlinuz") }.count == 16 } != nil)
        }
    }

    @Test func aSilentPeerDoesNotStallOthers() async throws {
        let store = try TestStore()
        defer { store.remove() }
        try await withServer(store) { server, log in
            // A peer that asks and never acknowledges holds its transfer for a minute or more...
            let silent = try UDPPeer()
            silent.send(.readRequest(TFTPRequest(filename: "boot/qemu-virtio/vmlinuz", options: [TFTPOption("windowsize", "64"), TFTPOption("timeout", "30")])), to: server.port)
            #expect(silent.receive() != nil)
            // ...while a real client is served at once.
            let out = temporaryFile("other")
            defer { try? FileManager.default.removeItem(atPath: out) }
            let run = try await Run.run("curl", ["-sS", "-o", out, "tftp://127.0.0.1:\(server.port)/boot/ipxe/undionly.kpxe"])
            #expect(run.status == 0)
            #expect(fileBytes(out) == (try store.bytes("boot/ipxe/undionly.kpxe")))
            #expect(!log.all.contains { $0.contains("failed") }, "the silent transfer is still waiting: \(log.all)")
        }
    }

    @Test func rolloverPast32MiBAt512ByteBlocks() async throws {
        // 33 MiB + 100 bytes at blksize 512: 67,585 blocks, so numbers wrap from 65535 to 0.
        let store = try TestStore()
        defer { store.remove() }
        let size = (33 << 20) + 100
        var big = [UInt8](repeating: 0, count: size)
        for i in stride(from: 0, to: size, by: 512) { big[i] = UInt8(truncatingIfNeeded: i >> 9); big[i + 1] = UInt8(truncatingIfNeeded: i >> 17) }
        try store.write("boot/big", big)
        try await withServer(store) { server, log in
            let hpa = temporaryFile("big-hpa"), curl = temporaryFile("big-curl")
            defer { for f in [hpa, curl] { try? FileManager.default.removeItem(atPath: f) } }
            async let a = Run.run("tftp", ["127.0.0.1", "\(server.port)", "-m", "binary", "-c", "get", "boot/big", hpa], timeout: 300)
            async let b = Run.run("curl", ["-sS", "--tftp-blksize", "512", "-o", curl, "tftp://127.0.0.1:\(server.port)/boot/big"], timeout: 300)
            let (ra, rb) = try await (a, b)
            #expect(ra.status == 0, "\(ra.stderr)")
            #expect(rb.status == 0, "\(rb.stderr)")
            #expect(fileBytes(hpa) == big, "tftp-hpa's copy differs")
            #expect(fileBytes(curl) == big, "curl's copy differs")
            #expect(await log.waitFor { lines in log.all.filter { $0.contains("sent boot/big") && $0.contains("\(size) bytes") }.count == 2 } != nil, "\(log.all)")
        }
    }
}
