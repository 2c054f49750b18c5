import Foundation
import Glibc
import ImprintCore
import Testing

@testable import ImprintServer

/// A temporary store with a few served files, private files the server must refuse, and symlinks.
struct TestStore {
    let root: String
    static let mac = "52-54-00-12-34-56"

    init() throws {
        var template = Array((NSTemporaryDirectory() + "/imprint-tftp-XXXXXX").utf8CString)
        guard let dir = mkdtemp(&template) else { throw SetupError("mkdtemp failed") }
        root = String(cString: dir)
        for folder in ["boot/qemu-virtio", "boot/ipxe", "devices/\(Self.mac)", "secrets", "incoming/cap", "reports/\(Self.mac)"] {
            try FileManager.default.createDirectory(atPath: "\(root)/\(folder)", withIntermediateDirectories: true)
        }
        try write("boot/qemu-virtio/vmlinuz", Self.pattern(count: 3_000_001, seed: 1))
        try write("boot/ipxe/undionly.kpxe", Self.pattern(count: 70_000, seed: 2))
        try write("boot/exact", Self.pattern(count: 8192 * 4, seed: 3))  // a whole number of blocks at 512 and 8192
        try write("boot/empty", [])
        try write("devices/default.ipxe", Array("#!ipxe\necho discovery\r\nshell\n".utf8))
        try write("devices/\(Self.mac)/boot.ipxe", Array("#!ipxe\n".utf8))
        try write("devices/\(Self.mac)/assignment.json", Array("{\"secret\":1}\n".utf8))
        try write("secrets/tokens", Array("token\n".utf8))
        try write("incoming/cap/disk.img", Array("disk\n".utf8))
        try write("reports/\(Self.mac)/status.json", Array("{}\n".utf8))
        // Links: one leaves the store, one points inside it at a file TFTP must not serve, one is fine.
        try FileManager.default.createSymbolicLink(atPath: "\(root)/boot/escape", withDestinationPath: "/etc/passwd")
        try FileManager.default.createSymbolicLink(atPath: "\(root)/boot/assignment", withDestinationPath: "../devices/\(Self.mac)/assignment.json")
        try FileManager.default.createSymbolicLink(atPath: "\(root)/boot/outside-dir", withDestinationPath: "/etc")
        try FileManager.default.createSymbolicLink(atPath: "\(root)/boot/kernel", withDestinationPath: "qemu-virtio/vmlinuz")
    }

    func write(_ path: String, _ bytes: [UInt8]) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: "\(root)/\(path)"))
    }

    func bytes(_ path: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(root)/\(path)")))
    }

    func remove() { try? FileManager.default.removeItem(atPath: root) }

    /// Deterministic bytes that differ from block to block (so a misplaced block shows).
    static func pattern(count: Int, seed: UInt64) -> [UInt8] {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        return (0..<count).map { _ in
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return UInt8(truncatingIfNeeded: state)
        }
    }
}

struct SetupError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Log lines the server wrote, for assertions.
final class LogLines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []

    func append(_ line: String) { lock.lock(); lines.append(line); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return lines }

    /// Waits (polling) until a line matches, up to `seconds`; the line, or nil.
    func waitFor(seconds: Double = 20, _ match: (String) -> Bool) async -> String? {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if let line = all.first(where: match) { return line }
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
        return all.first(where: match)
    }
}

/// Runs `body` against a server on 127.0.0.1 with a port the system picked, then stops the server.
func withServer<T>(_ store: TestStore, configure: (inout TFTPServerConfiguration) -> Void = { _ in },
                   _ body: (TFTPServer, LogLines) async throws -> T) async throws -> T {
    let log = LogLines()
    var configuration = TFTPServerConfiguration(root: store.root, host: "127.0.0.1", port: 0) { log.append($0) }
    configuration.threads = 2
    configure(&configuration)
    let server = try await TFTPServer.start(configuration)
    do {
        let result = try await body(server, log)
        await server.shutdown()
        return result
    } catch {
        await server.shutdown()
        throw error
    }
}

/// A raw UDP peer on 127.0.0.1, for what real clients will not send.
final class UDPPeer {
    let fd: CInt
    let port: Int

    init(receiveTimeoutMilliseconds: Int = 3000) throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw SetupError("socket failed") }
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { close(fd); throw SetupError("bind failed") }
        var timeout = timeval(tv_sec: receiveTimeoutMilliseconds / 1000, tv_usec: (receiveTimeoutMilliseconds % 1000) * 1000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var local = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        port = Int(UInt16(bigEndian: local.sin_port))
    }

    deinit { close(fd) }

    /// 127.0.0.1:`port`, as `sendto` and `sendmsg` take it.
    static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return address
    }

    func send(_ bytes: [UInt8], to port: Int) {
        var address = Self.loopback(port: port)
        _ = bytes.withUnsafeBytes { raw in
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, raw.baseAddress, raw.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
    }

    func send(_ packet: TFTPPacket, to port: Int) { send(packet.bytes, to: port) }

    /// The next datagram and the port it came from, or nil after the receive timeout.
    func receive() -> (packet: TFTPPacket?, raw: [UInt8], port: Int)? {
        var buffer = [UInt8](repeating: 0, count: 70_000)
        var from = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let n = buffer.withUnsafeMutableBytes { raw in
            withUnsafeMutablePointer(to: &from) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, raw.baseAddress, raw.count, 0, $0, &length) }
            }
        }
        guard n >= 0 else { return nil }
        let bytes = Array(buffer[0..<n])
        return (try? TFTPPacket.decode(bytes), bytes, Int(UInt16(bigEndian: from.sin_port)))
    }
}

/// A command-line client run to completion.
struct Run {
    var status: Int32
    var stdout: String
    var stderr: String
    var seconds: Double

    static func tool(_ name: String) throws -> String {
        for dir in ["/usr/bin", "/usr/local/bin", "/bin"] where FileManager.default.isExecutableFile(atPath: "\(dir)/\(name)") {
            return "\(dir)/\(name)"
        }
        throw SetupError("\(name) not found: scripts/bootstrap installs curl, atftp and tftp-hpa")
    }

    static func run(_ tool: String, _ arguments: [String], timeout: Double = 120) async throws -> Run {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Self.tool(tool))
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        let started = Date()
        try process.run()
        let killer = Task {
            try await Task.sleep(nanoseconds: UInt64(timeout * 1e9))
            process.terminate()
        }
        async let outData = Task.detached { out.fileHandleForReading.readDataToEndOfFile() }.value
        async let errData = Task.detached { err.fileHandleForReading.readDataToEndOfFile() }.value
        let (o, e) = await (outData, errData)
        process.waitUntilExit()
        killer.cancel()
        return Run(status: process.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                   stderr: String(decoding: e, as: UTF8.self), seconds: Date().timeIntervalSince(started))
    }
}

func temporaryFile(_ name: String) -> String {
    NSTemporaryDirectory() + "/imprint-tftp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))-\(name)"
}

func fileBytes(_ path: String) -> [UInt8]? {
    FileManager.default.contents(atPath: path).map { [UInt8]($0) }
}
