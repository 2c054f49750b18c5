import Foundation
import Testing

/// `imprint serve --tftp` as a user runs it: real clients, clean shutdown, clear errors, and a QEMU
/// machine that network-boots the agent through QEMU's iPXE ROM over imprint's TFTP.
@Suite(.serialized) struct TFTPServeTests {
    @Test func servesOverTFTPAndStopsCleanlyOnSIGTERM() async throws {
        let work = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let store = "\(work)/store"
        try FileManager.default.createDirectory(atPath: "\(store)/boot/p", withIntermediateDirectories: true)
        let kernel = (0..<1_000_003).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 9) }
        try Data(kernel).write(to: URL(fileURLWithPath: "\(store)/boot/p/vmlinuz"))

        let serve = try ServeProcess(["serve", "--store", store, "--tftp", "127.0.0.1:0"])
        defer { serve.kill() }
        let port = try await serve.tftpPort()
        let out = "\(work)/out"
        let curl = try await shell("curl", ["-sS", "--tftp-blksize", "1468", "-o", out, "tftp://127.0.0.1:\(port)/boot/p/vmlinuz"])
        #expect(curl.status == 0, "\(curl.stderr)")
        #expect(FileManager.default.contents(atPath: out) == Data(kernel))
        let refused = try await shell("curl", ["-sS", "-o", "\(work)/no", "tftp://127.0.0.1:\(port)/../etc/passwd"])
        #expect(refused.status != 0)

        let status = try await serve.stop(signal: SIGTERM)
        #expect(status == 0, "\(serve.stderr)")
        #expect(serve.stderr.contains("tftp: sent boot/p/vmlinuz to 127.0.0.1:"), "\(serve.stderr)")
        #expect(serve.stderr.contains("blksize 1468"))
        #expect(serve.stderr.contains("tftp: refused RRQ"), "\(serve.stderr)")
        #expect(serve.stderr.contains("serve: stopped"))
    }

    @Test func aPortInUseIsAClearError() async throws {
        let work = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        try FileManager.default.createDirectory(atPath: "\(work)/store/boot", withIntermediateDirectories: true)
        let first = try ServeProcess(["serve", "--store", "\(work)/store", "--tftp", "127.0.0.1:0"])
        defer { first.kill() }
        let port = try await first.tftpPort()
        let second = try CLI.run(["serve", "--store", "\(work)/store", "--tftp", "127.0.0.1:\(port)"])
        #expect(second.status != 0)
        #expect(second.stderr.contains("127.0.0.1:\(port)") && second.stderr.contains("in use"), "\(second.stderr)")
        _ = try await first.stop(signal: SIGINT)
    }

    @Test(arguments: [
        (["serve", "--tftp", "127.0.0.1"], "ADDR:PORT"),
        (["serve", "--tftp", "127.0.0.1:70000"], "not a port"),
        (["serve", "--tftp", "nonsense:69"], "not an IP address"),
    ])
    func badFlagsAreClearErrors(arguments: [String], words: String) throws {
        let work = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        try FileManager.default.createDirectory(atPath: "\(work)/store/boot", withIntermediateDirectories: true)
        let result = try CLI.run(arguments + ["--store", "\(work)/store"])
        #expect(result.status != 0)
        #expect(result.stderr.contains(words), "\(result.stderr)")
    }

    @Test func iPXEBootsTheAgentOverTFTP() async throws {
        let work = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let store = "\(work)/store"
        let build = try CLI.run(["build", "recipes/qemu-virtio.yaml", "--store", store])
        try #require(build.status == 0, "build failed: \(build.stderr)")

        let serve = try ServeProcess(["serve", "--store", store, "--tftp", "127.0.0.1:0"])
        defer { serve.kill() }
        let port = try await serve.tftpPort()
        // QEMU's user network hands guests the host's 127.0.0.1 as 10.0.2.2.
        let base = "tftp://10.0.2.2:\(port)"
        try FileManager.default.createDirectory(atPath: "\(store)/devices", withIntermediateDirectories: true)
        try """
            #!ipxe
            kernel \(base)/boot/qemu-virtio/vmlinuz console=ttyS0 quiet imprint.mode=probe panic=-1
            initrd \(base)/boot/qemu-virtio/initrd.img
            boot

            """.write(toFile: "\(store)/devices/default.ipxe", atomically: true, encoding: .utf8)

        let qemu = try await shell("qemu-system-x86_64", [
            "-accel", "tcg", "-nodefaults", "-display", "none", "-no-reboot", "-m", "1024", "-smp", "1",
            "-serial", "stdio", "-boot", "n",
            // No romfile=: the NIC's own iPXE ROM boots, asking DHCP for a boot file: our script.
            "-netdev", "user,id=n0,bootfile=\(base)/devices/default.ipxe",
            "-device", "virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56",
        ], timeout: 240)
        let console = qemu.stdout
        #expect(qemu.status == 0, "qemu: \(qemu.stderr)\n\(console.suffix(3000))")
        // The serial console ends lines with CR LF, one Character in Swift: split on any newline.
        #expect(console.split(whereSeparator: \.isNewline).contains { $0.hasPrefix("imprint: imprint-agent ") }, "no agent banner:\n\(console.suffix(3000))")
        #expect(!console.contains("Kernel panic"))
        _ = try await serve.stop(signal: SIGTERM)
        #expect(serve.stderr.contains("tftp: sent devices/default.ipxe"), "\(serve.stderr)")
        #expect(serve.stderr.contains("tftp: sent boot/qemu-virtio/vmlinuz"), "\(serve.stderr)")
        #expect(serve.stderr.contains("tftp: sent boot/qemu-virtio/initrd.img"), "\(serve.stderr)")
    }
}

