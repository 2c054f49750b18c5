import Foundation
import Testing

/// Issue 8, the remote-office mirror: a main office's `imprint serve` and a site's
/// `imprint serve --upstream`, host-mode agents deploying through the site (docs/scale.md).
@Suite(.serialized) struct MirrorTests {
    static let macs = ["52:54:00:00:08:01", "52:54:00:00:08:02", "52:54:00:00:08:03"]

    /// A main office's store with three devices that name the site as their server, a site token,
    /// and the servers, each logging to a file.
    final class Offices: @unchecked Sendable {
        let store: CLIStore
        let centralPort: Int
        let sitePort: Int
        var central: Process?
        var site: Process?
        var work: String { store.work }
        var centralStore: String { store.path }
        var siteStore: String { "\(work)/site" }
        var tokenFile: String { "\(work)/site.token" }
        var centralLog: String { "\(work)/central.log" }
        var siteLog: String { "\(work)/site.log" }
        var centralURL: String { "http://127.0.0.1:\(centralPort)" }

        init(imageMiB: Int = 6) throws {
            store = try CLIStore()
            centralPort = try PXEBootTests.freePort()
            sitePort = try PXEBootTests.freePort()
            try store.fakeProfile()
            try store.shell("truncate -s \(imageMiB)M image.raw && for i in $(seq 0 2 \(imageMiB - 1)); do head -c 1048576 /dev/urandom | dd of=image.raw bs=1M seek=$i conv=notrunc status=none; done && zstd -q -1 -c image.raw > image.blob")
            try cli(["image", "add", "\(work)/image.blob", "--name", "golden", "--store", centralStore])
            for (i, mac) in MirrorTests.macs.enumerated() {
                try cli(["device", "add", mac, "--profile", "qemu-virtio", "--image", "golden", "--hostname", "branch-\(i)",
                         "--server", "http://127.0.0.1:\(sitePort)", "--store", centralStore])
                let folder = mac.replacingOccurrences(of: ":", with: "-")
                try store.shell("cpio -i --quiet --to-stdout etc/imprint/identity.json < store/devices/\(folder)/identity.cpio > identity-\(i).json")
            }
            let added = try CLI.run(["site", "add", "branch", "--store", centralStore])
            guard added.status == 0 else { throw SetupError("site add: \(added.stderr)") }
            try Data(added.stdout.utf8).write(to: URL(fileURLWithPath: tokenFile))
        }

        var blob: String {
            let descriptor = (try? store.text("images/golden.json")) ?? ""
            guard let range = descriptor.range(of: "\"blob\": \"") else { return "" }
            return String(descriptor[range.upperBound...].prefix(64))
        }

        func cli(_ arguments: [String]) throws {
            let result = try CLI.run(arguments)
            guard result.status == 0 else { throw SetupError("imprint \(arguments.joined(separator: " ")): \(result.stderr)") }
        }

        func startCentral() throws {
            central = try Self.serve(["serve", "--store", centralStore, "--http", "127.0.0.1:\(centralPort)"], log: centralLog, port: centralPort)
        }

        func startSite() throws {
            site = try Self.serve(["serve", "--upstream", centralURL, "--site-token", tokenFile, "--store", siteStore,
                                   "--http", "127.0.0.1:\(sitePort)"], log: siteLog, port: sitePort)
        }

