import ArgumentParser
import Foundation
import ImprintBuilder
import ImprintCore
import ImprintServer

extension Imprint {
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve the store to booting machines over TFTP, HTTP and HTTPS.",
            discussion: """
                Starts only the servers whose flag is given; with none, HTTP on 0.0.0.0:8080 and TFTP on \
                0.0.0.0:69. Runs until SIGINT or SIGTERM, which stop them all. TFTP is read-only over boot/, \
                devices/default.ipxe and each device's boot.ipxe and identity.cpio (docs/tftp.md); HTTP \
                serves every store file but incoming/ and secrets/, and takes agents' reports (docs/http.md); \
                HTTPS serves the same with the keys folder's certificate (imprint ca init, docs/security.md).
                """)

        @OptionGroup var store: StoreOptions

        @Option(help: ArgumentHelp("Serve TFTP on this address and port (port 0: any free port).", valueName: "ADDR:PORT"))
        var tftp: String?

        @Option(help: ArgumentHelp("Serve HTTP on this address and port (port 0: any free port).", valueName: "ADDR:PORT"))
        var http: String?

        @Option(help: ArgumentHelp("Serve HTTPS on this address and port, with the keys folder's server.pem and server.key (imprint ca init).", valueName: "ADDR:PORT"))
        var https: String?

        @Option(help: "Most TFTP transfers in progress at once.")
        var tftpMaxTransfers: Int = 256

        @Option(help: ArgumentHelp("Be a remote office's mirror of this store (the main office's URL); needs --site-token. The store may be empty or absent (docs/scale.md).", valueName: "URL"))
        var upstream: String?

        @Option(help: ArgumentHelp("With --upstream: a file holding the site token (imprint site add NAME at the main office).", valueName: "FILE"))
        var siteToken: String?

        func validate() throws {
            if let tftp { _ = try Self.endpoint(tftp, flag: "--tftp") }
            if let http { _ = try Self.endpoint(http, flag: "--http") }
            if let https { _ = try Self.endpoint(https, flag: "--https") }
            guard tftpMaxTransfers >= 1 else { throw ValidationError("--tftp-max-transfers must be at least 1") }
            if let upstream {
                do { try MirrorUpstream.validate(url: upstream) } catch { throw ValidationError("\(error)") }
                guard siteToken != nil else { throw ValidationError("--upstream needs --site-token FILE: make one with imprint site add NAME at the main office") }
            } else if siteToken != nil {
                throw ValidationError("--site-token goes with --upstream URL")
            }
        }

        func run() async throws {
            let tftpEndpoint: (String, Int)?
            let httpEndpoint: (String, Int)?
            let httpsEndpoint = try https.map { try Self.endpoint($0, flag: "--https") }
            if tftp == nil && http == nil && https == nil {
                (tftpEndpoint, httpEndpoint) = (("0.0.0.0", 69), ("0.0.0.0", 8080))
            } else {
                tftpEndpoint = try tftp.map { try Self.endpoint($0, flag: "--tftp") }
                httpEndpoint = try http.map { try Self.endpoint($0, flag: "--http") }
            }
            var mirror: MirrorUpstream?
            if let upstream, let siteToken {
                mirror = MirrorUpstream(url: upstream, siteToken: try readSiteToken(siteToken))
                do { try MirrorStore.initialise(store.path) } catch { throw CommandFailure("serve: \(error)") }
            }
            guard mirror != nil || FileManager.default.fileExists(atPath: "\(store.path)/boot") else {
                throw CommandFailure("\(store.path) has no boot/ folder: build a profile first (imprint build RECIPE --store \(store.path))")
            }

            var tls: HTTPServerTLS?
            if httpsEndpoint != nil {
                do {
                    let keys = try KeysDirectory.resolve(keys: store.keys, store: store.path)
                    let served = try keys.serverTLS()
                    tls = HTTPServerTLS(certificateChainPEM: served.chainPEM, privateKeyPEM: served.keyPEM)
                    let now = Int(Date().timeIntervalSince1970)
                    let expires = UTCTime.format(epochSeconds: served.summary.notAfter)
                    if served.summary.notAfter <= now {
                        throw StoreError("\(keys.path)/\(KeysDirectory.serverCertificateName) expired on \(expires): agents would refuse it; make a new one with imprint ca init --name NAME --ip ADDR")
                    } else if served.summary.notAfter - now < 30 * 86_400 {
                        say("serve: warning: the HTTPS certificate \(keys.path)/\(KeysDirectory.serverCertificateName) expires on \(expires), in \((served.summary.notAfter - now) / 86_400) days: make a new one with imprint ca init (the CA is kept)")
                    }
                } catch let error as StoreError {
                    throw CommandFailure("serve: \(error)")
                }
            }

            // Signals are taken before the servers start, so an early SIGTERM still stops them cleanly.
            let stop = SignalWaiter([SIGINT, SIGTERM])
            var tftpServer: TFTPServer?
            var httpServer: HTTPServer?
            var httpsServer: HTTPServer?
            do {
                if let endpoint = tftpEndpoint {
                    let (host, port) = endpoint
                    var configuration = TFTPServerConfiguration(root: store.path, host: host, port: port) { line in say(line) }
                    configuration.maxTransfers = tftpMaxTransfers
                    let server = try await TFTPServer.start(configuration)
                    tftpServer = server
                    say("serve: TFTP on \(Self.show(server.host, server.port)) from \(store.path) (socket buffers \(server.socketBuffers.send)/\(server.socketBuffers.receive) bytes, window budget \(server.windowBudget) bytes)")
                }
                if let endpoint = httpEndpoint {
                    let (host, port) = endpoint
                    var configuration = HTTPServerConfiguration(root: store.path, host: host, port: port) { line in say(line) }
                    configuration.upstream = mirror
                    let server = try await HTTPServer.start(configuration)
                    httpServer = server
                    say("serve: HTTP on \(Self.show(server.host, server.port)) from \(store.path)\(mirror.map { ", a mirror of \($0.url)" } ?? "")")
                }
                if let (host, port) = httpsEndpoint {
                    var configuration = HTTPServerConfiguration(root: store.path, host: host, port: port) { line in say(line) }
                    configuration.upstream = mirror
                    configuration.tls = tls
                    // One mirror for both listeners: one fetch per blob, one report forwarder.
                    let server = try await HTTPServer.start(configuration, sharingMirrorOf: httpServer)
                    httpsServer = server
                    say("serve: HTTPS on \(Self.show(server.host, server.port)) from \(store.path)\(mirror.map { ", a mirror of \($0.url)" } ?? "")")
                }
            } catch {
                // One failed to start: stop the other, and say why.
                await tftpServer?.shutdown()
                await httpsServer?.shutdown()
                await httpServer?.shutdown()
                throw CommandFailure("serve: \(error)")
            }

            // Until a signal, or the HTTP server stopping on its own (TFTP has no such end).
            let running = [("HTTP", httpServer), ("HTTPS", httpsServer)].compactMap { name, server in server.map { (name, $0) } }
            let servers = (tftp: tftpServer, http: httpServer, https: httpsServer)
            let failure: String? = await withTaskGroup(of: String?.self) { group in
                group.addTask {
                    let signal = await stop.wait()
                    guard !Task.isCancelled else { return nil }
                    say("serve: \(signal == SIGINT ? "SIGINT" : "SIGTERM"), stopping")
                    return nil
                }
                for (name, server) in running {
                    group.addTask {
                        do {
                            try await server.wait()
                            return "the \(name) server stopped"
                        } catch is CancellationError {
                            return nil
                        } catch {
                            return "the \(name) server stopped: \(error)"
                        }
                    }
                }
                let first = await group.next() ?? nil
                group.cancelAll()
                await servers.tftp?.shutdown()
                await servers.https?.shutdown()  // before HTTP, whose site mirror it shares
                await servers.http?.shutdown()
                return first
            }
            if let failure { throw CommandFailure("serve: \(failure)") }
            say("serve: stopped")
        }

        static func show(_ host: String, _ port: Int) -> String {
            "\(host.contains(":") ? "[\(host)]" : host):\(port)"
        }

        /// `ADDR:PORT`, `[v6]:PORT`, or `:PORT` for every IPv4 address.
        static func endpoint(_ text: String, flag: String) throws -> (String, Int) {
            var host: Substring
            let portText: Substring
            if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
                host = text[text.index(after: text.startIndex)..<close]
                let rest = text[text.index(after: close)...]
                guard rest.hasPrefix(":") else { throw ValidationError("\(flag) \(text): expected [ADDR]:PORT") }
                portText = rest.dropFirst()
            } else if let colon = text.lastIndex(of: ":") {
                host = text[..<colon]
                portText = text[text.index(after: colon)...]
            } else {
                throw ValidationError("\(flag) \(text): expected ADDR:PORT, such as 0.0.0.0:69 or 127.0.0.1:6969")
            }
            if host.isEmpty { host = "0.0.0.0" }
            guard let port = Int(portText), (0...65535).contains(port) else {
                throw ValidationError("\(flag) \(text): '\(portText)' is not a port (0-65535)")
            }
            return (String(host), port)
        }
    }
}

/// Waits for the first of some signals, which it takes over from the default handlers.
/// Sendable: its state is set once in `init`, and the stream may be awaited from any task.
final class SignalWaiter: @unchecked Sendable {
    private let sources: [DispatchSourceSignal]
    private let stream: AsyncStream<Int32>

    init(_ signals: [Int32]) {
        let (stream, continuation) = AsyncStream<Int32>.makeStream()
        self.stream = stream
        sources = signals.map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { continuation.yield(number) }
            source.resume()
            return source
        }
    }

    func wait() async -> Int32 {
        for await number in stream { return number }
        return SIGTERM
    }
}
