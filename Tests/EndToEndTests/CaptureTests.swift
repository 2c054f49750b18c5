import Foundation
import Testing

/// Issue 8, capture in host mode: `imprint device capture`, the release
/// `imprint-agent --capture --disk FILE --identity FILE.json` against a real `imprint serve`,
/// `imprint image list --incoming`, `imprint image accept`, and a deploy of the accepted image.
@Suite(.serialized) struct CaptureTests {
    typealias Lab = DeployHostTests.Lab
    static let mac = DeployHostTests.mac
    static let macPath = DeployHostTests.macPath

    @Test func capturesAcceptsAndDeploysTheSameBytes() throws {
        // 16 MiB: 1 MiB of random data every 4 MiB, zeros between.
        let lab = try Lab(imageMiB: 16, dataEvery: 4)
        defer { lab.finish() }
        let source = "\(lab.work)/image.raw"
        try lab.cli(["device", "capture", Self.mac, "--name", "captured", "--store", lab.storePath])
        #expect(lab.storeText("devices/\(Self.macPath)/assignment.json").contains("\"mode\": \"capture\""))

        let run = try DeployHostTests.agent(["--capture", "--disk", source, "--identity", lab.identity])
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        #expect(FileManager.default.fileExists(atPath: "\(lab.storePath)/incoming/captured/blob"))
        let blobBytes = (try? FileManager.default.attributesOfItem(atPath: "\(lab.storePath)/incoming/captured/blob")[.size] as? Int) ?? 0
        #expect(blobBytes > 4 << 20 && blobBytes < 5 << 20, "the zeros compress away: \(blobBytes) bytes for 4 MiB of data")
        #expect(lab.storeText("reports/\(Self.macPath)/status.json").contains("\"phase\": \"done\""))

        // incoming/ is never served.
        let served = try lab.store.shellOutput("curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:\(lab.port)/incoming/captured/blob")
        #expect(served == "404", "GET incoming/ answered \(served)")

        let waiting = try CLI.run(["image", "list", "--incoming", "--json", "--store", lab.storePath])
        #expect(waiting.status == 0 && waiting.stdout.contains("\"captured\"") && waiting.stdout.contains("\"complete\": true"), "\(waiting.stdout)\(waiting.stderr)")

        let accepted = try CLI.run(["image", "accept", "captured", "--store", lab.storePath])
        #expect(accepted.status == 0, "\(accepted.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(lab.storePath)/incoming/captured"))
        let descriptor = lab.storeText("images/captured.json")
        #expect(descriptor.contains("\"compression\": \"zstd\"") && descriptor.contains("\"uncompressedSize\": 16777216"), "\(descriptor)")
        let images = try CLI.run(["image", "list", "--json", "--store", lab.storePath])
        #expect(images.stdout.contains("\"captured\""))

        // A second device deploys the accepted image: the same bytes.
        let second = "52:54:00:aa:bb:02"
        try lab.cli(["device", "add", second, "--profile", "qemu-virtio", "--image", "captured", "--hostname", "lab-02",
                     "--server", "http://127.0.0.1:\(lab.port)", "--store", lab.storePath])
        try lab.store.shell("cpio -i --quiet --to-stdout etc/imprint/identity.json < store/devices/52-54-00-aa-bb-02/identity.cpio > identity2.json")
        let disk = try lab.disk(mib: 16, name: "disk2.img")
        let deploy = try DeployHostTests.agent(["--disk", disk, "--identity", "\(lab.work)/identity2.json"])
        #expect(deploy.status == 0, "\(deploy.stdout.suffix(2000))\n\(deploy.stderr)")
        #expect(lab.file("disk2.img") == lab.file("image.raw"), "the deployed disk holds the captured bytes")
    }

