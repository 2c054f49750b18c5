import Foundation
import Glibc
import ImprintDigest
import Testing

@testable import ImprintServer

/// A main office's store and a site's mirror of it, both real servers on 127.0.0.1, driven by curl.
@Suite(.serialized) struct MirrorServerTests {
    static let siteToken = "branch." + String(repeating: "5a", count: 32)

    /// Central over an `HTTPTestStore` (knowing site `branch`) and a site over an empty folder.
    final class Pair: @unchecked Sendable {
        let central: HTTPTestStore
        let siteRoot: String
        let centralLog = LogLines()
        let siteLog: LogLines
        var centralServer: HTTPServer?
        var siteServer: HTTPServer!
        let blobBytes: [UInt8]
        let blobHex: String

        init(answerAfterBytes: Int = 1 << 20, upstreamURL: String? = nil) async throws {
            central = try HTTPTestStore()
            try FileManager.default.createDirectory(atPath: "\(central.root)/secrets/sites", withIntermediateDirectories: true)
            try central.write("secrets/sites/branch.sha256", Array(SiteToken.storedHash(of: MirrorServerTests.siteToken).utf8))
            blobBytes = TestStore.pattern(count: 3_000_000, seed: 11)
            blobHex = SHA256.hex(of: blobBytes)
            try central.write("blobs/sha256/\(blobHex)", blobBytes)
            siteRoot = central.root + "-site"
            let server = try await central.start(log: centralLog)
            centralServer = server
            let upstream = upstreamURL ?? "http://127.0.0.1:\(server.port)"
            let lines = LogLines()
            siteLog = lines
            var configuration = HTTPServerConfiguration(root: siteRoot, host: "127.0.0.1", port: 0) { lines.append($0) }
            configuration.upstream = MirrorUpstream(url: upstream, siteToken: MirrorServerTests.siteToken)
            configuration.mirrorAnswerAfterBytes = answerAfterBytes
            try MirrorStore.initialise(siteRoot)
            siteServer = try await HTTPServer.start(configuration)
        }

        func centralLines(_ needle: String) -> [String] { centralLog.all.filter { $0.contains(needle) } }

        func finish() async {
            await siteServer.shutdown()
            await centralServer?.shutdown()
            central.remove()
            try? FileManager.default.removeItem(atPath: siteRoot)
        }
    }

    @Test func concurrentRequestsForAMissingBlobShareOneUpstreamGET() async throws {
        let pair = try await Pair(answerAfterBytes: 0)
        let path = "/blobs/sha256/\(pair.blobHex)"
        let results = try await withThrowingTaskGroup(of: CurlResult.self) { group in
            for _ in 0..<5 { group.addTask { try await curl(pair.siteServer, path) } }
            var all: [CurlResult] = []
            for try await result in group { all.append(result) }
            return all
        }
        #expect(results.allSatisfy { $0.status == 200 && $0.body == pair.blobBytes }, "every client gets the whole blob")
        #expect(results.allSatisfy { $0.headers["cache-control"] == "public, max-age=31536000, immutable" })
        #expect(pair.centralLines("GET /blobs/sha256/\(pair.blobHex)").count == 1, "\(pair.centralLog.all)")
        #expect(FileManager.default.contents(atPath: "\(pair.siteRoot)/blobs/sha256/\(pair.blobHex)").map { [UInt8]($0) } == pair.blobBytes)
        // Held now: served without upstream, with a Range too.
        await pair.centralServer?.shutdown()
        pair.centralServer = nil
        let again = try await curl(pair.siteServer, path, ["-H", "Range: bytes=100-199"])
        #expect(again.status == 206 && again.body == Array(pair.blobBytes[100...199]))
        #expect(pair.siteLog.all.contains { $0.contains("SHA-256 verified, kept") }, "\(pair.siteLog.all)")
        await pair.finish()
    }

