import Foundation
import Testing

/// Issue 5 end to end, as `make demo` does it: a blank QEMU machine PXE-boots the agent from
/// `imprint serve`, gets an IP by DHCP, deploys the demo disk image, customizes it, reports
/// `done`, and the deployed system itself says hello under its assigned name.
@Suite(.serialized) struct DeployPXETests {
    /// A store with the qemu-virtio profile, the demo image and one device, served on 127.0.0.1.
    final class DemoLab {
        let work: String
        let mac: String
        let serve = Process()
        /// The port `imprint serve` listens on (127.0.0.1; the guest's 10.0.2.2), for HTTP.
        let port: Int
        /// With `https`, the port of `serve --https`, which the agent talks to.
        let httpsPort: Int?
        var store: String { "\(work)/store" }

        /// `device`: `device add` options beyond the MAC, profile, image and server.
        /// `format`: the demo image as a raw disk or as a tar tree (`image demo --format tar`).
        /// `https`: the agent talks to `serve --https` (a CA from `imprint ca init --ip 10.0.2.2`);
        /// iPXE still loads the kernel and initrds over TFTP.
        init(mac: String, device: [String], format: String = "raw", https: Bool = false) throws {
            work = try CLI.temporaryDirectory()
            self.mac = mac
            port = try PXEBootTests.freePort()
            httpsPort = https ? try PXEBootTests.freePort() : nil
            let agentServer = httpsPort.map { "https://10.0.2.2:\($0)" } ?? "http://10.0.2.2:\(port)"
            try Self.require(["build", "recipes/qemu-virtio.yaml", "--store", store])
            try Self.require(["image", "demo", "--out", "\(work)/demo.img", "--format", format])
            try Self.require(["image", "add", "\(work)/demo.img", "--name", "demo", "--compress", "zstd", "--store", store])
            try "deployed by imprint\n".write(toFile: "\(work)/motd", atomically: true, encoding: .utf8)
            try "#cloud-config\nhostname: lab-01\n".write(toFile: "\(work)/user-data", atomically: true, encoding: .utf8)
            if https { try Self.require(["ca", "init", "--ip", "10.0.2.2", "--store", store]) }
            try Self.require(["device", "add", mac, "--profile", "qemu-virtio", "--image", "demo", "--server", agentServer,
                              "--store", store] + device.map { $0.replacingOccurrences(of: "WORK", with: work) })
            serve.executableURL = URL(fileURLWithPath: try CLI.binary)
            serve.arguments = ["serve", "--store", store, "--http", "127.0.0.1:\(port)"] + (httpsPort.map { ["--https", "127.0.0.1:\($0)"] } ?? [])
            serve.standardOutput = FileHandle.nullDevice
            serve.standardError = FileHandle.nullDevice
            try serve.run()
        }

        deinit {
            kill(serve.processIdentifier, SIGKILL)
            serve.waitUntilExit()
            try? FileManager.default.removeItem(atPath: work)
        }

        static func require(_ arguments: [String]) throws {
            let result = try CLI.run(arguments)
            guard result.status == 0 else { throw SetupError("imprint \(arguments.prefix(2).joined(separator: " ")): \(result.stderr)") }
        }

        /// `imprint lab MAC --pxe` with a blank 64 MiB disk: its status, console lines, the last of them, and seconds.
        /// `extra`: more `lab` options (`--clock`, `--until`).
        func boot(firmware: String, _ extra: [String] = []) throws -> (status: Int32, lines: [String], tail: String, seconds: Int) {
            let disk = "\(work)/disk.img"
            guard FileManager.default.createFile(atPath: disk, contents: nil) else { throw SetupError("cannot create \(disk)") }
            try FileHandle(forWritingTo: URL(fileURLWithPath: disk)).truncate(atOffset: 64 << 20)
            let started = Date()
            // iPXE cannot fetch https:// (Debian's build): with HTTPS for the agent, it boots over HTTP.
            let server = httpsPort == nil ? [] : ["--server", "http://10.0.2.2:\(port)"]
            let lab = try CLI.run(["lab", mac, "--pxe", "--firmware", firmware, "--disk", disk, "--timeout", "420", "--store", store] + server + extra)
            let lines = lab.stdout.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            let tail = lab.stderr + "\n" + lines.suffix(60).joined(separator: "\n")
            return (lab.status, lines, tail, Int(Date().timeIntervalSince(started)))
        }
    }