    @Test func refusesWhatIsNotAssignedAndNamesThatExist() throws {
        let lab = try Lab(imageMiB: 4, dataEvery: 2)
        defer { lab.finish() }
        // The device is assigned a deploy: the agent says so, and the server refuses a raw upload.
        let run = try DeployHostTests.agent(["--capture", "--disk", "\(lab.work)/image.raw", "--identity", lab.identity])
        #expect(run.status == 1 && run.stderr.contains("not capture"), "\(run.stderr)")
        let token = try lab.claimToken()  // the device's own token, as its agent claimed it
        let code = try lab.store.shellOutput("curl -s -o /dev/null -w '%{http_code}' -H 'Expect:' -H 'Authorization: Bearer \(token)' -T image.raw http://127.0.0.1:\(lab.port)/uploads/\(Self.macPath)/golden2")
        #expect(code == "403", "an upload without a capture assignment: HTTP \(code)")
        let noToken = try lab.store.shellOutput("curl -s -o /dev/null -w '%{http_code}' -H 'Expect:' -T image.raw http://127.0.0.1:\(lab.port)/uploads/\(Self.macPath)/golden2")
        #expect(noToken == "401")
        #expect(!FileManager.default.fileExists(atPath: "\(lab.storePath)/incoming/golden2"))

        // A name that is an image already.
        let exists = try CLI.run(["device", "capture", Self.mac, "--name", "golden", "--store", lab.storePath])
        #expect(exists.status != 0 && exists.stderr.contains("exists"), "\(exists.stderr)")
        let forced = try CLI.run(["device", "capture", Self.mac, "--name", "golden", "--force", "--store", lab.storePath])
        #expect(forced.status == 0, "\(forced.stderr)")
        // Assigned golden now (and rearmed: claim again), the upload of another name is still refused.
        let token2 = try lab.claimToken()
        let other = try lab.store.shellOutput("curl -s -o /dev/null -w '%{http_code}' -H 'Expect:' -H 'Authorization: Bearer \(token2)' -T image.raw http://127.0.0.1:\(lab.port)/uploads/\(Self.macPath)/golden2")
        #expect(other == "403")
        // A name waiting in incoming/.
        try lab.cli(["device", "capture", Self.mac, "--name", "waiting", "--store", lab.storePath])
        let captured = try DeployHostTests.agent(["--capture", "--disk", "\(lab.work)/image.raw", "--identity", lab.identity])
        #expect(captured.status == 0, "\(captured.stderr)")
        let again = try CLI.run(["device", "capture", Self.mac, "--name", "waiting", "--store", lab.storePath])
        #expect(again.status != 0 && again.stderr.contains("incoming/"), "\(again.stderr)")
        // A new device needs --profile.
        let new = try CLI.run(["device", "capture", "52:54:00:aa:bb:09", "--name", "fresh", "--store", lab.storePath])
        #expect(new.status != 0 && new.stderr.contains("--profile"), "\(new.stderr)")
        let added = try CLI.run(["device", "capture", "52:54:00:aa:bb:09", "--name", "fresh", "--profile", "qemu-virtio", "--store", lab.storePath])
        #expect(added.status == 0, "\(added.stderr)")
        #expect(lab.storeText("devices/52-54-00-aa-bb-09/assignment.json").contains("\"mode\": \"capture\""))
    }

    @Test func aDiskThatFailsMidCaptureLeavesNothingToAccept() throws {
        let lab = try Lab(imageMiB: 4, dataEvery: 2)
        defer { lab.finish() }
        try lab.cli(["device", "capture", Self.mac, "--name", "broken", "--store", lab.storePath])
        // 192 MiB of random data, cut to 8 MiB once the capture has begun: the read fails mid-way.
        try lab.store.shell("head -c 201326592 /dev/urandom > big.raw")
        let big = "\(lab.work)/big.raw"
        nonisolated(unsafe) var cut = false
        let run = try DeployHostTests.agent(["--capture", "--disk", big, "--identity", lab.identity]) { line in
            guard !cut, line.contains("capturing") else { return }
            cut = true
            truncate(big, 8 << 20)
        }
        #expect(cut)
        #expect(run.status == 1 && run.stderr.contains("ended at byte"), "\(run.stderr)")
        let status = lab.storeText("reports/\(Self.macPath)/status.json")
        #expect(status.contains("\"phase\": \"failed\"") && status.contains("ended at byte"), "\(status)")
        #expect(!FileManager.default.fileExists(atPath: "\(lab.storePath)/incoming/broken/blob"))
        let accept = try CLI.run(["image", "accept", "broken", "--store", lab.storePath])
        #expect(accept.status != 0 && accept.stderr.contains("capture it again"), "\(accept.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(lab.storePath)/images/broken.json"))
        // No partial file is left in incoming/ once the server has seen the upload end.
        usleep(500_000)
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: "\(lab.storePath)/incoming/broken")) ?? []
        #expect(leftovers.filter { $0.hasSuffix(".partial") }.isEmpty, "\(leftovers)")
    }

    @Test func aFullStoreDiskIsReportedAndLeavesNothingHalfWritten() throws {
        guard getuid() == 0 else { throw SetupError("the full-disk capture test needs root, to mount a 1 MiB tmpfs over incoming/") }
        let lab = try Lab(imageMiB: 4, dataEvery: 2)
        defer { lab.finish() }
        try lab.cli(["device", "capture", Self.mac, "--name", "full", "--store", lab.storePath])
        try lab.store.shell("mkdir -p store/incoming && mount -t tmpfs -o size=1m,mode=0700 tmpfs store/incoming")
        defer { try? lab.store.shell("umount store/incoming") }
        // 4 MiB of random data: it cannot compress into 1 MiB.
        try lab.store.shell("head -c 4194304 /dev/urandom > random.raw")
        let run = try DeployHostTests.agent(["--capture", "--disk", "\(lab.work)/random.raw", "--identity", lab.identity])
        #expect(run.status == 1 && run.stderr.contains("507"), "\(run.stderr)")
        #expect(run.stdout.contains("starting again from the first byte"), "a full disk may be freed: the agent tries again")
        let left = (try? FileManager.default.subpathsOfDirectory(atPath: "\(lab.storePath)/incoming")) ?? []
        #expect(left.filter { !$0.hasSuffix("full") }.isEmpty, "nothing half-written in incoming/: \(left)")
        let accept = try CLI.run(["image", "accept", "full", "--store", lab.storePath])
        #expect(accept.status != 0)
    }
}

extension CLIStore {
    /// A shell command's stdout, trimmed, run in the work folder.
    func shellOutput(_ command: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        process.currentDirectoryURL = URL(fileURLWithPath: work)
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
