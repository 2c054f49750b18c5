import Foundation
import Testing

/// Issue 8 item 2, the capture-deploy round trip in QEMU: machine A PXE-boots and deploys the demo
/// image with a marker (/etc/motd) from its customization; `imprint device capture` then has A
/// PXE-boot again (network first) and upload its whole disk; `imprint image accept` publishes it;
/// machine B deploys `golden` under its own hostname and prints both its name and A's marker.
@Suite(.serialized) struct CapturePXETests {
    typealias DemoLab = DeployPXETests.DemoLab
    static let a = "52:54:00:12:34:5a"
    static let b = "52:54:00:12:34:5b"

    /// `imprint lab MAC --pxe --firmware ovmf --disk FILE` (+ `extra`); status, console lines, a tail for messages.
    static func boot(_ lab: DemoLab, mac: String, disk: String, extra: [String] = []) throws -> (status: Int32, lines: [String], tail: String) {
        let run = try CLI.run(["lab", mac, "--pxe", "--firmware", "ovmf", "--disk", disk, "--timeout", "420", "--store", lab.store] + extra)
        let lines = run.stdout.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        return (run.status, lines, run.stderr + "\n" + lines.suffix(60).joined(separator: "\n"))
    }

    static func blankDisk(_ path: String, mib: Int) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil) else { throw SetupError("cannot create \(path)") }
        try FileHandle(forWritingTo: URL(fileURLWithPath: path)).truncate(atOffset: UInt64(mib) << 20)
    }

    @Test func aCapturedMachineIsDeployedToAnotherUnderItsOwnName() throws {
        let lab = try DemoLab(mac: Self.a, device: ["--hostname", "lab-a", "--file", "WORK/motd:/etc/motd"])
        let diskA = "\(lab.work)/disk-a.img"
        try Self.blankDisk(diskA, mib: 64)

        // A: deploy, reboot into the demo, which shows the marker.
        let first = try Self.boot(lab, mac: Self.a, disk: diskA)
        #expect(first.status == 0, "\(first.tail)")
        #expect(first.lines.contains("hello from lab-a") && first.lines.contains("demo: motd: deployed by imprint"), "\(first.tail)")

        // A again, network first: the agent reads /dev/vda whole and uploads it, then powers off.
        try DemoLab.require(["device", "capture", Self.a, "--name", "golden", "--store", lab.store])
        let started = Date()
        let capture = try Self.boot(lab, mac: Self.a, disk: diskA, extra: ["--boot-first", "network"])
        #expect(capture.status == 0, "\(capture.tail)")
        print("capture PXE: power-on to power-off \(Int(Date().timeIntervalSince(started))) s")
        #expect(capture.lines.contains { $0.hasPrefix("imprint: capture golden: reading /dev/vda") }, "\(capture.tail)")
        #expect(capture.lines.contains { $0.hasPrefix("imprint: capture golden done") }, "\(capture.tail)")
        #expect(!capture.lines.contains("hello from lab-a"), "the capture boot must not reach the deployed system: \(capture.tail)")
        let status = try CLI.run(["status", Self.a.replacingOccurrences(of: ":", with: "-"), "--json", "--store", lab.store])
        #expect(status.stdout.contains("\"done\""), "\(status.stdout)")

        let accepted = try CLI.run(["image", "accept", "golden", "--store", lab.store])
        #expect(accepted.status == 0, "\(accepted.stderr)")
        // The capture is A's whole disk, byte for byte.
        let descriptor = (try? String(contentsOfFile: "\(lab.store)/images/golden.json", encoding: .utf8)) ?? ""
        let diskDigest = try lab.shaOf(diskA)
        #expect(descriptor.contains("\"uncompressedSha256\": \"\(diskDigest)\""), "\(descriptor)")

        // B: a blank machine deploys golden under its own name; A's marker comes with the image.
        let port = lab.port
        try DemoLab.require(["device", "add", Self.b, "--profile", "qemu-virtio", "--image", "golden", "--hostname", "lab-b",
                             "--server", "http://10.0.2.2:\(port)", "--store", lab.store])
        let diskB = "\(lab.work)/disk-b.img"
        try Self.blankDisk(diskB, mib: 64)
        let second = try Self.boot(lab, mac: Self.b, disk: diskB)
        #expect(second.status == 0, "\(second.tail)")
        #expect(second.lines.contains("hello from lab-b"), "\(second.tail)")
        #expect(second.lines.contains("demo: motd: deployed by imprint"), "\(second.tail)")
        // B's own customization names only its hostname: the marker is A's, carried by the capture.
        #expect(second.lines.contains("demo: customized: hostname lab-b") && !second.lines.contains("demo: customized: file /etc/motd"), "\(second.tail)")
    }
}

extension DeployPXETests.DemoLab {
    /// A file's SHA-256 (sha256sum).
    func shaOf(_ path: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = [path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(String(decoding: data, as: UTF8.self).prefix(64))
    }
}