    @Test func aBlankMachineDeploysTheDemoImageAndBootsIt() throws {
        let lab = try DemoLab(mac: "52:54:00:12:34:56", device: ["--hostname", "lab-01", "--file", "WORK/motd:/etc/motd", "--user-data", "WORK/user-data"])
        let (status, lines, tail, seconds) = try lab.boot(firmware: "ovmf")
        #expect(status == 0, "\(tail)")
        print("deploy PXE: power-on to the deployed system's power-off \(seconds) s")

        // The agent's side: DHCP, the stream, customization, done, reboot.
        #expect(lines.contains { $0.hasPrefix("imprint: dhcp:") && $0.contains("lease 10.0.2.15/24") }, "\(tail)")
        #expect(lines.contains { $0.contains("blob sha256") && $0.hasSuffix("verified") }, "\(tail)")
        #expect(lines.contains("imprint: customize: hostname lab-01"), "\(tail)")
        // The 33 MiB image's backup GPT moved to the end of the 64 MiB disk: the kernel does not complain.
        #expect(lines.contains("imprint: verify: the image's GPT now spans /dev/vda (backup table moved to the disk's end)"), "\(tail)")
        #expect(!lines.contains { $0.contains("Alternate GPT header not at the end") }, "\(tail)")
        #expect(lines.contains("imprint: deploy done, rebooting into the deployed system"), "\(tail)")
        // The deployed system's own output, after the reboot through the firmware.
        #expect(lines.contains("hello from lab-01"), "\(tail)")
        #expect(lines.contains("demo: customized: hostname lab-01"), "\(tail)")
        #expect(lines.contains("demo: customized: file /etc/motd"), "\(tail)")
        #expect(lines.contains { $0.hasPrefix("demo: seed user-data: #cloud-config") }, "\(tail)")

        let report = try CLI.run(["status", "52-54-00-12-34-56", "--json", "--store", lab.store])
        #expect(report.status == 0, "\(report.stderr)")
        #expect(report.stdout.contains("\"phase\": \"done\"") || report.stdout.contains("\"phase\":\"done\""), "\(report.stdout)")
        for timing in ["network", "assignment", "stream", "verify", "customize", "total"] {
            #expect(report.stdout.contains("\"\(timing)\""), "timings has \(timing): \(report.stdout)")
        }
        let log = (try? String(contentsOfFile: "\(lab.store)/reports/52-54-00-12-34-56/log.txt", encoding: .utf8)) ?? ""
        #expect(log.contains("imprint: phase streaming"), "log.txt holds the console log")
    }

