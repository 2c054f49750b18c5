import Foundation
import Glibc
import Testing

@testable import ImprintServer

@Suite("HTTP server, driven by curl")
struct HTTPServerTests {
    @Test("HEAD and GET of a whole file: Content-Length, ETag, the bytes")
    func wholeFile() async throws {
        let store = try HTTPTestStore()
        defer { store.remove() }
        let log = LogLines()
        let server = try await store.start(log: log)
        defer { Task { await server.shutdown() } }

        let head = try await curl(server, "/boot/p/vmlinuz", ["-I"])
        #expect(head.status == 200)
        #expect(head.headers["content-length"] == "100000")
        #expect(head.headers["etag"]?.hasPrefix("\"") == true)
        #expect(head.headers["accept-ranges"] == "bytes")
        #expect(head.headers["cache-control"] == nil)

        let get = try await curl(server, "/boot/p/vmlinuz")
        #expect(get.status == 200)
        #expect(get.headers["content-length"] == "100000")
        #expect(Bool(get.body == store.kernel))
        #expect(get.headers["etag"] == head.headers["etag"])

        // A link inside the store to a served file is followed.
        let linked = try await curl(server, "/boot/kernel")
        #expect(linked.status == 200)
        #expect(Bool(linked.body == store.kernel))

        let empty = try await curl(server, "/boot/empty")
        #expect(empty.status == 200)
        #expect(empty.headers["content-length"] == "0")
        #expect(empty.body.isEmpty)

        let line = await log.waitFor { $0.contains("GET /boot/p/vmlinuz 200 100000") }
        #expect(line?.hasPrefix("http: 127.0.0.1:") == true)
    }

    @Test("Range: first bytes, suffix, open end, unsatisfiable, multi-range answered whole")
    func ranges() async throws {
        let store = try HTTPTestStore()
        defer { store.remove() }
        let server = try await store.start(log: LogLines())
        defer { Task { await server.shutdown() } }

        let first = try await curl(server, "/boot/p/vmlinuz", ["-H", "Range: bytes=0-9"])
        #expect(first.status == 206)
        #expect(first.headers["content-range"] == "bytes 0-9/100000")
        #expect(first.headers["content-length"] == "10")
        #expect(first.body == Array(store.kernel[0..<10]))

        let suffix = try await curl(server, "/boot/p/vmlinuz", ["-H", "Range: bytes=-5"])
        #expect(suffix.status == 206)
        #expect(suffix.headers["content-range"] == "bytes 99995-99999/100000")
        #expect(suffix.body == Array(store.kernel[99_995...]))

        let open = try await curl(server, "/boot/p/vmlinuz", ["-H", "Range: bytes=5-"])
        #expect(open.status == 206)
        #expect(open.headers["content-range"] == "bytes 5-99999/100000")
        #expect(Bool(open.body == Array(store.kernel[5...])))

        let clipped = try await curl(server, "/boot/p/vmlinuz", ["-H", "Range: bytes=99990-200000"])
        #expect(clipped.status == 206)
        #expect(clipped.body == Array(store.kernel[99_990...]))

        let past = try await curl(server, "/boot/p/vmlinuz", ["-H", "Range: bytes=100000-"])
        #expect(past.status == 416)
        #expect(past.headers["content-range"] == "bytes */100000")
        #expect(past.body.isEmpty)

        let zeroSuffix = try await curl(server, "/boot/p/vmlinuz", ["-H", "Range: bytes=-0"])
        #expect(zeroSuffix.status == 416)

        let multi = try await curl(server, "/boot/p/vmlinuz", ["-H", "Range: bytes=0-1,5-6"])
        #expect(multi.status == 200)
        #expect(Bool(multi.body == store.kernel))

        // If-Range with another ETag: the whole file, so a resumed download never mixes versions.
        let stale = try await curl(server, "/boot/p/vmlinuz", ["-H", "Range: bytes=0-9", "-H", "If-Range: \"old\""])
        #expect(stale.status == 200)
        #expect(stale.body.count == 100_000)
    }

    @Test("404 for missing files and directories; the store is never listed")
    func notFound() async throws {
        let store = try HTTPTestStore()
        defer { store.remove() }
        let log = LogLines()
        let server = try await store.start(log: log)
        defer { Task { await server.shutdown() } }

        for path in ["/boot/missing", "/boot", "/boot/", "/", "/blobs/sha256", "/devices/\(HTTPTestStore.mac)"] {
            let result = try await curl(server, path)
            #expect(result.status == 404, "\(path)")
            #expect(result.body.isEmpty, "\(path)")
        }
        #expect(await log.waitFor { $0.contains("GET /boot 404") } != nil)
    }

