import Foundation
import Testing

/// Issue 8 item 6 with a real machine: central and a site as two `imprint serve` processes; a QEMU
/// machine PXE-boots from the site (boot script, kernel, initrd and identity revalidated from
/// central, its token claim forwarded) and deploys the demo image at the same time as two host-mode
/// agents; the blob crosses to central exactly once, and central's `imprint status` sees all three done.
@Suite(.serialized) struct MirrorPXETests {
    static let machine = "52:54:00:00:09:01"
    static let hosts = ["52:54:00:00:09:02", "52:54:00:00:09:03"]

    @Test func aPXEMachineAndTwoHostAgentsDeployThroughTheSiteAndTheBlobCrossesOnce() throws {
        let work = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let central = "\(work)/central", site = "\(work)/site"
        let centralPort = try PXEBootTests.freePort(), sitePort = try PXEBootTests.freePort()
        func require(_ arguments: [String]) throws {
            let result = try CLI.run(arguments)
            guard result.status == 0 else { throw SetupError("imprint \(arguments.prefix(2).joined(separator: " ")): \(result.stderr)") }
        }
        try require(["build", "recipes/qemu-virtio.yaml", "--store", central])
        try require(["image", "demo", "--out", "\(work)/demo.img"])
        try require(["image", "add", "\(work)/demo.img", "--name", "demo", "--compress", "zstd", "--store", central])
        try require(["device", "add", Self.machine, "--profile", "qemu-virtio", "--image", "demo", "--hostname", "branch-pxe",
                     "--server", "http://10.0.2.2:\(sitePort)", "--store", central])
        for (i, mac) in Self.hosts.enumerated() {
            try require(["device", "add", mac, "--profile", "qemu-virtio", "--image", "demo", "--hostname", "branch-host-\(i)",
                         "--server", "http://127.0.0.1:\(sitePort)", "--store", central])
            let folder = mac.replacingOccurrences(of: ":", with: "-")
            let extract = Process()
            extract.executableURL = URL(fileURLWithPath: "/bin/sh")
            extract.arguments = ["-c", "cpio -i --quiet --to-stdout etc/imprint/identity.json < \(central)/devices/\(folder)/identity.cpio > \(work)/identity-\(i).json"]
            try extract.run()
            extract.waitUntilExit()
            _ = FileManager.default.createFile(atPath: "\(work)/disk-\(i).img", contents: nil)
            try FileHandle(forWritingTo: URL(fileURLWithPath: "\(work)/disk-\(i).img")).truncate(atOffset: 64 << 20)
        }
        let added = try CLI.run(["site", "add", "branch", "--store", central])
        guard added.status == 0 else { throw SetupError("site add: \(added.stderr)") }
        try Data(added.stdout.utf8).write(to: URL(fileURLWithPath: "\(work)/site.token"))

        let centralLog = "\(work)/central.log", siteLog = "\(work)/site.log"
        let centralServer = try MirrorTests.Offices.serve(["serve", "--store", central, "--http", "127.0.0.1:\(centralPort)"], log: centralLog, port: centralPort)
        defer { kill(centralServer.processIdentifier, SIGKILL); centralServer.waitUntilExit() }
        let siteServer = try MirrorTests.Offices.serve(["serve", "--upstream", "http://127.0.0.1:\(centralPort)", "--site-token", "\(work)/site.token",
                                                        "--store", site, "--http", "127.0.0.1:\(sitePort)"], log: siteLog, port: sitePort)
        defer { kill(siteServer.processIdentifier, SIGKILL); siteServer.waitUntilExit() }

        // All three at once: the QEMU machine through `imprint lab`, the two host agents beside it.
        let disk = "\(work)/disk-pxe.img"
        _ = FileManager.default.createFile(atPath: disk, contents: nil)
        try FileHandle(forWritingTo: URL(fileURLWithPath: disk)).truncate(atOffset: 64 << 20)
        let group = DispatchGroup()
        nonisolated(unsafe) var agents: [Int: CLI.Output] = [:]
        let lock = NSLock()
        for i in Self.hosts.indices {
            group.enter()
            DispatchQueue.global().async {
                defer { group.leave() }
                let result = try? DeployHostTests.agent(["--disk", "\(work)/disk-\(i).img", "--identity", "\(work)/identity-\(i).json"])
                lock.lock()
                agents[i] = result
                lock.unlock()
            }
        }
        let started = Date()
        let lab = try CLI.run(["lab", Self.machine, "--pxe", "--firmware", "ovmf", "--disk", disk, "--timeout", "420",
                               "--server", "http://10.0.2.2:\(sitePort)", "--store", central])
        group.wait()
        print("mirror PXE: power-on to the deployed system's power-off \(Int(Date().timeIntervalSince(started))) s")
        let lines = lab.stdout.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        let tail = lab.stderr + "\n" + lines.suffix(50).joined(separator: "\n")
        #expect(lab.status == 0, "\(tail)")
        #expect(lines.contains { $0.hasPrefix("imprint: claim: this device's token claimed from http://10.0.2.2:\(sitePort)") }, "\(tail)")
        #expect(lines.contains("hello from branch-pxe"), "\(tail)")
        for i in Self.hosts.indices {
            #expect(agents[i]?.status == 0, "host agent \(i): \(agents[i]?.stderr ?? "did not run")")
        }

        // The boot files came through the site; the blob crossed once for all three.
        let siteText = (try? String(contentsOfFile: siteLog, encoding: .utf8)) ?? ""
        let hyphenated = Self.machine.replacingOccurrences(of: ":", with: "-")
        for file in ["devices/\(hyphenated)/boot.ipxe", "boot/qemu-virtio/vmlinuz", "boot/qemu-virtio/initrd.img", "devices/\(hyphenated)/identity.cpio"] {
            #expect(siteText.contains("GET /\(file) 200"), "the site served \(file): \(siteText.suffix(3000))")
        }
        let descriptor = (try? String(contentsOfFile: "\(central)/images/demo.json", encoding: .utf8)) ?? ""
        let blob = descriptor.range(of: "\"blob\": \"").map { String(descriptor[$0.upperBound...].prefix(64)) } ?? "?"
        let centralText = (try? String(contentsOfFile: centralLog, encoding: .utf8)) ?? ""
        let crossings = centralText.split(separator: "\n").filter { $0.contains("GET /blobs/sha256/\(blob)") }
        #expect(crossings.count == 1, "the blob crossed to central once: \(crossings)")

        // Central sees every site machine done (reports forwarded with their tokens).
        var status = ""
        for _ in 0..<150 {
            status = try CLI.run(["status", "--json", "--store", central]).stdout
            if status.components(separatedBy: "\"done\"").count - 1 >= 3 { break }
            usleep(200_000)
        }
        #expect(status.components(separatedBy: "\"done\"").count - 1 == 3, "\(status)")
    }
}
