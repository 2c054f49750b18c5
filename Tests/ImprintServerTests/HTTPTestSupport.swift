import Foundation
import Glibc
import Testing

@testable import ImprintServer

/// A temporary store for the HTTP tests, a file outside it that must never be served, and a
/// running server on 127.0.0.1 with a free port.
struct HTTPTestStore {
    let root: String
    /// Outside the store; links inside point at it.
    let outside: String
    static let mac = "52-54-00-12-34-56"
    static let unknownMAC = "52-54-00-aa-bb-cc"
    static let token = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
    /// `printf %s TOKEN | sha256sum`, written as the store writes it: hex and a newline.
    static let tokenHash = "2a8abfa8cb9906290437854193ca6bca41d4d4e26d1d454bd66a35158095e737\n"
    static let outsideMarker = "OUTSIDE-THE-STORE-7f3a"
    static let blob = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    let kernel = TestStore.pattern(count: 100_000, seed: 7)

    init() throws {
        var template = Array((NSTemporaryDirectory() + "/imprint-http-XXXXXX").utf8CString)
        guard let dir = mkdtemp(&template) else { throw SetupError("mkdtemp failed") }
        let base = String(cString: dir)
        root = base + "/store"
        outside = base + "/outside.txt"
        for folder in ["boot/p", "blobs/sha256", "devices/\(Self.mac)", "secrets/devices", "incoming/cap", "images"] {
            try FileManager.default.createDirectory(atPath: "\(root)/\(folder)", withIntermediateDirectories: true)
        }
        try Data(Self.outsideMarker.utf8).write(to: URL(fileURLWithPath: outside))
        try write("boot/p/vmlinuz", kernel)
        try write("boot/empty", [])
        try write("blobs/sha256/\(Self.blob)", Array("blob bytes\n".utf8))
        try write("devices/\(Self.mac)/boot.ipxe", Array("#!ipxe\n".utf8))
        try write("secrets/devices/\(Self.mac).sha256", Array(Self.tokenHash.utf8))
        try write("incoming/x", Array("\(Self.outsideMarker) incoming\n".utf8))
        try write("incoming/cap/disk.img", Array("\(Self.outsideMarker) capture\n".utf8))
        try write("images/.partial", Array("\(Self.outsideMarker) hidden\n".utf8))
        try FileManager.default.createSymbolicLink(atPath: "\(root)/boot/escape", withDestinationPath: outside)
        try FileManager.default.createSymbolicLink(atPath: "\(root)/boot/etc", withDestinationPath: "/etc")
        try FileManager.default.createSymbolicLink(atPath: "\(root)/boot/secret", withDestinationPath: "../secrets/devices/\(Self.mac).sha256")
        try FileManager.default.createSymbolicLink(atPath: "\(root)/boot/kernel", withDestinationPath: "p/vmlinuz")
    }

    func write(_ path: String, _ bytes: [UInt8]) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: "\(root)/\(path)"))
    }

    func bytes(_ path: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(root)/\(path)")))
    }

    func remove() { try? FileManager.default.removeItem(atPath: (root as NSString).deletingLastPathComponent) }

    /// Starts a server over this store; the caller shuts it down.
    func start(log: LogLines, configure: (inout HTTPServerConfiguration) -> Void = { _ in }) async throws -> HTTPServer {
        var configuration = HTTPServerConfiguration(root: root, host: "127.0.0.1", port: 0) { log.append($0) }
        configure(&configuration)
        return try await HTTPServer.start(configuration)
    }
}

/// One curl run: status, headers (lower-case names) and body.
struct CurlResult {
    var status: Int
    var headers: [String: String]
    var body: [UInt8]
    var text: String { String(decoding: body, as: UTF8.self) }
}

/// Runs the real curl against the server: `path` as given (`--path-as-is`), extra arguments before.
/// Waits for curl without blocking a thread: the server answers on the same cooperative pool.
/// `scheme` https needs `--cacert` (or `-k`) among the arguments.
func curl(_ server: HTTPServer, _ path: String, _ arguments: [String] = [], scheme: String = "http") async throws -> CurlResult {
    let scratch = NSTemporaryDirectory() + "/imprint-curl-\(UUID().uuidString)"
    defer {
        for suffix in [".body", ".headers", ".out", ".err"] { unlink(scratch + suffix) }
    }
    _ = FileManager.default.createFile(atPath: scratch + ".out", contents: nil)
    _ = FileManager.default.createFile(atPath: scratch + ".err", contents: nil)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
    process.arguments = ["-s", "-S", "--path-as-is", "--max-time", "20", "-o", scratch + ".body", "-D", scratch + ".headers",
                         "-w", "%{http_code}"] + arguments + ["\(scheme)://127.0.0.1:\(server.port)\(path)"]
    process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: scratch + ".out"))
    process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: scratch + ".err"))
    await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
        process.terminationHandler = { _ in done.resume() }
        do {
            try process.run()
        } catch {
            process.terminationHandler = nil
            done.resume()
        }
    }
    let out = (try? String(contentsOfFile: scratch + ".out", encoding: .utf8)) ?? ""
    let errorText = (try? String(contentsOfFile: scratch + ".err", encoding: .utf8)) ?? ""
    guard let status = Int(out), status != 0 else {
        throw CurlFailure(description: "curl \(path): no answer: \(errorText)")
    }
    let body = (try? Data(contentsOf: URL(fileURLWithPath: scratch + ".body"))).map { [UInt8]($0) } ?? []
    let headerText = (try? String(contentsOfFile: scratch + ".headers", encoding: .utf8)) ?? ""
    var headers: [String: String] = [:]
    for line in headerText.split(whereSeparator: \.isNewline) {
        guard let colon = line.firstIndex(of: ":") else { continue }
        headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    return CurlResult(status: status, headers: headers, body: body)
}

struct CurlFailure: Error, CustomStringConvertible {
    var description: String
}