    @Test("Traversal corpus: nothing outside the store, nor incoming/ or secrets/, is ever served")
    func traversal() async throws {
        let store = try HTTPTestStore()
        defer { store.remove() }
        let log = LogLines()
        let server = try await store.start(log: log)
        defer { Task { await server.shutdown() } }

        let corpus = [
            "/../etc/passwd", "/%2e%2e/etc/passwd", "/%2E%2E/%2E%2E/etc/passwd", "//etc/passwd",
            "/boot/..%2f..%2fetc/passwd", "/boot/%2e%2e/%2e%2e/outside.txt", "/boot/../../outside.txt",
            "/boot/escape", "/boot/etc/passwd", "/boot/secret", "/boot/./p/vmlinuz", "/boot%5c..%5c..%5coutside.txt",
            "/boot/p/vmlinuz%00", "/secrets/devices/\(HTTPTestStore.mac).sha256", "/secrets/devices/x.sha256",
            "/%73ecrets/devices/\(HTTPTestStore.mac).sha256", "/incoming/x", "/incoming/cap/disk.img",
            "/images/.partial", "/boot/%zz", "/boot/p/../../secrets/devices/\(HTTPTestStore.mac).sha256",
        ]
        for path in corpus {
            let result = try await curl(server, path)
            #expect(result.status == 404 || result.status == 400, "\(path): \(result.status)")
            #expect(!result.text.contains(HTTPTestStore.outsideMarker), "\(path)")
            #expect(!result.text.contains("root:"), "\(path)")
            #expect(!result.text.contains("2a8abfa8"), "\(path)")
        }
        // One log line per request, refusals included.
        let refusals = await log.waitFor { _ in log.all.count >= corpus.count }
        #expect(refusals != nil)
        #expect(log.all.filter { $0.contains(" 404 ") || $0.contains(" 400 ") }.count == corpus.count)
    }

    @Test("The ETag changes when a file is rewritten, in place or replaced")
    func etagChanges() async throws {
        let store = try HTTPTestStore()
        defer { store.remove() }
        let server = try await store.start(log: LogLines())
        defer { Task { await server.shutdown() } }

        let before = try await curl(server, "/devices/\(HTTPTestStore.mac)/boot.ipxe", ["-I"])
        let tag = try #require(before.headers["etag"])
        // Same size, same second: only the nanoseconds (and the content) differ.
        try await Task.sleep(nanoseconds: 5_000_000)
        let fd = open("\(store.root)/devices/\(HTTPTestStore.mac)/boot.ipxe", O_WRONLY)
        #expect(fd >= 0)
        _ = Array("#!IPXE\n".utf8).withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        close(fd)
        let after = try await curl(server, "/devices/\(HTTPTestStore.mac)/boot.ipxe")
        #expect(after.text == "#!IPXE\n")
        let second = try #require(after.headers["etag"])
        #expect(second != tag)

        try store.write("devices/\(HTTPTestStore.mac)/boot.ipxe", Array("#!ipxe\nboot\n".utf8))
        let replaced = try await curl(server, "/devices/\(HTTPTestStore.mac)/boot.ipxe", ["-I"])
        #expect(replaced.headers["etag"] != second)
        #expect(replaced.headers["etag"] != tag)

        let notModified = try await curl(server, "/devices/\(HTTPTestStore.mac)/boot.ipxe", ["-H", "If-None-Match: \(replaced.headers["etag"] ?? "")"])
        #expect(notModified.status == 304)
    }

    @Test("Blobs are immutable to caches; other files are not")
    func blobCacheControl() async throws {
        let store = try HTTPTestStore()
        defer { store.remove() }
        let server = try await store.start(log: LogLines())
        defer { Task { await server.shutdown() } }

        let blob = try await curl(server, "/blobs/sha256/\(HTTPTestStore.blob)")
        #expect(blob.status == 200)
        #expect(blob.text == "blob bytes\n")
        #expect(blob.headers["cache-control"] == "public, max-age=31536000, immutable")
        let boot = try await curl(server, "/boot/p/vmlinuz", ["-I"])
        #expect(boot.headers["cache-control"] == nil)
    }

    @Test("A busy port is a clear error")
    func portInUse() async throws {
        let store = try HTTPTestStore()
        defer { store.remove() }
        let first = try await store.start(log: LogLines())
        defer { Task { await first.shutdown() } }
        await #expect {
            _ = try await HTTPServer.start(HTTPServerConfiguration(root: store.root, host: "127.0.0.1", port: first.port))
        } throws: { error in
            guard case .addressInUse = error as? HTTPServerError else { return false }
            return true
        }
    }

    @Test("A missing store root is refused")
    func badRoot() async throws {
        await #expect(throws: HTTPServerError.self) {
            _ = try await HTTPServer.start(HTTPServerConfiguration(root: "/nonexistent/imprint-store", host: "127.0.0.1", port: 0))
        }
    }

    @Test("After shutdown nothing answers")
    func shutdown() async throws {
        let store = try HTTPTestStore()
        defer { store.remove() }
        let server = try await store.start(log: LogLines())
        #expect(try await curl(server, "/boot/empty").status == 200)
        await server.shutdown()
        #expect((try? await curl(server, "/boot/empty"))?.status ?? 0 == 0)
    }
}
