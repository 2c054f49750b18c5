import Foundation
import Testing

/// `imprint serve` with both servers, as a user runs it: they start and stop together on SIGTERM or
/// SIGINT and give their ports back; one that cannot listen stops the other, with a clear error.
@Suite(.serialized) struct ServeLifecycleTests {
    /// A store with one boot file, larger than HTTP's 1 MiB chunks, so it is streamed with read-ahead.
    struct Setup {
        let work: String
        var store: String { "\(work)/store" }
        let file = Data((0..<2_500_003).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ $0 >> 11) })

        init() throws {
            work = try CLI.temporaryDirectory()
            try FileManager.default.createDirectory(atPath: "\(work)/store/boot/p", withIntermediateDirectories: true)
            try file.write(to: URL(fileURLWithPath: "\(work)/store/boot/p/vmlinuz"))
        }

        func remove() { try? FileManager.default.removeItem(atPath: work) }
    }

    @Test(arguments: [SIGTERM, SIGINT])
    func bothServeAndStopTogether(signal: Int32) async throws {
        let s = try Setup()
        defer { s.remove() }
        let serve = try ServeProcess(["serve", "--store", s.store, "--tftp", "127.0.0.1:0", "--http", "127.0.0.1:0"])
        defer { serve.kill() }
        let tftp = try await serve.tftpPort()
        let http = try await serve.httpPort()

        let viaHTTP = try await shell("curl", ["-sS", "--max-time", "20", "-o", "\(s.work)/http.out", "http://127.0.0.1:\(http)/boot/p/vmlinuz"], timeout: 30)
        #expect(viaHTTP.status == 0, "curl over HTTP failed")
        #expect(FileManager.default.contents(atPath: "\(s.work)/http.out") == s.file, "the HTTP download differs from the file")
        let viaTFTP = try await shell("curl", ["-sS", "--max-time", "20", "--tftp-blksize", "1468", "-o", "\(s.work)/tftp.out", "tftp://127.0.0.1:\(tftp)/boot/p/vmlinuz"], timeout: 30)
        #expect(viaTFTP.status == 0, "curl over TFTP failed")
        #expect(FileManager.default.contents(atPath: "\(s.work)/tftp.out") == s.file, "the TFTP download differs from the file")

        // An idle keep-alive connection must not hold the shutdown up.
        let idle = try Socket.connect(tcpPort: http)
        defer { idle.close() }

        let started = Date()
        let status = try await serve.stop(signal: signal)
        let seconds = Date().timeIntervalSince(started)
        #expect(status == 0, "serve exits 0 on a signal")
        #expect(seconds < 5, "serve stops within 5 s of the signal")
        #expect(serve.stderr.contains("serve: \(signal == SIGINT ? "SIGINT" : "SIGTERM"), stopping"), "serve names the signal")
        #expect(serve.stderr.contains("serve: stopped"), "serve says it stopped")
        #expect(Socket.canBind(port: http, udp: false), "the HTTP port is free again")
        #expect(Socket.canBind(port: tftp, udp: true), "the TFTP port is free again")
    }

    @Test func anHTTPPortInUseStopsTFTPToo() async throws {
        let s = try Setup()
        defer { s.remove() }
        let held = try Socket.listen(udp: false)
        defer { held.close() }
        let tftp = try Socket.freePort(udp: true)
        let result = try await serveToEnd(["--tftp", "127.0.0.1:\(tftp)", "--http", "127.0.0.1:\(held.port)"], store: s.store)
        #expect(result.status != 0, "serve exits non-zero")
        #expect(result.stderr.contains("127.0.0.1:\(held.port)"), "the error names the address")
        #expect(result.stderr.contains("in use"), "the error says the address is in use")
        #expect(result.stderr.contains("imprint serve?"), "the error hints at who may hold the port")
        #expect(Socket.canBind(port: tftp, udp: true), "the TFTP port started in the same call is not left bound")
    }

    @Test func aTFTPPortInUseIsAClearError() async throws {
        let s = try Setup()
        defer { s.remove() }
        let held = try Socket.listen(udp: true)
        defer { held.close() }
        let http = try Socket.freePort(udp: false)
        let result = try await serveToEnd(["--tftp", "127.0.0.1:\(held.port)", "--http", "127.0.0.1:\(http)"], store: s.store)
        #expect(result.status != 0, "serve exits non-zero")
        #expect(result.stderr.contains("127.0.0.1:\(held.port)"), "the error names the address")
        #expect(result.stderr.contains("in use"), "the error says the address is in use")
        #expect(result.stderr.contains("tftpd-hpa"), "the error hints at who may hold the port")
        #expect(Socket.canBind(port: http, udp: false), "the HTTP port is not left listening")
    }

    @Test(arguments: ["empty", "missing", "file"])
    func aFolderThatIsNotAStoreIsAClearError(kind: String) async throws {
        let s = try Setup()
        defer { s.remove() }
        let path = "\(s.work)/\(kind)"
        switch kind {
        case "empty": try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        case "file": try Data("not a store".utf8).write(to: URL(fileURLWithPath: path))
        default: break
        }
        let result = try await serveToEnd(["--tftp", "127.0.0.1:0", "--http", "127.0.0.1:0"], store: path)
        #expect(result.status != 0, "serve exits non-zero")
        #expect(result.stderr.contains(path), "the error names the folder")
        #expect(result.stderr.contains("imprint build"), "the error says how to make a store")
        #expect(!result.stderr.contains("serve: HTTP on") && !result.stderr.contains("serve: TFTP on"), "no server started")
    }

    @Test func helpMatchesGolden() async throws {
        // ArgumentParser wraps help at $COLUMNS when set, else at the terminal's width or 80.
        let result = try await shell("env", ["COLUMNS=80", try CLI.binary, "serve", "--help"], timeout: 30)
        #expect(result.status == 0, "serve --help exits 0")
        try CLIGolden.check(result.stdout, "serve-help.stdout")
    }

    /// Runs `imprint serve ARGS --store STORE` to its end, which must come within 30 s.
    func serveToEnd(_ arguments: [String], store: String) async throws -> ShellResult {
        try await shell(try CLI.binary, ["serve", "--store", store] + arguments, timeout: 30)
    }
}

