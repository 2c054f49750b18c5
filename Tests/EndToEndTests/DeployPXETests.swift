import Foundation
import Testing

/// Issue 5 end to end, as `make demo` does it: a blank QEMU machine (OVMF) PXE-boots the agent
/// from `imprint serve`, gets an IP by DHCP, deploys the demo disk image, customizes it, reports
/// `done`, reboots, and the deployed system itself says hello under its assigned name.
@Suite(.serialized) struct DeployPXETests {
    @Test func aBlankMachineDeploysTheDemoImageAndBootsIt() throws {
        let work = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let store = "\(work)/store"
        let port = try PXEBootTests.freePort()
        let mac = "52:54:00:12:34:56"

        let build = try CLI.run(["build", "recipes/qemu-virtio.yaml", "--store", store])
        #expect(build.status == 0, "\(build.stderr)")
        let demo = try CLI.run(["image", "demo", "--out", "\(work)/demo.img"])
        try #require(demo.status == 0, "\(demo.stderr)")
        let add = try CLI.run(["image", "add", "\(work)/demo.img", "--name", "demo", "--compress", "zstd", "--store", store])
        try #require(add.status == 0, "\(add.stderr)")
        try "deployed by imprint\n".write(toFile: "\(work)/motd", atomically: true, encoding: .utf8)
        try "#cloud-config\nhostname: lab-01\n".write(toFile: "\(work)/user-data", atomically: true, encoding: .utf8)
        let device = try CLI.run(["device", "add", mac, "--profile", "qemu-virtio", "--image", "demo", "--hostname", "lab-01",
                                  "--file", "\(work)/motd:/etc/motd", "--user-data", "\(work)/user-data",
                                  "--server", "http://10.0.2.2:\(port)", "--store", store])
        try #require(device.status == 0, "\(device.stderr)")

        let serve = Process()
        serve.executableURL = URL(fileURLWithPath: try CLI.binary)
        serve.arguments = ["serve", "--store", store, "--http", "127.0.0.1:\(port)"]
        serve.standardOutput = FileHandle.nullDevice
        serve.standardError = FileHandle.nullDevice
        try serve.run()
        defer { kill(serve.processIdentifier, SIGKILL); serve.waitUntilExit() }

        let disk = "\(work)/disk.img"
        #expect(FileManager.default.createFile(atPath: disk, contents: nil))
        try FileHandle(forWritingTo: URL(fileURLWithPath: disk)).truncate(atOffset: 64 << 20)
        let started = Date()
        let lab = try CLI.run(["lab", mac, "--pxe", "--firmware", "ovmf", "--disk", disk, "--timeout", "420", "--store", store])
        let seconds = Date().timeIntervalSince(started)
        let lines = lab.stdout.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        let tail = lines.suffix(60).joined(separator: "\n")
        #expect(lab.status == 0, "lab: \(lab.stderr)\n\(tail)")
        print("deploy PXE: power-on to the deployed system's power-off \(Int(seconds)) s")

        // The agent's side: DHCP, the stream, customization, done, reboot.
        #expect(lines.contains { $0.hasPrefix("imprint: dhcp:") && $0.contains("lease 10.0.2.15/24") }, "\(tail)")
        #expect(lines.contains { $0.contains("blob sha256") && $0.hasSuffix("verified") }, "\(tail)")
        #expect(lines.contains("imprint: customize: hostname lab-01"), "\(tail)")
        #expect(lines.contains("imprint: deploy done, rebooting into the deployed system"), "\(tail)")
        // The deployed system's own output, after the reboot.
        #expect(lines.contains("hello from lab-01"), "\(tail)")
        #expect(lines.contains("demo: customized: hostname lab-01"), "\(tail)")
        #expect(lines.contains("demo: customized: file /etc/motd"), "\(tail)")
        #expect(lines.contains { $0.hasPrefix("demo: seed user-data: #cloud-config") }, "\(tail)")

        let status = try CLI.run(["status", "52-54-00-12-34-56", "--json", "--store", store])
        #expect(status.status == 0, "\(status.stderr)")
        #expect(status.stdout.contains("\"phase\": \"done\"") || status.stdout.contains("\"phase\":\"done\""), "\(status.stdout)")
        for timing in ["network", "assignment", "stream", "verify", "customize", "total"] {
            #expect(status.stdout.contains("\"\(timing)\""), "timings has \(timing): \(status.stdout)")
        }
        let log = (try? String(contentsOfFile: "\(store)/reports/52-54-00-12-34-56/log.txt", encoding: .utf8)) ?? ""
        #expect(log.contains("imprint: phase streaming"), "log.txt holds the console log")
    }

    /// `--after kexec` under SeaBIOS: the demo disk is UEFI-only (a UKI on its ESP), so SeaBIOS cannot
    /// boot it; the hello can only come from the agent kexec'ing the deployed root's /boot/vmlinuz.
    @Test func kexecBootsTheDeployedKernelWithoutTheFirmware() throws {
        let work = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let store = "\(work)/store"
        let port = try PXEBootTests.freePort()
        let mac = "52:54:00:12:34:57"
        #expect(try CLI.run(["build", "recipes/qemu-virtio.yaml", "--store", store]).status == 0)
        let demo = try CLI.run(["image", "demo", "--out", "\(work)/demo.img"])
        try #require(demo.status == 0, "\(demo.stderr)")
        try #require(try CLI.run(["image", "add", "\(work)/demo.img", "--name", "demo", "--store", store]).status == 0)
        let device = try CLI.run(["device", "add", mac, "--profile", "qemu-virtio", "--image", "demo", "--hostname", "lab-02",
                                  "--after", "kexec", "--server", "http://10.0.2.2:\(port)", "--store", store])
        try #require(device.status == 0, "\(device.stderr)")
        let serve = Process()
        serve.executableURL = URL(fileURLWithPath: try CLI.binary)
        serve.arguments = ["serve", "--store", store, "--http", "127.0.0.1:\(port)"]
        serve.standardOutput = FileHandle.nullDevice
        serve.standardError = FileHandle.nullDevice
        try serve.run()
        defer { kill(serve.processIdentifier, SIGKILL); serve.waitUntilExit() }
        let disk = "\(work)/disk.img"
        #expect(FileManager.default.createFile(atPath: disk, contents: nil))
        try FileHandle(forWritingTo: URL(fileURLWithPath: disk)).truncate(atOffset: 64 << 20)
        let lab = try CLI.run(["lab", mac, "--pxe", "--firmware", "seabios", "--disk", disk, "--timeout", "300", "--store", store])
        let lines = lab.stdout.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        let tail = lines.suffix(60).joined(separator: "\n")
        #expect(lab.status == 0, "lab: \(lab.stderr)\n\(tail)")
        #expect(lines.contains { $0.hasPrefix("imprint: after: kexec /dev/vda2/boot/vmlinuz") && $0.contains("root=PARTUUID=") }, "\(tail)")
        #expect(lines.contains("hello from lab-02"), "\(tail)")
        #expect(!lines.contains { $0.contains("rebooting instead") }, "\(tail)")
    }
}