    @Test func aSiteServingHTTPAndHTTPSFetchesEachBlobOnceForBoth() async throws {
        let pair = try await Pair(answerAfterBytes: 0)
        // A certificate for 127.0.0.1 from openssl, and the site's HTTPS listener on the HTTP one's mirror.
        let folder = pair.siteRoot + ".tls"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let made = try await Run.run("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                                                  "-subj", "/CN=site", "-addext", "subjectAltName=IP:127.0.0.1", "-days", "2",
                                                  "-keyout", folder + "/key.pem", "-out", folder + "/cert.pem"])
        #expect(made.status == 0, "openssl: \(made.stderr)")
        let lines = pair.siteLog
        var configuration = HTTPServerConfiguration(root: pair.siteRoot, host: "127.0.0.1", port: 0) { lines.append($0) }
        configuration.upstream = MirrorUpstream(url: "http://127.0.0.1:\(pair.centralServer!.port)", siteToken: MirrorServerTests.siteToken)
        configuration.mirrorAnswerAfterBytes = 0
        configuration.tls = HTTPServerTLS(certificateChainPEM: try String(contentsOfFile: folder + "/cert.pem", encoding: .utf8),
                                          privateKeyPEM: try String(contentsOfFile: folder + "/key.pem", encoding: .utf8))
        let secure = try await HTTPServer.start(configuration, sharingMirrorOf: pair.siteServer)