extension ServeProcess {
    /// The port from `serve: HTTP on 127.0.0.1:PORT from STORE`, waiting up to 30 s for the line.
    func httpPort() async throws -> Int {
        let end = Date().addingTimeInterval(30)
        while Date() < end {
            if let line = stderr.split(separator: "\n").first(where: { $0.hasPrefix("serve: HTTP on ") }),
               let address = line.split(separator: " ").dropFirst(3).first,
               let port = address.split(separator: ":").last.flatMap({ Int($0) }) {
                return port
            }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        throw SetupError("imprint serve did not say its HTTP port: \(stderr)")
    }
}

/// `Golden/cli/<name>`, compared whole; `IMPRINT_UPDATE_GOLDEN=1` rewrites it from the actual output.
enum CLIGolden {
    static let folder: String = {
        var url = URL(fileURLWithPath: #filePath)
        url.deleteLastPathComponent()
        return url.appendingPathComponent("Golden/cli").path
    }()

    static func check(_ actual: String, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let file = "\(folder)/\(name)"
        if ProcessInfo.processInfo.environment["IMPRINT_UPDATE_GOLDEN"] == "1" {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try actual.write(toFile: file, atomically: true, encoding: .utf8)
            return
        }
        guard let data = FileManager.default.contents(atPath: file) else { throw SetupError("no golden file \(file)") }
        #expect(actual == String(decoding: data, as: UTF8.self), "differs from its golden file in Golden/cli", sourceLocation: sourceLocation)
    }
}

/// Plain sockets on 127.0.0.1, to hold a port, prove one free, or connect.
struct Socket {
    let descriptor: Int32
    let port: Int

    func close() { _ = Glibc.close(descriptor) }

    /// A socket bound to 127.0.0.1:`port` (0: any), listening if TCP; nil if the bind fails.
    /// TCP sockets take SO_REUSEADDR, as servers do: a connection the server closed lingers in
    /// TIME_WAIT on its port, and only a listener should count as holding it. UDP ones do not, so
    /// that nothing else can bind the port while they hold it.
    static func bound(port: Int, udp: Bool) -> Socket? {
        let fd = socket(AF_INET, Int32(udp ? SOCK_DGRAM.rawValue : SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        if !udp {
            var one: Int32 = 1
            _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let ok = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard ok, udp || Glibc.listen(fd, 16) == 0 else {
            _ = Glibc.close(fd)
            return nil
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Socket(descriptor: fd, port: Int(UInt16(bigEndian: actual.sin_port)))
    }

    static func listen(udp: Bool) throws -> Socket {
        guard let socket = bound(port: 0, udp: udp) else { throw SetupError("cannot bind a port on 127.0.0.1") }
        return socket
    }

    /// A port free now (the system's pick, released again).
    static func freePort(udp: Bool) throws -> Int {
        let socket = try listen(udp: udp)
        socket.close()
        return socket.port
    }

    /// Whether 127.0.0.1:`port` can be bound (and, for TCP, listened on) right now.
    static func canBind(port: Int, udp: Bool) -> Bool {
        guard let socket = bound(port: port, udp: udp) else { return false }
        socket.close()
        return true
    }

    /// A TCP connection to 127.0.0.1:`tcpPort`.
    static func connect(tcpPort: Int) throws -> Socket {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SetupError("socket failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(tcpPort).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let ok = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard ok else {
            _ = Glibc.close(fd)
            throw SetupError("cannot connect to 127.0.0.1:\(tcpPort)")
        }
        return Socket(descriptor: fd, port: tcpPort)
    }
}
