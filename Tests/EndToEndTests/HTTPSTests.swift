import Foundation
import Testing

/// Issue 9 item 1, HTTPS with a pinned CA: `imprint ca init` makes a CA and a server certificate
/// (valid from 2000-01-01, the names and addresses as SANs), `imprint serve --https` serves the
/// store with it, identities carry the CA, and the release `imprint-agent` (host mode) deploys over
/// `https://` trusting that CA alone: a server with a certificate from another CA is refused.
@Suite(.serialized) struct HTTPSTests {
    typealias Lab = DeployHostTests.Lab

    /// `imprint serve --https 127.0.0.1:PORT` on the lab's store; its stderr goes to `log`.
    final class HTTPSServer {
        let process = Process()
        let port: Int
        let log: String

        init(_ lab: Lab, keys: String? = nil, log name: String = "serve-https.log") throws {
            port = try PXEBootTests.freePort()
            log = "\(lab.work)/\(name)"
            _ = FileManager.default.createFile(atPath: log, contents: nil)
            process.executableURL = URL(fileURLWithPath: try CLI.binary)
            process.arguments = ["serve", "--store", lab.storePath, "--https", "127.0.0.1:\(port)"] + (keys.map { ["--keys", $0] } ?? [])
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle(forWritingAtPath: log)
            try process.run()
            for _ in 0..<200 where !logText.contains("serve: HTTPS on") {
                guard process.isRunning else { throw SetupError("imprint serve --https stopped: \(logText)") }
                usleep(50_000)
            }
            guard logText.contains("serve: HTTPS on") else { throw SetupError("imprint serve --https did not start: \(logText)") }
        }

        var logText: String { String(decoding: FileManager.default.contents(atPath: log) ?? Data(), as: UTF8.self) }

        func stop() {
            guard process.isRunning else { return }
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
        }
    }

    /// The lab's device pointed at `https://127.0.0.1:PORT`, its identity extracted again.
    static func pointAtHTTPS(_ lab: Lab, port: Int) throws {
        try lab.cli(["device", "add", DeployHostTests.mac, "--profile", "qemu-virtio", "--image", "golden", "--hostname", "lab-01",
                     "--server", "https://127.0.0.1:\(port)", "--force", "--store", lab.storePath])
        try lab.store.shell("cpio -i --quiet --to-stdout etc/imprint/identity.json < store/devices/\(DeployHostTests.macPath)/identity.cpio > identity.json")
    }

    @Test func caInitMakesCertificatesValidFrom2000WithTheirSANs() throws {
        let lab = try Lab(imageMiB: 4, dataEvery: 2)
        defer { lab.finish() }
        let made = try CLI.run(["ca", "init", "--name", "localhost", "--name", "imprint.lab", "--ip", "127.0.0.1", "--ip", "10.0.2.2", "--store", lab.storePath])
        #expect(made.status == 0, "\(made.stderr)")
        #expect(made.stdout.contains("made the CA") && made.stdout.contains("1 identities now pin this CA"), "\(made.stdout)")
        let keys = lab.storePath + ".keys"
        for file in ["ca.key", "ca.pem", "server.key", "server.pem"] {
            let mode = (try FileManager.default.attributesOfItem(atPath: "\(keys)/\(file)")[.posixPermissions] as? Int) ?? 0
            #expect(mode == 0o600, "\(file) is \(String(mode, radix: 8))")
        }
        // openssl reads them back: the chain verifies, the dates and SANs are as asked.
        let text = try lab.store.shellOutput("openssl verify -CAfile \(keys)/ca.pem \(keys)/server.pem && openssl x509 -in \(keys)/server.pem -noout -text && openssl x509 -in \(keys)/ca.pem -noout -text")
        #expect(text.contains("server.pem: OK"), "\(text)")
        #expect(text.contains("Not Before: Jan  1 00:00:00 2000 GMT"), "\(text)")
        #expect(text.contains("DNS:localhost, DNS:imprint.lab, IP Address:127.0.0.1, IP Address:10.0.2.2"), "\(text)")
        #expect(text.contains("TLS Web Server Authentication") && text.contains("CA:TRUE"), "\(text)")
        // The identity carries the CA, byte for byte.
        let identity = String(decoding: lab.file("identity.json"), as: UTF8.self)
        #expect(!identity.contains("BEGIN CERTIFICATE"), "extracted before ca init")
        try lab.store.shell("cpio -i --quiet --to-stdout etc/imprint/identity.json < store/devices/\(DeployHostTests.macPath)/identity.cpio > identity.json")
        let pinned = try lab.store.shellOutput("python3 -c \"import json; print(json.load(open('identity.json'))['ca'], end='')\"")
        #expect(pinned + "\n" == String(decoding: FileManager.default.contents(atPath: "\(keys)/ca.pem") ?? Data(), as: UTF8.self))

        // Again: the CA is kept (what identities pin stays valid), the server certificate is new.
        let caBefore = FileManager.default.contents(atPath: "\(keys)/ca.pem")
        let serverBefore = FileManager.default.contents(atPath: "\(keys)/server.pem")
        let again = try CLI.run(["ca", "init", "--ip", "127.0.0.1", "--store", lab.storePath])
        #expect(again.status == 0 && again.stdout.contains("kept the CA"), "\(again.stdout)\(again.stderr)")
        #expect(FileManager.default.contents(atPath: "\(keys)/ca.pem") == caBefore)
        #expect(FileManager.default.contents(atPath: "\(keys)/server.pem") != serverBefore)

        // Bad input says what to give.
        let badIP = try CLI.run(["ca", "init", "--ip", "10.0.2.300", "--store", lab.storePath])
        #expect(badIP.status != 0 && badIP.stderr.contains("'10.0.2.300' is not an IPv4 or IPv6 address"), "\(badIP.stderr)")
        let badName = try CLI.run(["ca", "init", "--name", "bad_name!", "--store", lab.storePath])
        #expect(badName.status != 0 && badName.stderr.contains("is not a host name"), "\(badName.stderr)")
        let none = try CLI.run(["ca", "init", "--store", lab.storePath])
        #expect(none.status != 0 && none.stderr.contains("--name NAME and/or --ip ADDR"), "\(none.stderr)")
    }

