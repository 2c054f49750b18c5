import Foundation
import Testing

/// Issue 5 in host mode: the release `imprint-agent --disk FILE --identity FILE.json` against a
/// real `imprint serve`, a file standing in for the disk.
@Suite(.serialized) struct DeployHostTests {
    static let mac = "52:54:00:12:34:56"
    static let macPath = "52-54-00-12-34-56"

    /// A store with a fake profile, one image and the device; the identity extracted; a server.
    final class Lab: @unchecked Sendable {
        let store: CLIStore
        let port: Int
        var server: Process?
        var work: String { store.work }
        var storePath: String { store.path }
        var identity: String { "\(work)/identity.json" }

        /// `compress`: the shell command that makes the blob from `image.raw` (`zstd -q`, `xz -T1 -0`, ...).
        /// `makeImage`, when given, is the shell command that makes `image.blob` instead (a tar tree);
        /// `deviceOptions` go to `device add`.
        init(imageMiB: Int = 24, dataEvery: Int = 4, compress: String = "zstd -q -1 -c image.raw > image.blob", hostname: String = "lab-01",
             makeImage: String? = nil, deviceOptions: [String] = []) throws {
            store = try CLIStore()
            port = try PXEBootTests.freePort()
            try store.fakeProfile()
            if let makeImage {
                try store.shell(makeImage)
            } else {
                // A raw image with 1 MiB of random data every `dataEvery` MiB, zeros between.
                try store.shell("truncate -s \(imageMiB)M image.raw && for i in $(seq 0 \(dataEvery) \(imageMiB - 1)); do head -c 1048576 /dev/urandom | dd of=image.raw bs=1M seek=$i conv=notrunc status=none; done")
                try store.shell(compress)
            }
            try cli(["image", "add", "\(work)/image.blob", "--name", "golden", "--store", storePath])
            try cli(["device", "add", DeployHostTests.mac, "--profile", "qemu-virtio", "--image", "golden", "--hostname", hostname,
                     "--server", "http://127.0.0.1:\(port)", "--store", storePath] + deviceOptions)
            try store.shell("cpio -i --quiet --to-stdout etc/imprint/identity.json < store/devices/\(DeployHostTests.macPath)/identity.cpio > identity.json")
            try startServer()
        }

        func cli(_ arguments: [String]) throws {
            let result = try CLI.run(arguments)
            guard result.status == 0 else { throw SetupError("imprint \(arguments.joined(separator: " ")): \(result.stderr)") }
        }

        /// `imprint device rearm`: the device's next claim gets a new token.
        func rearm(_ mac: String = DeployHostTests.mac) throws {
            try cli(["device", "rearm", mac, "--store", storePath])
        }

        /// Rearms, claims a token as an agent would (`POST devices/<mac>/claim` with curl) and returns it.
        func claimToken() throws -> String {
            try rearm()
            let answer = try store.shellOutput("curl -s -m 10 -X POST http://127.0.0.1:\(port)/devices/\(DeployHostTests.macPath)/claim")
            guard let range = answer.range(of: #"[0-9a-f]{64}"#, options: .regularExpression) else { throw SetupError("claim answered: \(answer)") }
            return String(answer[range])
        }

        /// Writes a freshly claimed token into identity.json, as a medium's identity carries one.
        func claimIntoIdentity() throws {
            let token = try claimToken()
            try store.shell("python3 -c \"import json; p='identity.json'; d=json.load(open(p)); d['token']='\(token)'; json.dump(d, open(p,'w'))\"")
        }

        func startServer() throws {
            let serve = Process()
            serve.executableURL = URL(fileURLWithPath: try CLI.binary)
            serve.arguments = ["serve", "--store", storePath, "--http", "127.0.0.1:\(port)"]
            serve.standardOutput = FileHandle.nullDevice
            serve.standardError = FileHandle.nullDevice
            try serve.run()
            server = serve
            try waitForPort()
        }

        func killServer() {
            guard let server else { return }
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
            self.server = nil
        }

        private func waitForPort() throws {
            for _ in 0..<100 {
                let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                var address = sockaddr_in()
                address.sin_family = sa_family_t(AF_INET)
                address.sin_addr.s_addr = inet_addr("127.0.0.1")
                address.sin_port = in_port_t(UInt16(port).bigEndian)
                let connected = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
                }
                close(fd)
                if connected { return }
                usleep(50_000)
            }
            throw SetupError("imprint serve did not listen on \(port)")
        }

