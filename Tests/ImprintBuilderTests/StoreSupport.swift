import Foundation
import ImprintCore
import ImprintDigest

@testable import ImprintBuilder

/// Stores and images for the store tests, made in a temporary folder in milliseconds.
struct StoreFixture {
    let work: String
    var store: Store { Store(unchecked: "\(work)/store") }

    init() throws {
        work = try TestPaths.temporaryDirectory()
    }

    func remove() { try? FileManager.default.removeItem(atPath: work) }

    /// A built profile without a real build: stand-in kernel and initrd, and a `build.json`
    /// encoded from `BuildReport`.
    func fakeProfile(_ name: String = "qemu-virtio", cmdline: String = "console=tty0 console=ttyS0",
                     server: String? = "http://10.0.2.2:8080") throws {
        let dir = "\(work)/store/boot/\(name)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Data("kernel".utf8).write(to: URL(fileURLWithPath: "\(dir)/vmlinuz"))
        try Data("initrd".utf8).write(to: URL(fileURLWithPath: "\(dir)/initrd.img"))
        let report = BuildReport(
            profile: name, imprintVersion: "test", recipe: "recipes/\(name).yaml", cmdline: cmdline,
            kernel: .init(release: "6.1.0-test-amd64", source: "test", vmlinuzSize: 6), modules: [], libraries: [],
            agent: "imprint-agent", sizes: .init(initrdCompressed: 6, initrdUncompressed: 6, agent: 0, libraries: 0, modules: 0),
            buildSeconds: 0, agentServer: server)
        try JSONEncoder().encode(report).write(to: URL(fileURLWithPath: "\(dir)/build.json"))
    }

    /// A raw disk image: `size` bytes, zero but for a few marked 4 KiB runs of random bytes.
    @discardableResult
    func rawImage(_ name: String = "disk.img", size: Int = 1 << 20, dataAt offsets: [Int] = [0, 300_000, (1 << 20) - 4096]) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: size)
        var generator = SystemRandomNumberGenerator()
        for offset in offsets {
            for i in offset..<min(offset + 4096, size) { bytes[i] = UInt8.random(in: 1...255, using: &generator) }
        }
        try Data(bytes).write(to: URL(fileURLWithPath: "\(work)/\(name)"))
        return bytes
    }

    /// Runs a tool (zstd, xz, gzip, tar) in the work folder; fails the test if it fails.
    func tool(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: work)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw TestSetupError("\(arguments.joined(separator: " ")) failed") }
    }

    /// `path` compressed with `compression`'s tool, as `path` plus its usual suffix.
    func compress(_ path: String, _ compression: Compression) throws -> String {
        switch compression {
        case .none: return path
        case .zstd: try tool(["zstd", "-q", "-f", "-k", path]); return path + ".zst"
        case .xz: try tool(["xz", "-f", "-k", path]); return path + ".xz"
        case .gzip: try tool(["gzip", "-f", "-k", path]); return path + ".gz"
        }
    }

    func bytes(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else { throw TestSetupError("cannot read \(path)") }
        return [UInt8](data)
    }

    /// Every file under the store, relative, sorted.
    func storeFiles() -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: "\(work)/store") else { return [] }
        var files: [String] = []
        while let name = walker.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: "\(work)/store/\(name)", isDirectory: &isDirectory), !isDirectory.boolValue {
                files.append(name)
            }
        }
        return files.sorted()
    }

    func mode(_ path: String) throws -> Int {
        try (FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? -1
    }
}

func sha256Hex(_ bytes: [UInt8]) -> String { SHA256.hex(of: bytes) }
