import Foundation
import Testing

/// Issue 6 item 2 end to end: `imprint usb MAC --offline` makes a stick that deploys with no network.
/// A profile with USB drivers is built once; the demo image is assigned to device offline-01.
struct OfflineLab: SuiteTrait, TestScoping {
    static let mac = "52:54:00:0f:f1:01"
    static let hostname = "offline-01"

    struct Fixture: Sendable {
        var work: String
        var store: String { "\(work)/store" }
        var stick: String { "\(work)/offline-01.img" }
        var demo: String { "\(work)/demo.img" }
        var identity: String { "\(work)/identity.json" }
    }

    @TaskLocal static var current: Fixture?

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        let work = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let fixture = try Self.make(work)
        try await Self.$current.withValue(fixture) { try await function() }
    }

    static func make(_ work: String) throws -> Fixture {
        let fixture = Fixture(work: work)
        // The repository's recipe plus the USB stick's drivers (xHCI and usb-storage; sd_mod is in).
        let recipe = try String(contentsOfFile: "\(CLI.packageRoot)/recipes/qemu-virtio.yaml", encoding: .utf8)
            .replacingOccurrences(of: "modules: [virtio_pci,", with: "modules: [xhci_pci, usb_storage, virtio_pci,")
        guard recipe.contains("usb_storage") else { throw SetupError("the qemu-virtio recipe changed: no modules list to extend") }
        try FileManager.default.createDirectory(atPath: "\(work)/recipes", withIntermediateDirectories: true)
        try recipe.write(toFile: "\(work)/recipes/qemu-virtio.yaml", atomically: true, encoding: .utf8)
        try MediaLab.expectSuccess(CLI.run(["build", "\(work)/recipes/qemu-virtio.yaml", "--store", fixture.store],
                                           environment: ["IMPRINT_OVERLAY": "\(CLI.packageRoot)/overlay"]), "build")
        try MediaLab.expectSuccess(CLI.run(["image", "demo", "--out", fixture.demo]), "image demo")
        try MediaLab.expectSuccess(CLI.run(["image", "add", fixture.demo, "--name", "demo", "--compress", "zstd", "--store", fixture.store]), "image add")
        try MediaLab.expectSuccess(CLI.run(["device", "add", mac, "--profile", "qemu-virtio", "--image", "demo", "--hostname", hostname,
                                            "--store", fixture.store]), "device add")
        try MediaLab.expectSuccess(CLI.run(["usb", mac, "--offline", "--out", fixture.stick, "--store", fixture.store]), "usb --offline")
        let hyphenated = mac.replacingOccurrences(of: ":", with: "-")
        try MediaLab.expectSuccess(CLI.run(["sh", "-c", "cpio -i --quiet --to-stdout etc/imprint/identity.json < store/devices/\(hyphenated)/identity.cpio > identity.json"],
                                           cwd: work, executable: "/usr/bin/env"), "identity")
        return fixture
    }
}