        /// A zeroed disk file of `mib` MiB.
        func disk(mib: Int, name: String = "disk.img") throws -> String {
            try store.shell("rm -f \(name) && truncate -s \(mib)M \(name)")
            return "\(work)/\(name)"
        }

        func file(_ relative: String) -> Data { FileManager.default.contents(atPath: "\(work)/\(relative)") ?? Data() }
        func storeText(_ relative: String) -> String { String(decoding: FileManager.default.contents(atPath: "\(storePath)/\(relative)") ?? Data(), as: UTF8.self) }

        func finish() {
            killServer()
            store.remove()
        }
    }

    /// The agent beside `imprint`.
    static func agentBinary() throws -> String {
        let path = URL(fileURLWithPath: try CLI.binary).deletingLastPathComponent().appendingPathComponent("imprint-agent").path
        guard FileManager.default.isExecutableFile(atPath: path) else { throw SetupError("no imprint-agent at \(path)") }
        return path
    }

    /// Runs the agent; `whileRunning` gets each stdout line as it comes.
    static func agent(_ arguments: [String], environment: [String: String] = [:], whileRunning: ((String) -> Void)? = nil) throws -> CLI.Output {
        try CLI.run(arguments, executable: try agentBinary(), environment: environment, onLine: whileRunning)
    }

    /// The disk's first `count` bytes equal the raw image.
    static func diskHoldsImage(_ lab: Lab, disk: String) -> Bool {
        let image = lab.file("image.raw")
        guard let handle = FileHandle(forReadingAtPath: disk) else { return false }
        defer { try? handle.close() }
        return handle.readData(ofLength: image.count) == image
    }

    @Test func deploysAZstdImageAndResumesAfterTheServerIsKilledMidStream() throws {
        // 128 MiB of random data: more than the kernel buffers between server and agent (up to
        // ~36 MiB here: tcp_rmem 32 MiB + tcp_wmem 4 MiB), so killing the server at 10% cuts the stream.
        let lab = try Lab(imageMiB: 128, dataEvery: 1, compress: "zstd -q -1 -c image.raw > image.blob")
        defer { lab.finish() }
        let disk = try lab.disk(mib: 160)
        nonisolated(unsafe) var killed = false
        let blobBytes = lab.file("image.blob").count
        let result = try Self.agent(["--disk", disk, "--identity", lab.identity, "--max-rate", "40000000"]) { line in
            guard !killed, line.hasPrefix("imprint: stream: 10%") else { return }
            killed = true
            lab.killServer()
            DispatchQueue.global().asyncAfter(deadline: .now() + 1) { try? lab.startServer() }
        }
        #expect(killed, "the server was killed mid-stream")
        #expect(result.status == 0, "\(result.stdout.suffix(3000))\n\(result.stderr)")
        let resumed = result.stdout.split(separator: "\n").first { $0.contains("stream: GET") && $0.contains("from byte") }
        #expect(resumed != nil, "the second GET starts where the first stopped: \(result.stdout.suffix(3000))")
        #expect(Self.diskHoldsImage(lab, disk: disk), "the disk holds the image byte for byte")
        let status = lab.storeText("reports/\(Self.macPath)/status.json")
        #expect(status.contains("\"phase\": \"done\""), "\(status)")
        #expect(status.contains("\"stream\"") && status.contains("\"total\""), "\(status)")
        #expect(lab.storeText("reports/\(Self.macPath)/log.txt").contains("resuming from byte"))
        #expect(blobBytes > 120 << 20, "the blob is incompressible, so larger than the buffers")
    }