    /// `--after kexec` under SeaBIOS: the demo disk is UEFI-only (a UKI on its ESP), so SeaBIOS cannot
    /// boot it; the hello can only come from the agent kexec'ing the deployed root's /boot/vmlinuz.
    /// The agent talks HTTPS only (issue 9: `serve --https`, the CA pinned in the identity): its
    /// claim, assignment, blob and reports all cross TLS, verified against the CA alone.
    /// The machine's clock starts in 2001 (a flat CMOS battery): the certificate, valid from 2000,
    /// is still accepted, and the agent takes the pinned server's Date for its expiry checks.
    @Test func kexecBootsTheDeployedKernelWithoutTheFirmwareOverHTTPS() throws {
        let lab = try DemoLab(mac: "52:54:00:12:34:57", device: ["--hostname", "lab-02", "--after", "kexec", "--expires", "2099-01-01T00:00:00Z"], https: true)
        let (status, lines, tail, _) = try lab.boot(firmware: "seabios", ["--clock", "2001-01-01"])
        #expect(status == 0, "\(tail)")
        #expect(lines.contains("imprint: https: trusting only the CA in /etc/imprint/identity.json"), "\(tail)")
        let year = Calendar(identifier: .gregorian).component(.year, from: Date())
        #expect(lines.contains { $0.hasPrefix("imprint: time: this machine's clock 2001-01-01T") && $0.contains("the pinned server's Date \(year)-") },
                "the agent logs both times: \(tail)")
        #expect(lines.contains { $0.contains("https://10.0.2.2:\(lab.httpsPort ?? 0)") }, "the agent names its HTTPS server: \(tail)")
        #expect(lines.contains { $0.contains("blob sha256") && $0.hasSuffix("verified") }, "\(tail)")
        let report = try CLI.run(["status", "52-54-00-12-34-57", "--json", "--store", lab.store])
        #expect(report.stdout.contains("\"phase\": \"done\"") || report.stdout.contains("\"phase\":\"done\""), "the report crossed HTTPS: \(report.stdout)")
        #expect(lines.contains { $0.hasPrefix("imprint: after: kexec /dev/vda2/boot/vmlinuz") && $0.contains("root=PARTUUID=") }, "\(tail)")
        #expect(lines.contains("hello from lab-02"), "\(tail)")
        #expect(!lines.contains { $0.contains("rebooting instead") }, "\(tail)")
    }

    /// An assignment that expired in 2010, on a machine whose clock says 2001: by its own clock it
    /// would deploy; the pinned HTTPS server's Date says otherwise, and the agent refuses before
    /// writing a byte (issue 9: expiry against the later of the two).
    @Test func anExpiredAssignmentIsRefusedByTheServersDateWhenTheClockIsYearsBehind() throws {
        let lab = try DemoLab(mac: "52:54:00:12:34:59", device: ["--hostname", "lab-04", "--expires", "2010-01-01T00:00:00Z"], https: true)
        let (status, lines, tail, _) = try lab.boot(firmware: "seabios", ["--clock", "2001-01-01", "--until", "the assignment was refused"])
        #expect(status == 0, "\(tail)")
        #expect(lines.contains { $0.hasPrefix("imprint: time: this machine's clock 2001-01-01T") }, "\(tail)")
        #expect(lines.contains { $0.contains("the assignment was refused") && $0.contains("expired") }, "\(tail)")
        #expect(!lines.contains { $0.contains("phase streaming") }, "nothing was written: \(tail)")
        let disk = try Data(contentsOf: URL(fileURLWithPath: "\(lab.work)/disk.img"))
        #expect(disk == Data(count: disk.count), "the blank disk stayed blank")
    }

    /// A tar image: the agent lays out the disk (ESP and root), makes the file systems with the
    /// initrd's mke2fs and mkfs.fat, mounts them and extracts the tree; OVMF then boots the UKI the
    /// tree put on the ESP, whose initrd finds the partition named root.
    @Test func aBlankMachineDeploysTheDemoTreeOntoItsLayoutAndBootsIt() throws {
        let lab = try DemoLab(mac: "52:54:00:12:34:58", device: ["--hostname", "lab-03", "--part", "esp:16M:vfat:/boot/efi", "--part", "root:rest:ext4:/"],
                              format: "tar")
        let (status, lines, tail, seconds) = try lab.boot(firmware: "ovmf")
        #expect(status == 0, "\(tail)")
        print("deploy PXE (tar): power-on to the deployed system's power-off \(seconds) s")
        #expect(lines.contains { $0.hasPrefix("imprint: layout: 1 esp 16.0 MiB, 2 root") && $0.hasSuffix("on /dev/vda") }, "\(tail)")
        #expect(lines.contains("imprint: layout: vfat on esp (/dev/vda1)") && lines.contains("imprint: layout: ext4 on root (/dev/vda2)"), "\(tail)")
        #expect(lines.contains { $0.contains("tar members") && $0.hasSuffix("verified") }, "\(tail)")
        #expect(lines.contains("imprint: customize: hostname lab-03"), "\(tail)")
        #expect(lines.contains("imprint: deploy done, rebooting into the deployed system"), "\(tail)")
        #expect(lines.contains("hello from lab-03"), "\(tail)")
        #expect(lines.contains("demo: customized: hostname lab-03"), "\(tail)")
    }
}