        static func serve(_ arguments: [String], log: String, port: Int) throws -> Process {
            if !FileManager.default.fileExists(atPath: log) { _ = FileManager.default.createFile(atPath: log, contents: nil) }
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
            handle.seekToEndOfFile()
            let process = Process()
            process.executableURL = URL(fileURLWithPath: try CLI.binary)
            process.arguments = arguments
            process.standardOutput = FileHandle.nullDevice
            process.standardError = handle
            try process.run()
            for _ in 0..<200 {
                if (try? String(contentsOfFile: log, encoding: .utf8))?.contains("serve: HTTP on 127.0.0.1:\(port)") == true { return process }
                guard process.isRunning else { break }
                usleep(25_000)
            }
            throw SetupError("imprint \(arguments.joined(separator: " ")) did not start: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        }

        /// SIGTERM, and SIGKILL after 10 s: a server that does not stop must fail its test, not hang it.
        func stop(_ process: Process?) {
            guard let process, process.isRunning else { return }
            kill(process.processIdentifier, SIGTERM)
            let end = Date().addingTimeInterval(10)
            while process.isRunning && Date() < end { usleep(50_000) }
            if process.isRunning {
                Issue.record("imprint serve (pid \(process.processIdentifier)) did not stop within 10 s of SIGTERM")
                kill(process.processIdentifier, SIGKILL)
            }
            process.waitUntilExit()
        }

        func text(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

        func disk(_ i: Int) throws -> String {
            try store.shell("rm -f disk-\(i).img && truncate -s 8M disk-\(i).img")
            return "\(work)/disk-\(i).img"
        }

        func diskHoldsImage(_ i: Int) -> Bool {
            let image = FileManager.default.contents(atPath: "\(work)/image.raw") ?? Data()
            guard let handle = FileHandle(forReadingAtPath: "\(work)/disk-\(i).img") else { return false }
            defer { try? handle.close() }
            return !image.isEmpty && handle.readData(ofLength: image.count) == image
        }

        /// Waits until central's `imprint status --json` says `done` for `count` machines.
        func centralDone(_ count: Int, seconds: Double = 30) throws -> String {
            let end = Date().addingTimeInterval(seconds)
            var last = ""
            while Date() < end {
                last = try CLI.run(["status", "--json", "--store", centralStore]).stdout
                if last.components(separatedBy: "\"phase\" : \"done\"").count - 1 >= count || last.components(separatedBy: "\"phase\": \"done\"").count - 1 >= count { return last }
                usleep(200_000)
            }
            return last
        }

        func finish() {
            stop(site)
            stop(central)
            store.remove()
        }
    }

    static func agent(_ offices: Offices, _ i: Int) throws -> CLI.Output {
        try DeployHostTests.agent(["--disk", try offices.disk(i), "--identity", "\(offices.work)/identity-\(i).json"])
    }

    @Test func threeMachinesDeployThroughTheSiteAndTheBlobCrossesOnce() throws {
        let offices = try Offices()
        defer { offices.finish() }
        try offices.startCentral()
        try offices.startSite()
        nonisolated(unsafe) var results: [CLI.Output?] = [nil, nil, nil]
        let lock = NSLock()
        DispatchQueue.concurrentPerform(iterations: 3) { i in
            let result = try? Self.agent(offices, i)
            lock.lock()
            results[i] = result
            lock.unlock()
        }
        for i in 0..<3 {
            #expect(results[i]?.status == 0, "machine \(i): \(results[i]?.stdout.suffix(2000) ?? "did not run")\n\(results[i]?.stderr ?? "")")
            #expect(offices.diskHoldsImage(i), "machine \(i)'s disk holds the image")
        }
        let blobGETs = offices.text(offices.centralLog).split(separator: "\n").filter { $0.contains("GET /blobs/sha256/\(offices.blob) 200") }
        #expect(blobGETs.count == 1, "the blob crossed to upstream once: \(blobGETs)")
        #expect(FileManager.default.fileExists(atPath: "\(offices.siteStore)/blobs/sha256/\(offices.blob)"), "the site keeps it")
        // Reports reached central through the site.
        let status = try offices.centralDone(3)
        #expect(status.components(separatedBy: "\"done\"").count - 1 == 3, "central's imprint status shows the three: \(status)")
        let table = try CLI.run(["status", "--store", offices.centralStore]).stdout
        #expect(table.contains("branch-0") && table.contains("branch-2") && table.contains("done"), "\(table)")
        #expect(offices.text(offices.siteLog).contains("forwarded to \(offices.centralURL)"))
    }

    @Test func aSitePreSeededWithReplicateDeploysWithCentralStopped() throws {
        let offices = try Offices()
        defer { offices.finish() }
        try offices.startCentral()
        let copy = try CLI.run(["replicate", "--from", offices.centralURL, "--store", offices.siteStore, "--site-token", offices.tokenFile,
                                "--device", MirrorTests.macs[0], "--delegate", "--rate", "20MB/s"])
        #expect(copy.status == 0, "\(copy.stderr)")
        #expect(copy.stdout.contains("1 blobs fetched"), "\(copy.stdout)")
        for file in ["devices/52-54-00-00-08-01/assignment.json", "images/golden.json", "boot/qemu-virtio/initrd.img", "blobs/sha256/\(offices.blob)"] {
            #expect(FileManager.default.fileExists(atPath: "\(offices.siteStore)/\(file)"), "\(file) copied")
        }
        // Again: nothing changed, so nothing crosses but 304s.
        let again = try CLI.run(["replicate", "--from", offices.centralURL, "--store", offices.siteStore, "--site-token", offices.tokenFile,
                                 "--device", MirrorTests.macs[0]])
        #expect(again.status == 0 && again.stdout.contains("0 files fetched") && again.stdout.contains("1 already held"), "\(again.stdout)")
        offices.stop(offices.central)
        try offices.startSite()
        let result = try Self.agent(offices, 0)
        #expect(result.status == 0, "\(result.stdout.suffix(2000))\n\(result.stderr)")
        #expect(offices.diskHoldsImage(0))
        let siteLog = offices.text(offices.siteLog)
        #expect(siteLog.contains("upstream unreachable"), "\(siteLog.suffix(2000))")
        #expect(siteLog.contains("not forwarded"), "the report waits for central")
        // Central back: the waiting report arrives.
        try offices.startCentral()
        let status = try offices.centralDone(1, seconds: 40)
        #expect(status.contains("done"), "\(status)")
    }

    @Test func aBlobCorruptedAtCentralIsRefusedByTheSiteAndNeverCached() throws {
        let offices = try Offices()
        defer { offices.finish() }
        try offices.store.shell("printf 'X' | dd of=store/blobs/sha256/\(offices.blob) bs=1 seek=300000 conv=notrunc status=none")
        try offices.startCentral()
        try offices.startSite()
        let result = try Self.agent(offices, 0)
        #expect(result.status != 0, "\(result.stdout.suffix(2000))")
        #expect(!FileManager.default.fileExists(atPath: "\(offices.siteStore)/blobs/sha256/\(offices.blob)"), "never cached")
        let siteLog = offices.text(offices.siteLog)
        #expect(siteLog.contains("SHA-256 mismatch") && siteLog.contains("not kept"), "\(siteLog.suffix(2000))")
    }

    /// docs/scale.md's nginx configuration, run for real (own config, pid file and temp folders) as
    /// the cache between a site's machines and the store: concurrent requests for a blob make one
    /// upstream GET, later ones are hits, and other files are not cached.
    @Test func nginxCachesBlobsInFrontOfTheStore() throws {
        let nginx = ["/usr/sbin/nginx", "/usr/bin/nginx"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let nginx else { Issue.record("no nginx: scripts/bootstrap installs it"); return }
        let offices = try Offices()
        defer { offices.finish() }
        try offices.startCentral()
        let port = try PXEBootTests.freePort()
        let dir = "\(offices.work)/nginx"
        try FileManager.default.createDirectory(atPath: "\(dir)/cache", withIntermediateDirectories: true)
        // nginx's workers run as nobody: they must reach and write the cache.
        chmod(offices.work, 0o755)
        chmod(dir, 0o777)
        chmod("\(dir)/cache", 0o777)
        let config = """
            worker_processes 1;
            daemon off;
            pid \(dir)/nginx.pid;
            error_log \(dir)/error.log;
            events { worker_connections 256; }
            http {
              client_body_temp_path \(dir)/body;
              proxy_temp_path \(dir)/proxy;
              fastcgi_temp_path \(dir)/fastcgi;
              uwsgi_temp_path \(dir)/uwsgi;
              scgi_temp_path \(dir)/scgi;
              access_log \(dir)/access.log;
              proxy_cache_path \(dir)/cache levels=1:2 keys_zone=imprint:10m max_size=1g inactive=365d use_temp_path=off;
              server {
                listen 127.0.0.1:\(port);
                location /blobs/ {
                  proxy_pass \(offices.centralURL);
                  proxy_cache imprint;
                  proxy_cache_valid 200 365d;
                  proxy_cache_lock on;
                  proxy_cache_lock_timeout 30m;
                  proxy_cache_lock_age 30m;
                  proxy_cache_use_stale error timeout updating;
                  proxy_buffering on;
                  proxy_max_temp_file_size 0;
                  add_header X-Cache-Status $upstream_cache_status;
                }
                location / {
                  proxy_pass \(offices.centralURL);
                  proxy_cache off;
                }
              }
            }
            """
        try Data(config.utf8).write(to: URL(fileURLWithPath: "\(dir)/nginx.conf"))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: nginx)
        process.arguments = ["-p", dir, "-c", "\(dir)/nginx.conf"]
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
        }
        let base = "http://127.0.0.1:\(port)"
        let path = "/blobs/sha256/\(offices.blob)"
        var up = false
        for _ in 0..<100 where !up {
            up = (try? offices.store.shell("curl -sf -m 5 -o /dev/null \(base)/boot/qemu-virtio/build.json")) != nil
            if !up { usleep(50_000) }
        }
        #expect(up, "nginx answers: \(offices.text("\(dir)/error.log"))")
        try offices.store.shell("sha256sum < image.blob | cut -c1-64 > want.sha")
        // Three at once (proxy_cache_lock), then one more. xargs -P, not `&` and `wait`: a shell started
        // from a test thread has SIGCHLD blocked, and dash's `wait` then never returns (the first runs hung so).
        try offices.store.shell("printf '1\\n2\\n3\\n' | xargs -P 3 -I{} curl -s -m 60 -D h{} -o b{} \(base)\(path); curl -s -m 60 -D h4 -o b4 \(base)\(path)")
        for i in 1...4 {
            try offices.store.shell("sha256sum < b\(i) | cut -c1-64 | cmp -s - want.sha")
        }
        let last = offices.text("\(offices.work)/h4")
        #expect(last.contains("X-Cache-Status: HIT"), "\(last)")
        #expect(last.lowercased().contains("cache-control: public, max-age=31536000, immutable"), "\(last)")
        let crossings = offices.text(offices.centralLog).split(separator: "\n").filter { $0.contains("GET \(path) 200") }
        #expect(crossings.count == 1, "one upstream GET behind the cache: \(crossings)")
        // Not a blob: every request reaches the store.
        try offices.store.shell("curl -sf -o /dev/null \(base)/images/golden.json && curl -sf -o /dev/null \(base)/images/golden.json")
        #expect(offices.text(offices.centralLog).components(separatedBy: "GET /images/golden.json 200").count - 1 == 2)
        // A machine deploys through the cache: claim, assignment (passed through with its token), blob (a hit).
        let agent = try DeployHostTests.agent(["--disk", try offices.disk(0), "--identity", "\(offices.work)/identity-0.json", "--server", base])
        #expect(agent.status == 0, "\(agent.stdout.suffix(1500))\n\(agent.stderr)")
        #expect(offices.diskHoldsImage(0))
        let afterDeploy = offices.text(offices.centralLog).split(separator: "\n").filter { $0.contains("GET \(path) 200") }
        #expect(afterDeploy.count == 1, "the deploy's blob came from the cache: \(afterDeploy)")
        let assignmentHeaders = try offices.store.shellOutput("curl -s -m 10 -D - -o /dev/null \(base)/devices/\(MirrorTests.macs[0].replacingOccurrences(of: ":", with: "-"))/assignment.json")
        #expect(assignmentHeaders.contains(" 401"), "an assignment is never served from the cache without the token: \(assignmentHeaders)")
    }

    @Test func replicateRefusesARateThatDoesNotParse() throws {
        let store = try CLIStore()
        defer { store.remove() }
        try Data("branch.\(String(repeating: "ab", count: 32))\n".utf8).write(to: URL(fileURLWithPath: "\(store.work)/token"))
        let result = try CLI.run(["replicate", "--from", "http://127.0.0.1:9", "--store", store.path, "--site-token", "\(store.work)/token",
                                  "--image", "golden", "--rate", "fast"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("--rate 'fast' is not a rate") && result.stderr.contains("50MB/s"), "\(result.stderr)")
        let upstream = try CLI.run(["serve", "--upstream", "ftp://x", "--site-token", "\(store.work)/token", "--store", store.path])
        #expect(upstream.status != 0 && upstream.stderr.contains("not an http:// or https:// URL"), "\(upstream.stderr)")
        let noToken = try CLI.run(["serve", "--upstream", "http://127.0.0.1:9", "--store", store.path])
        #expect(noToken.status != 0 && noToken.stderr.contains("--site-token"), "\(noToken.stderr)")
    }
}