    @Test func theAgentDeploysOverHTTPSTrustingOnlyThePinnedCA() throws {
        let lab = try Lab(imageMiB: 8, dataEvery: 2)
        defer { lab.finish() }
        try lab.cli(["ca", "init", "--name", "localhost", "--ip", "127.0.0.1", "--store", lab.storePath])
        let server = try HTTPSServer(lab)
        defer { server.stop() }
        try Self.pointAtHTTPS(lab, port: server.port)
        let identity = String(decoding: lab.file("identity.json"), as: UTF8.self)
        #expect(identity.contains("https://127.0.0.1:\(server.port)") && identity.contains("BEGIN CERTIFICATE"), "\(identity)")

        // curl agrees: with the CA it gets the store's key; with the system's CAs alone it does not.
        let keys = lab.storePath + ".keys"
        let published = try lab.store.shellOutput("curl -sS --cacert \(keys)/ca.pem https://127.0.0.1:\(server.port)/keys/manifest.pub")
        #expect(published + "\n" == lab.storeText("keys/manifest.pub"))
        let unpinned = try lab.store.shellOutput("curl -sS -o /dev/null https://127.0.0.1:\(server.port)/keys/manifest.pub 2>&1; echo \"rc=$?\"")
        #expect(unpinned.contains("rc=60"), "\(unpinned)")

        // The agent claims, reads, streams and reports, all over HTTPS.
        let disk = try lab.disk(mib: 32)
        let result = try DeployHostTests.agent(["--disk", disk, "--identity", lab.identity])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(DeployHostTests.diskHoldsImage(lab, disk: disk))
        #expect(lab.storeText("reports/\(DeployHostTests.macPath)/status.json").contains("\"phase\": \"done\""))
        // The pinned server's Date is read for expiry checks (the later of it and the clock).
        #expect(result.stdout.contains("the pinned server's Date") && result.stdout.contains("expiry checks take the later"), "\(result.stdout)")
        let log = server.logText
        #expect(log.contains("https: 127.0.0.1:"), "the access log says which server: \(log)")
        for request in ["POST /devices/\(DeployHostTests.macPath)/claim 200", "GET /devices/\(DeployHostTests.macPath)/assignment.json 200",
                        "GET /blobs/", "PUT /reports/\(DeployHostTests.macPath)/status.json"] {
            #expect(log.contains(request), "serve --https logged no \(request): \(log)")
        }
    }

    @Test func aServerWithAnotherCAsCertificateIsRefused() throws {
        let lab = try Lab(imageMiB: 4, dataEvery: 2)
        defer { lab.finish() }
        try lab.cli(["ca", "init", "--name", "localhost", "--ip", "127.0.0.1", "--store", lab.storePath])
        // Another keys folder, another CA, the same names: what an impostor on the LAN would present.
        let other = "\(lab.work)/other.keys"
        try lab.cli(["ca", "init", "--name", "localhost", "--ip", "127.0.0.1", "--keys", other, "--store", lab.storePath])
        let impostor = try HTTPSServer(lab, keys: other)
        defer { impostor.stop() }
        try Self.pointAtHTTPS(lab, port: impostor.port)
        let disk = try lab.disk(mib: 16)
        let result = try DeployHostTests.agent(["--disk", disk, "--identity", lab.identity])
        #expect(result.status != 0)
        #expect(result.stderr.contains("SSL certificate problem") || result.stdout.contains("SSL certificate problem"), "\(result.stdout)\(result.stderr)")
        #expect(!(FileManager.default.contents(atPath: disk) ?? Data([1])).contains { $0 != 0 }, "not a byte written")
        #expect(!impostor.logText.contains("/claim 200"), "the claim never reached the impostor: \(impostor.logText)")
    }

    @Test func serveRefusesMissingOrLooseKeysAndWarnsBeforeExpiry() throws {
        let lab = try Lab(imageMiB: 4, dataEvery: 2)
        defer { lab.finish() }
        let missing = try CLI.run(["serve", "--store", lab.storePath, "--https", "127.0.0.1:0"])
        #expect(missing.status != 0 && missing.stderr.contains("no server.pem and server.key"), "\(missing.stderr)")

        try lab.cli(["ca", "init", "--name", "localhost", "--days", "10", "--store", lab.storePath])
        let keys = lab.storePath + ".keys"
        chmod("\(keys)/server.key", 0o644)
        let loose = try CLI.run(["serve", "--store", lab.storePath, "--https", "127.0.0.1:0"])
        #expect(loose.status != 0 && loose.stderr.contains("server.key has loose permissions"), "\(loose.stderr)")
        chmod("\(keys)/server.key", 0o600)

        let soon = try HTTPSServer(lab, log: "soon.log")
        soon.stop()
        #expect(soon.logText.contains("warning: the HTTPS certificate") && soon.logText.contains(" days: make a new one"), "\(soon.logText)")
    }
}