    @Test(arguments: [("xz", "xz -T1 -0 -c image.raw > image.blob"), ("gzip", "gzip -1 -c image.raw > image.blob"), ("none", "cp image.raw image.blob")])
    func deploysEveryCompression(name: String, command: String) throws {
        let lab = try Lab(imageMiB: 12, dataEvery: 3, compress: command)
        defer { lab.finish() }
        #expect(lab.storeText("images/golden.json").contains("\"compression\": \"\(name)\""))
        let disk = try lab.disk(mib: 16)
        let result = try Self.agent(["--disk", disk, "--identity", lab.identity])
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        #expect(Self.diskHoldsImage(lab, disk: disk), "the disk holds the image byte for byte")
        #expect(result.stdout.contains("zero blocks skipped"), "\(result.stdout)")
        #expect(lab.storeText("reports/\(Self.macPath)/status.json").contains("\"phase\": \"done\""))
    }

    @Test func aCorruptBlobIsADigestMismatchAndNeverDone() throws {
        let lab = try Lab()
        defer { lab.finish() }
        let descriptor = lab.storeText("images/golden.json")
        guard let range = descriptor.range(of: "\"blob\": \"") else { Issue.record("no blob in \(descriptor)"); return }
        let blob = String(descriptor[range.upperBound...].prefix(64))
        // One byte in the middle of the stored blob changes.
        try lab.store.shell("printf 'X' | dd of=store/blobs/sha256/\(blob) bs=1 seek=300000 conv=notrunc status=none")
        let disk = try lab.disk(mib: 32)
        let result = try Self.agent(["--disk", disk, "--identity", lab.identity])
        #expect(result.status == 1, "\(result.stdout)")
        #expect(result.stderr.contains("digest mismatch"), "\(result.stderr)")
        let status = lab.storeText("reports/\(Self.macPath)/status.json")
        #expect(status.contains("\"phase\": \"failed\"") && status.contains("digest mismatch"), "\(status)")
        #expect(!status.contains("\"done\""), "\(status)")
    }

    @Test func aTruncatedBlobOnTheServerIsReportedNotDone() throws {
        let lab = try Lab()
        defer { lab.finish() }
        let descriptor = lab.storeText("images/golden.json")
        guard let range = descriptor.range(of: "\"blob\": \"") else { Issue.record("no blob in \(descriptor)"); return }
        let blob = String(descriptor[range.upperBound...].prefix(64))
        try lab.store.shell("truncate -s 1000000 store/blobs/sha256/\(blob)")
        let result = try Self.agent(["--disk", try lab.disk(mib: 32), "--identity", lab.identity])
        #expect(result.status == 1)
        #expect(result.stdout.contains("the server closed the body after 1000000 of"), "\(result.stdout)")
        #expect(result.stderr.contains("shorter than its descriptor"), "\(result.stderr)")
        #expect(lab.storeText("reports/\(Self.macPath)/status.json").contains("\"phase\": \"failed\""))
    }

    @Test func aDiskTooSmallIsRefusedBeforeWriting() throws {
        let lab = try Lab(imageMiB: 24)
        defer { lab.finish() }
        let disk = try lab.disk(mib: 8)
        try lab.store.shell("printf 'untouched' | dd of=disk.img conv=notrunc status=none")
        let before = lab.file("disk.img")
        let result = try Self.agent(["--disk", disk, "--identity", lab.identity])
        #expect(result.status == 1)
        #expect(result.stderr.contains("the image needs 24.0 MiB") && result.stderr.contains("nothing was written"), "\(result.stderr)")
        #expect(lab.file("disk.img") == before, "not a byte of the disk changed")
        #expect(!result.stdout.contains("phase streaming"), "\(result.stdout)")
        #expect(lab.storeText("reports/\(Self.macPath)/status.json").contains("\"phase\": \"failed\""))
    }

    @Test func anAssignmentWithAnUnknownSchemaVersionIsRefused() throws {
        let lab = try Lab()
        defer { lab.finish() }
        try lab.store.shell("sed -i 's/\"version\": 1,/\"version\": 7,/' store/devices/\(Self.macPath)/assignment.json")
        try lab.cli(["key", "sign", "--store", lab.storePath])  // signed anew after the hand edit
        let result = try Self.agent(["--disk", try lab.disk(mib: 32), "--identity", lab.identity])
        #expect(result.status == 1)
        #expect(result.stderr.contains("schema version 7 not understood"), "\(result.stderr)")
    }