/// `imprint serve` running in the background, its stderr collected.
final class ServeProcess: @unchecked Sendable {
    private let process = Process()
    private let lock = NSLock()
    private var collected = Data()

    init(_ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: try CLI.binary)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: CLI.packageRoot)
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        err.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let chunk = handle.availableData
            guard let self, !chunk.isEmpty else { return }
            self.lock.lock()
            self.collected.append(chunk)
            self.lock.unlock()
        }
        try process.run()
    }

    var stderr: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: collected, as: UTF8.self)
    }

    /// The port from `serve: TFTP on 127.0.0.1:PORT`, waiting up to 30 s for the line.
    func tftpPort() async throws -> Int {
        let end = Date().addingTimeInterval(30)
        while Date() < end {
            if let line = stderr.split(separator: "\n").first(where: { $0.hasPrefix("serve: TFTP on ") }),
               let address = line.split(separator: " ").dropFirst(3).first,
               let port = address.split(separator: ":").last.flatMap({ Int($0) }) {
                return port
            }
            guard process.isRunning else { throw SetupError("imprint serve exited: \(stderr)") }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        throw SetupError("imprint serve did not say its port: \(stderr)")
    }

    /// Sends `signal` and waits up to 20 s for the exit; the exit status.
    func stop(signal: Int32) async throws -> Int32 {
        Foundation.kill(process.processIdentifier, signal)
        let end = Date().addingTimeInterval(20)
        while process.isRunning && Date() < end { try await Task.sleep(nanoseconds: 20_000_000) }
        guard !process.isRunning else { throw SetupError("imprint serve did not stop on signal \(signal)") }
        // Let the reader take the last lines.
        try await Task.sleep(nanoseconds: 100_000_000)
        return process.terminationStatus
    }

    func kill() {
        if process.isRunning { process.terminate() }
    }
}

struct ShellResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs a tool from the system to completion, killed after `timeout` seconds.
func shell(_ tool: String, _ arguments: [String], timeout: Double = 120) async throws -> ShellResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [tool] + arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let killer = Task {
        try await Task.sleep(nanoseconds: UInt64(timeout * 1e9))
        process.terminate()
    }
    async let o = Task.detached { out.fileHandleForReading.readDataToEndOfFile() }.value
    async let e = Task.detached { err.fileHandleForReading.readDataToEndOfFile() }.value
    let (outData, errData) = await (o, e)
    process.waitUntilExit()
    killer.cancel()
    return ShellResult(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                       stderr: String(decoding: errData, as: UTF8.self))
}
