import Foundation
import Glibc
import ImprintCore
import Testing

@testable import ImprintServer

/// Small files are answered in the channel pipeline (HTTPFastPath), the rest by Hummingbird: on one
/// connection the answers must still come in request order, each request must be logged, and
/// `Connection: close` must close.
@Suite("HTTP fast path, on raw connections")
struct HTTPFastPathTests {
    @Test("Pipelined requests mixing both paths are answered in order, and each is logged")
    func pipelinedOrder() async throws {
        let store = try HTTPTestStore()
        defer { store.remove() }
        let log = LogLines()
        let server = try await store.start(log: log)
        defer { Task { await server.shutdown() } }

        let mac = HTTPTestStore.mac
        let report = #"{"state":"deploying"}"#
        // 1: 100,000 bytes, streamed by Hummingbird; 2: small, fast path; 3: a report PUT (Hummingbird);
        // 4: small again; 5: HEAD of the big file (fast path: no body); 6: a refusal, then close.
        let requests = "GET /boot/p/vmlinuz HTTP/1.1\r\nHost: t\r\n\r\n"
            + "GET /devices/\(mac)/boot.ipxe HTTP/1.1\r\nHost: t\r\n\r\n"
            + "PUT /reports/\(mac)/status.json HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer \(HTTPTestStore.token)\r\n"
            + "Content-Length: \(report.utf8.count)\r\n\r\n\(report)"
            + "GET /blobs/sha256/\(HTTPTestStore.blob) HTTP/1.1\r\nHost: t\r\n\r\n"
            + "HEAD /boot/p/vmlinuz HTTP/1.1\r\nHost: t\r\n\r\n"
            + "GET /secrets/devices/\(mac).sha256 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
        let reply = try await exchange(port: server.port, Array(requests.utf8))
        let responses = try HTTPWire.split(reply, headRequests: [4])
        #expect(responses.map(\.status) == [200, 200, 204, 200, 200, 404])
        #expect(Bool(responses[0].body == store.kernel))
        #expect(responses[1].text == "#!ipxe\n")
        #expect(responses[3].text == "blob bytes\n")
        #expect(responses[4].headers["content-length"] == "100000")
        #expect(responses[4].body.isEmpty)
        #expect(responses.allSatisfy { $0.headers["date"].flatMap(HTTPDate.parse) != nil }, "every answer has a Date")
        #expect(try store.bytes("reports/\(mac)/status.json") == Array(report.utf8))

        let expected = ["GET /boot/p/vmlinuz 200 100000", "GET /devices/\(mac)/boot.ipxe 200 7", "PUT /reports/\(mac)/status.json 204",
                        "GET /blobs/sha256/\(HTTPTestStore.blob) 200 11", "HEAD /boot/p/vmlinuz 200 0", "GET /secrets/devices/\(mac).sha256 404"]
        _ = await log.waitFor { $0.contains("/secrets/devices/") }
        let lines = log.all
        for part in expected {
            #expect(lines.contains { $0.contains(part) }, "no access-log line for \(part): \(lines)")
        }
    }

    @Test("Connection: close on a small file: the answer, then the server closes")
    func connectionClose() async throws {
        let store = try HTTPTestStore()
        defer { store.remove() }
        let server = try await store.start(log: LogLines())
        defer { Task { await server.shutdown() } }

        // `exchange` reads until the server closes; a server that kept the connection open would
        // leave it waiting for its 10 s timeout, which it reports as a failure.
        let reply = try await exchange(port: server.port, Array("GET /boot/empty HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".utf8))
        let responses = try HTTPWire.split(reply, headRequests: [])
        #expect(responses.count == 1)
        #expect(responses.first?.status == 200)
        #expect(responses.first?.headers["content-length"] == "0")
    }

    @Test("The Date header is this second's, made once a second")
    func dateHeader() throws {
        let before = Int(time(nil))
        let text = HTTPDateCache().now()
        let seconds = try #require(HTTPDate.parse(text), "not an IMF-fixdate: \(text)")
        #expect(seconds >= before && seconds <= Int(time(nil)))
    }

    /// Sends `request` on a new connection and reads until the server closes it (10 s at most),
    /// on a thread of its own so the server's tasks keep the cooperative pool.
    private func exchange(port: Int, _ request: [UInt8]) async throws -> [UInt8] {
        try await withCheckedThrowingContinuation { (done: CheckedContinuation<[UInt8], any Error>) in
            Thread {
                done.resume(with: Result { try HTTPWire.exchange(port: port, request) })
            }.start()
        }
    }
}

/// HTTP/1.1 on a raw socket, for what curl hides: pipelining and the connection's end.
enum HTTPWire {
    struct Response {
        var status: Int
        var headers: [String: String]
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func exchange(port: Int, _ request: [UInt8]) throws -> [UInt8] {
        let fd = socket(AF_INET, CInt(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        defer { close(fd) }
        var wait = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw Failure(description: "connect: errno \(errno)") }
        let sent = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        guard sent == request.count else { throw Failure(description: "send: \(sent) of \(request.count) bytes") }
        var reply: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return reply }
            guard n > 0 else { throw Failure(description: "recv: errno \(errno) after \(reply.count) bytes (the server did not close)") }
            reply += buffer[0..<n]
        }
    }

    /// The responses in `bytes`, each framed by its Content-Length; `headRequests` are the
    /// (0-based) positions of HEAD requests, whose answers have no body.
    static func split(_ bytes: [UInt8], headRequests: Set<Int>) throws -> [Response] {
        var responses: [Response] = []
        var at = 0
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        while at < bytes.count {
            guard let end = (at...(bytes.count - separator.count)).first(where: { Array(bytes[$0..<($0 + 4)]) == separator }) else {
                throw Failure(description: "a response head without its end at byte \(at)")
            }
            let lines = String(decoding: bytes[at..<end], as: UTF8.self).components(separatedBy: "\r\n")
            let parts = lines[0].split(separator: " ")
            guard parts.count >= 2, let status = Int(parts[1]) else { throw Failure(description: "bad status line \(lines[0])") }
            var headers: [String: String] = [:]
            for line in lines.dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            let length = headRequests.contains(responses.count) ? 0 : Int(headers["content-length"] ?? "0") ?? 0
            let start = end + 4
            guard start + length <= bytes.count else { throw Failure(description: "a body cut short at byte \(bytes.count)") }
            responses.append(Response(status: status, headers: headers, body: Array(bytes[start..<(start + length)])))
            at = start + length
        }
        return responses
    }

}