@Suite(.serialized, OfflineLab()) struct OfflineUSBTests {
    var lab: OfflineLab.Fixture { get throws { try #require(OfflineLab.current) } }

    /// The data partition's byte offset, from `sfdisk --json`.
    static func dataOffset(_ stick: String) throws -> Int {
        let out = try CLI.run(["sfdisk", "--json", stick], executable: "/usr/bin/env")
        let json = try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any]
        let partitions = (json?["partitiontable"] as? [String: Any])?["partitions"] as? [[String: Any]] ?? []
        guard partitions.count == 3, let start = partitions[2]["start"] as? Int else { throw SetupError("no partition 3 on \(stick): \(out.stdout)") }
        return start * 512
    }

    static func diskHolds(_ image: String, disk: String) -> Bool {
        guard let expected = FileManager.default.contents(atPath: image), let handle = FileHandle(forReadingAtPath: disk) else { return false }
        defer { try? handle.close() }
        // The demo image's ESP (1 MiB to 12 MiB): the GPT before it is rewritten when the backup table
        // moves to the disk's end, and the root after it is customized (its hostname).
        let start = 1 << 20, end = 12 << 20
        guard expected.count >= end else { return false }
        try? handle.seek(toOffset: UInt64(start))
        return handle.readData(ofLength: end - start) == expected.subdata(in: start..<end)
    }

    /// Host mode, no QEMU: the stick's data partition copied out is a store the agent deploys from
    /// through file:// URLs; the reports it writes read back with `imprint status --from`.
    @Test func hostModeDeploysFromTheDataPartition() throws {
        let lab = try lab
        let data = "\(lab.work)/data"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let offset = try Self.dataOffset(lab.stick)
        let copied = try CLI.run(["mcopy", "-s", "-n", "-i", "\(lab.stick)@@\(offset)", "::/devices", "::/images", "::/blobs", "::/reports", data],
                                 executable: "/usr/bin/env", environment: ["MTOOLS_SKIP_CHECK": "1"])
        try #require(copied.status == 0, "\(copied.stderr)")
        let disk = "\(lab.work)/host-disk.img"
        _ = FileManager.default.createFile(atPath: disk, contents: nil)
        try FileHandle(forWritingAtPath: disk).map { try $0.truncate(atOffset: 64 << 20); try $0.close() }
        let agent = try DeployHostTests.agent(["--disk", disk, "--identity", lab.identity, "--server", "file://\(data)"])
        #expect(agent.status == 0, "\(agent.stdout)\n\(agent.stderr)")
        #expect(agent.stdout.contains("GET file://\(data)/devices/52-54-00-0f-f1-01/assignment.json: HTTP 200"), "\(agent.stdout)")
        #expect(Self.diskHolds(lab.demo, disk: disk), "the disk does not hold the demo image")

        let status = try CLI.run(["status", "--from", data])
        #expect(status.status == 0 && status.stdout.contains("52-54-00-0f-f1-01") && status.stdout.contains("done"), "\(status.stdout)\(status.stderr)")
        let json = try CLI.run(["status", OfflineLab.mac, "--from", data, "--json"])
        #expect(json.stdout.contains("\"phase\": \"done\""), "\(json.stdout)")
        #expect(FileManager.default.fileExists(atPath: "\(data)/reports/52-54-00-0f-f1-01/log.txt"))
    }

    /// QEMU with no NIC: the stick boots (OVMF, USB), the agent mounts its data partition, deploys the
    /// demo image onto the blank disk (never onto the stick), writes its reports onto the stick and
    /// reboots; the disk alone then boots the deployed system, which says hello with the assigned name.
    @Test func deploysWithNoNetworkAndTheDiskBoots() throws {
        let lab = try lab
        let stick = "\(lab.work)/boot-stick.img"
        try FileManager.default.copyItem(atPath: lab.stick, toPath: stick)
        let disk = "\(lab.work)/qemu-disk.img"
        _ = FileManager.default.createFile(atPath: disk, contents: nil)
        try FileHandle(forWritingAtPath: disk).map { try $0.truncate(atOffset: 64 << 20); try $0.close() }
        let started = Date()
        let deploy = try CLI.run(["lab", OfflineLab.mac, "--usb", stick, "--disk", disk, "--nic", "none", "--firmware", "ovmf", "--timeout", "400"])
        let deploySeconds = Date().timeIntervalSince(started)
        #expect(deploy.status == 0, "\(deploy.stderr)")
        for line in ["offline: deploying from /dev/sda3", "boot medium IMPRINT_5254000FF101: sda, never a deploy target", "deploy done: demo on /dev/vda",
                     "offline: reports written to the stick"] {
            #expect(deploy.stdout.contains(line), "missing '\(line)':\n\(deploy.stdout.suffix(4000))")
        }
        #expect(!deploy.stdout.contains("DHCP"), "no network expected")
        #expect(Self.diskHolds(lab.demo, disk: disk), "the disk does not hold the demo image's ESP")

        let status = try CLI.run(["status", "--from", stick])
        #expect(status.status == 0 && status.stdout.contains(OfflineLab.hostname) && status.stdout.contains("done"), "\(status.stdout)\(status.stderr)")
        let json = try CLI.run(["status", "--from", stick, "--json"])
        #expect(json.stdout.contains("\"phase\": \"done\"") && json.stdout.contains("\"hostname\": \"offline-01\""), "\(json.stdout)")

        let booted = Date()
        let hello = try CLI.run(["lab", "--iso", disk, "--media-as", "disk", "--nic", "none", "--firmware", "ovmf",
                                 "--until", "hello from \(OfflineLab.hostname)", "--timeout", "300"])
        #expect(hello.status == 0 && hello.stdout.contains("hello from \(OfflineLab.hostname)"), "\(hello.stderr)\n\(hello.stdout.suffix(3000))")
        print("offline stick: deploy run \(String(format: "%.1f", deploySeconds)) s; deployed disk to hello \(String(format: "%.1f", Date().timeIntervalSince(booted))) s")
    }

    /// `--device` refuses this machine's own disks: the root disk, a non-removable one, a file.
    @Test func deviceRefusesThisMachinesDisks() throws {
        let lab = try lab
        let mounts = (try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8)) ?? ""
        var root: String?
        for line in mounts.split(separator: "\n") {
            let fields: [Substring] = line.split(separator: " ")
            if fields.count > 1 && fields[1] == "/" { root = String(fields[0]) }
        }
        if let root, root.hasPrefix("/dev/"), FileManager.default.fileExists(atPath: root) {
            let refused = try CLI.run(["usb", OfflineLab.mac, "--offline", "--device", root, "--store", lab.store])
            let message: String = refused.stderr
            #expect(refused.status != 0, "the root disk \(root) was not refused")
            #expect(message.contains("refusing to write \(root)"), "\(message)")
            #expect(message.contains("holds the running system"), "\(message)")
        }
        let file = try CLI.run(["usb", OfflineLab.mac, "--device", lab.demo, "--store", lab.store])
        #expect(file.status != 0 && file.stderr.contains("is not a block device"), "\(file.stderr)")
        let both = try CLI.run(["usb", OfflineLab.mac, "--device", "/dev/null", "--out", "\(lab.work)/x.img", "--store", lab.store])
        #expect(both.status != 0 && both.stderr.contains("not both"), "\(both.stderr)")
        // A block device that is not a stick: a loop device (non-removable, empty).
        if FileManager.default.fileExists(atPath: "/dev/loop7") {
            let loop = try CLI.run(["usb", OfflineLab.mac, "--device", "/dev/loop7", "--store", lab.store])
            #expect(loop.status != 0 && loop.stderr.contains("refusing to write /dev/loop7"), "\(loop.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: "\(lab.work)/x.img"))
    }

    /// A loop device stands in for a stick (root only): fixed, so it needs --force; one too small is
    /// refused before anything is written; a large enough one gets the stick's bytes, and
    /// `imprint status --from /dev/loopN` reads it.
    @Test func deviceWritesALoopDeviceStandingInForAStick() throws {
        let lab = try lab
        func attach(_ mib: Int) throws -> String? {
            let file = "\(lab.work)/loop-\(mib).img"
            _ = FileManager.default.createFile(atPath: file, contents: nil)
            try FileHandle(forWritingAtPath: file).map { try $0.truncate(atOffset: UInt64(mib) << 20); try $0.close() }
            let out = try CLI.run(["losetup", "-f", "--show", file], executable: "/usr/bin/env")
            return out.status == 0 ? out.stdout.trimmingCharacters(in: .whitespacesAndNewlines) : nil
        }
        guard let small = try attach(40) else {
            print("no loop device here (not root, or no /dev/loop-control): the --device write path is untested")
            return
        }
        defer { _ = try? CLI.run(["losetup", "-d", small], executable: "/usr/bin/env") }
        let fixed = try CLI.run(["usb", OfflineLab.mac, "--offline", "--device", small, "--store", lab.store])
        #expect(fixed.status != 0 && fixed.stderr.contains("is not a removable disk"), "\(fixed.stderr)")
        let tooSmall = try CLI.run(["usb", OfflineLab.mac, "--offline", "--device", small, "--force", "--store", lab.store])
        #expect(tooSmall.status != 0 && tooSmall.stderr.contains("the stick holds 41943040 bytes"), "\(tooSmall.stderr)")
        let zeros = try FileHandle(forReadingFrom: URL(fileURLWithPath: small))
        #expect(zeros.readData(ofLength: 1 << 20) == Data(count: 1 << 20), "nothing written to the small stick")
        try zeros.close()

        guard let large = try attach(80) else { throw SetupError("a second loop device could not be attached") }
        defer { _ = try? CLI.run(["losetup", "-d", large], executable: "/usr/bin/env") }
        let written = try CLI.run(["usb", OfflineLab.mac, "--offline", "--device", large, "--force", "--store", lab.store])
        #expect(written.status == 0 && written.stdout.contains("written and synced"), "\(written.stderr)")
        let image = try #require(FileManager.default.contents(atPath: lab.stick))
        let device = try FileHandle(forReadingFrom: URL(fileURLWithPath: large))
        #expect(device.readData(ofLength: image.count) == image, "the stick holds other bytes than imprint usb --out writes")
        try device.close()
        let status = try CLI.run(["status", "--from", large])
        #expect(status.status == 0 && status.stdout.contains("offline-01"), "\(status.stdout)\(status.stderr)")
    }
}