        // Three machines on each listener ask for the blob the site does not hold yet, at once.
        let path = "/blobs/sha256/\(pair.blobHex)"
        let results = try await withThrowingTaskGroup(of: CurlResult.self) { group in
            for index in 0..<6 {
                group.addTask {
                    index % 2 == 0
                        ? try await curl(pair.siteServer, path)
                        : try await curl(secure, path, ["--cacert", folder + "/cert.pem"], scheme: "https")
                }
            }
            var all: [CurlResult] = []
            for try await result in group { all.append(result) }
            return all
        }
        #expect(results.allSatisfy { $0.status == 200 && $0.body == pair.blobBytes }, "every client gets the whole blob")
        // One mirror: one fetch upstream. Two (one per listener) would fetch it twice.
        #expect(pair.centralLines("GET \(path)").count == 1, "\(pair.centralLog.all)")
        #expect(pair.siteLog.all.contains { $0.hasPrefix("https: 127.0.0.1:") && $0.contains("GET \(path) 200") }, "\(pair.siteLog.all)")
        await secure.shutdown()
        await pair.finish()
    }

    @Test func filesAreRevalidatedByETagAndServedLocallyWhenUpstreamIsDown() async throws {
        let pair = try await Pair()
        let first = try await curl(pair.siteServer, "/boot/p/vmlinuz")
        #expect(first.status == 200 && first.body == pair.central.kernel)
        let second = try await curl(pair.siteServer, "/boot/p/vmlinuz")
        #expect(second.status == 200 && second.body == pair.central.kernel)
        #expect(pair.centralLines("GET /boot/p/vmlinuz 304").count == 1, "the second request is a 304 upstream: \(pair.centralLog.all)")
        // Changed at central: the site serves the new bytes.
        try pair.central.write("boot/p/vmlinuz.new", Array("new kernel".utf8))
        rename("\(pair.central.root)/boot/p/vmlinuz.new", "\(pair.central.root)/boot/p/vmlinuz")
        #expect(try await curl(pair.siteServer, "/boot/p/vmlinuz").text == "new kernel")
        // Gone at central: gone at the site.
        #expect(try await curl(pair.siteServer, "/devices/\(HTTPTestStore.mac)/boot.ipxe").status == 200)
        // Upstream down: the local copy, and 502 for what the site never held.
        await pair.centralServer?.shutdown()
        pair.centralServer = nil
        let offline = try await curl(pair.siteServer, "/boot/p/vmlinuz")
        #expect(offline.status == 200 && offline.text == "new kernel")
        #expect(pair.siteLog.all.contains { $0.contains("boot/p/vmlinuz: upstream unreachable") }, "\(pair.siteLog.all)")
        #expect(try await curl(pair.siteServer, "/images/never.json").status == 502)
        #expect(try await curl(pair.siteServer, "/blobs/sha256/\(String(repeating: "0", count: 64))").status == 502)
        await pair.finish()
    }

    @Test func aFileRemovedUpstreamIsRemovedAtTheSite() async throws {
        let pair = try await Pair()
        #expect(try await curl(pair.siteServer, "/devices/\(HTTPTestStore.mac)/boot.ipxe").status == 200)
        unlink("\(pair.central.root)/devices/\(HTTPTestStore.mac)/boot.ipxe")
        #expect(try await curl(pair.siteServer, "/devices/\(HTTPTestStore.mac)/boot.ipxe").status == 404)
        #expect(!FileManager.default.fileExists(atPath: "\(pair.siteRoot)/devices/\(HTTPTestStore.mac)/boot.ipxe"))
        await pair.finish()
    }

    @Test func aCorruptBlobUpstreamIsRefusedAndNeverKept() async throws {
        let pair = try await Pair()
        var bad = pair.blobBytes
        bad[1000] ^= 0xff
        try pair.central.write("blobs/sha256/\(pair.blobHex)", bad)
        // Larger than answerAfterBytes: streamed, and cut before its last byte.
        let cut = try? await curl(pair.siteServer, "/blobs/sha256/\(pair.blobHex)")
        #expect(cut == nil || cut?.body != bad, "a client never gets the whole wrong blob")
        #expect(!FileManager.default.fileExists(atPath: "\(pair.siteRoot)/blobs/sha256/\(pair.blobHex)"))
        #expect(pair.siteLog.all.contains { $0.contains("refused: SHA-256 mismatch") && $0.contains("not kept") }, "\(pair.siteLog.all)")
        // A small corrupt blob is fetched whole first: a clean 502.
        let small = Array("small blob\n".utf8)
        let smallHex = SHA256.hex(of: small)
        try pair.central.write("blobs/sha256/\(smallHex)", Array("smalL blob\n".utf8))
        let refused = try await curl(pair.siteServer, "/blobs/sha256/\(smallHex)")
        #expect(refused.status == 502)
        #expect(!FileManager.default.fileExists(atPath: "\(pair.siteRoot)/blobs/sha256/\(smallHex)"))
        // Repaired upstream: the next request fetches it again and keeps it.
        try pair.central.write("blobs/sha256/\(smallHex)", small)
        #expect(try await curl(pair.siteServer, "/blobs/sha256/\(smallHex)").body == small)
        #expect(FileManager.default.fileExists(atPath: "\(pair.siteRoot)/blobs/sha256/\(smallHex)"))
        let partials = (try? FileManager.default.contentsOfDirectory(atPath: "\(pair.siteRoot)/blobs/sha256").filter { $0.hasPrefix(".") }) ?? ["?"]
        #expect(partials.isEmpty, "no temporary file left: \(partials)")
        await pair.finish()
    }

    @Test(arguments: [
        ("HTML", "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 15\r\n\r\n<html>hi</html>", "HTML"),
        ("error", "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n", "upstream answered 503"),
        ("truncated", "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000\r\n\r\nonly this", "cut short"),
    ])
    func aBadUpstreamIsA502AndNothingIsKept(kind: String, answer: String, logged: String) async throws {
        let fake = try FakeUpstream(answer: answer)
        defer { fake.stop() }
        let pair = try await Pair(upstreamURL: "http://127.0.0.1:\(fake.port)")
        let hex = String(repeating: "ab", count: 32)
        let blob = try await curl(pair.siteServer, "/blobs/sha256/\(hex)")
        #expect(blob.status == 502, "\(kind)")
        #expect(!FileManager.default.fileExists(atPath: "\(pair.siteRoot)/blobs/sha256/\(hex)"))
        #expect(pair.siteLog.all.contains { $0.contains("blobs/sha256/\(hex)") && $0.contains(logged) }, "\(pair.siteLog.all)")
        let file = try await curl(pair.siteServer, "/images/x.json")
        #expect(file.status == 502, "\(kind)")
        #expect(!FileManager.default.fileExists(atPath: "\(pair.siteRoot)/images/x.json"))
        await pair.finish()
    }

    @Test func aWrongSiteTokenIsRefusedExceptForBlobs() async throws {
        let pair = try await Pair()
        guard let central = pair.centralServer else { return }
        let wrong = "branch." + String(repeating: "00", count: 32)
        #expect(try await curl(central, "/boot/p/vmlinuz", ["-H", "Imprint-Site: \(wrong)"]).status == 403)
        #expect(try await curl(central, "/boot/p/vmlinuz", ["-H", "Imprint-Site: nobody." + String(repeating: "00", count: 32)]).status == 403)
        #expect(try await curl(central, "/boot/p/vmlinuz", ["-H", "Imprint-Site: \(Self.siteToken)"]).status == 200)
        let blob = try await curl(central, "/blobs/sha256/\(pair.blobHex)", ["-H", "Imprint-Site: \(wrong)"])
        #expect(blob.status == 200 && blob.headers["cache-control"] == "public, max-age=31536000, immutable")
        #expect(try await curl(central, "/boot/p/vmlinuz").status == 200, "no site header: an ordinary request")
        await pair.finish()
    }

    @Test func reportsAreStoredAtTheSiteAndForwardedWithTheDevicesToken() async throws {
        let pair = try await Pair()
        let status = #"{"version": 1, "mac": "52:54:00:12:34:56", "phase": "done"}"#
        let put = try await curl(pair.siteServer, "/reports/\(HTTPTestStore.mac)/status.json",
                                 ["-X", "PUT", "-H", "Authorization: Bearer \(HTTPTestStore.token)", "--data-binary", status])
        #expect(put.status == 204)
        #expect(FileManager.default.contents(atPath: "\(pair.siteRoot)/reports/\(HTTPTestStore.mac)/status.json").map { String(decoding: $0, as: UTF8.self) } == status)
        let centralCopy = "\(pair.central.root)/reports/\(HTTPTestStore.mac)/status.json"
        for _ in 0..<100 where !FileManager.default.fileExists(atPath: centralCopy) { try await Task.sleep(nanoseconds: 50_000_000) }
        #expect(FileManager.default.contents(atPath: centralCopy).map { String(decoding: $0, as: UTF8.self) } == status)
        // A wrong token: the site stores it, central refuses it, the site drops it and says why.
        let wrong = try await curl(pair.siteServer, "/reports/\(HTTPTestStore.mac)/log.txt",
                                   ["-X", "PUT", "-H", "Authorization: Bearer \(String(repeating: "1", count: 64))", "--data-binary", "x"])
        #expect(wrong.status == 204)
        for _ in 0..<100 where !pair.siteLog.all.contains(where: { $0.contains("refused reports/") }) { try await Task.sleep(nanoseconds: 50_000_000) }
        #expect(pair.siteLog.all.contains { $0.contains("refused reports/\(HTTPTestStore.mac)/log.txt with 403") }, "\(pair.siteLog.all)")
        #expect(!FileManager.default.fileExists(atPath: "\(pair.central.root)/reports/\(HTTPTestStore.mac)/log.txt"))
        // No token at all: 401 at the site.
        #expect(try await curl(pair.siteServer, "/reports/\(HTTPTestStore.mac)/status.json", ["-X", "PUT", "--data-binary", status]).status == 401)
        await pair.finish()
    }

    @Test func reportsWaitWhileUpstreamIsDownAndGoOnceItIsBack() async throws {
        let pair = try await Pair()
        guard let central = pair.centralServer else { return }
        let port = central.port
        await central.shutdown()
        pair.centralServer = nil
        let status = #"{"version": 1, "mac": "52:54:00:12:34:56", "phase": "streaming"}"#
        let put = try await curl(pair.siteServer, "/reports/\(HTTPTestStore.mac)/status.json",
                                 ["-X", "PUT", "-H", "Authorization: Bearer \(HTTPTestStore.token)", "--data-binary", status])
        #expect(put.status == 204)
        for _ in 0..<100 where !pair.siteLog.all.contains(where: { $0.contains("not forwarded") }) { try await Task.sleep(nanoseconds: 50_000_000) }
        #expect(pair.siteLog.all.contains { $0.contains("not forwarded (upstream unreachable") }, "\(pair.siteLog.all)")
        // Central back on the same port: the report arrives within the backoff.
        pair.centralServer = try await pair.central.start(log: pair.centralLog) { $0.port = port }
        let centralCopy = "\(pair.central.root)/reports/\(HTTPTestStore.mac)/status.json"
        for _ in 0..<200 where !FileManager.default.fileExists(atPath: centralCopy) { try await Task.sleep(nanoseconds: 50_000_000) }
        #expect(FileManager.default.contents(atPath: centralCopy).map { String(decoding: $0, as: UTF8.self) } == status)
        await pair.finish()
    }
}

/// A one-answer HTTP server on 127.0.0.1: every connection gets `answer`, then is closed.
final class FakeUpstream: @unchecked Sendable {
    let fd: CInt
    let port: Int
    private let thread: Thread

    init(answer: String) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var one: CInt = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<CInt>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, listen(fd, 16) == 0 else { throw SetupError("fake upstream: cannot listen") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        port = Int(UInt16(bigEndian: address.sin_port))
        let listener = fd
        thread = Thread {
            while true {
                let client = accept(listener, nil, nil)
                guard client >= 0 else { return }
                var request = [UInt8](repeating: 0, count: 65536)
                _ = read(client, &request, request.count)
                let bytes = Array(answer.utf8)
                _ = write(client, bytes, bytes.count)
                close(client)
            }
        }
        thread.start()
    }

    func stop() {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }
}