    @Test func anAssignmentNamingAMissingImageSaysSo() throws {
        let lab = try Lab()
        defer { lab.finish() }
        try lab.store.shell("sed -i 's/\"name\": \"golden\"/\"name\": \"nosuch\"/' store/devices/\(Self.macPath)/assignment.json")
        try lab.cli(["key", "sign", "--store", lab.storePath])  // signed anew after the hand edit
        let result = try Self.agent(["--disk", try lab.disk(mib: 32), "--identity", lab.identity])
        #expect(result.status == 1)
        #expect(result.stderr.contains("image nosuch, which the store does not have"), "\(result.stderr)")
    }

    @Test func aBlockMapBeyondTheDiskIsRefusedBeforeWriting() throws {
        let lab = try Lab(imageMiB: 24)
        defer { lab.finish() }
        // The descriptor's image size stays; its last range now reaches past a 32 MiB disk.
        try lab.store.shell("python3 -c \"import json,sys; p='store/images/golden.json'; d=json.load(open(p)); d['blockMap']['ranges'].append([40<<20, 65536]); json.dump(d, open(p,'w'))\"")
        try lab.cli(["key", "sign", "--store", lab.storePath])  // signed anew after the hand edit
        let result = try Self.agent(["--disk", try lab.disk(mib: 32), "--identity", lab.identity])
        #expect(result.status == 1)
        #expect(result.stderr.contains("block map reaches byte"), "\(result.stderr)")
    }

    @Test func aFullDiskIsReportedAsSuch() throws {
        let lab = try Lab(imageMiB: 24, dataEvery: 1)
        defer { lab.finish() }
        let mount = "\(lab.work)/small"
        try lab.store.shell("mkdir -p small && mount -t tmpfs -o size=4m tmpfs small && truncate -s 32M small/disk.img")
        defer { try? lab.store.shell("umount small") }
        let result = try Self.agent(["--disk", "\(mount)/disk.img", "--identity", lab.identity])
        #expect(result.status == 1)
        #expect(result.stderr.contains("disk full"), "\(result.stderr)")
        let status = lab.storeText("reports/\(Self.macPath)/status.json")
        #expect(status.contains("\"phase\": \"failed\"") && status.contains("disk full"), "\(status)")
    }

    @Test func anHTMLAnswerIsNamedAsSuch() throws {
        let lab = try Lab()
        defer { lab.finish() }
        // A captive-portal-like server: the store's manifests, but an HTML page for every blob.
        let port = try PXEBootTests.freePort()
        let script = """
            import http.server, os, sys
            root = sys.argv[1]
            class H(http.server.BaseHTTPRequestHandler):
                def log_message(self, *a): pass
                def do_GET(self):
                    if self.path.startswith('/blobs/'):
                        body = b'<html><body>Please log in</body></html>'
                        self.send_response(200); self.send_header('Content-Type', 'text/html'); self.send_header('Content-Length', str(len(body))); self.end_headers(); self.wfile.write(body); return
                    path = os.path.join(root, self.path.lstrip('/'))
                    if not os.path.isfile(path): self.send_response(404); self.send_header('Content-Length', '0'); self.end_headers(); return
                    body = open(path, 'rb').read()
                    self.send_response(200); self.send_header('Content-Length', str(len(body))); self.end_headers(); self.wfile.write(body)
                def do_PUT(self):
                    self.rfile.read(int(self.headers.get('Content-Length', 0))); self.send_response(204); self.end_headers()
            http.server.HTTPServer(('127.0.0.1', int(sys.argv[2])), H).serve_forever()
            """
        try script.write(toFile: "\(lab.work)/portal.py", atomically: true, encoding: .utf8)
        let portal = Process()
        portal.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        portal.arguments = ["\(lab.work)/portal.py", lab.storePath, "\(port)"]
        try portal.run()
        defer { kill(portal.processIdentifier, SIGKILL); portal.waitUntilExit() }
        usleep(500_000)
        try lab.claimIntoIdentity()  // the portal answers no claims: the identity carries its token
        let result = try Self.agent(["--disk", try lab.disk(mib: 32), "--identity", lab.identity, "--server", "http://127.0.0.1:\(port)"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("HTML page") || result.stdout.contains("HTML page"), "\(result.stdout)\n\(result.stderr)")
    }
}
