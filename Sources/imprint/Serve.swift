import ArgumentParser
import Foundation
import ImprintServer

extension Imprint {
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve the store to booting machines over TFTP (and HTTP, once it exists).",
            discussion: """
                Starts only the servers whose flag is given; with none, TFTP on 0.0.0.0:69 (and HTTP on \
                0.0.0.0:8080 once it exists). Runs until SIGINT or SIGTERM. TFTP is read-only over boot/, \
                devices/default.ipxe and each device's boot.ipxe and identity.cpio (docs/tftp.md).
                """)

        @OptionGroup var store: StoreOptions

        @Option(help: ArgumentHelp("Serve TFTP on this address and port (port 0: any free port).", valueName: "ADDR:PORT"))
        var tftp: String?

        @Option(help: ArgumentHelp("Serve HTTP on this address and port (not available yet).", valueName: "ADDR:PORT"))
        var http: String?

        @Option(help: "Most TFTP transfers in progress at once.")
        var tftpMaxTransfers: Int = 256

        func validate() throws {
            if let tftp { _ = try Self.endpoint(tftp, flag: "--tftp") }
            if http != nil {
                throw ValidationError("--http is not available yet: the HTTP server comes with issue 4; serve TFTP alone with --tftp ADDR:PORT")
            }
            guard tftpMaxTransfers >= 1 else { throw ValidationError("--tftp-max-transfers must be at least 1") }
        }

        func run() async throws {
            let (host, port): (String, Int)
            if let tftp {
                (host, port) = try Self.endpoint(tftp, flag: "--tftp")
            } else {
                (host, port) = ("0.0.0.0", 69)
                say("serve: HTTP is not available yet (issue 4); serving TFTP only")
            }
            guard FileManager.default.fileExists(atPath: "\(store.path)/boot") else {
                throw CommandFailure("\(store.path) has no boot/ folder: build a profile first (imprint build RECIPE --store \(store.path))")
            }
            var configuration = TFTPServerConfiguration(root: store.path, host: host, port: port) { line in say(line) }
            configuration.maxTransfers = tftpMaxTransfers

            // Signals are taken before the server starts, so an early SIGTERM still stops it cleanly.
            let stop = SignalWaiter([SIGINT, SIGTERM])
            let server: TFTPServer
            do {
                server = try await TFTPServer.start(configuration)
            } catch let error as TFTPServerError {
                throw CommandFailure("serve: \(error)")
            }
            say("serve: TFTP on \(server.host.contains(":") ? "[\(server.host)]" : server.host):\(server.port) from \(store.path) (socket buffers \(server.socketBuffers.send)/\(server.socketBuffers.receive) bytes, window budget \(server.windowBudget) bytes)")
            let signal = await stop.wait()
            say("serve: \(signal == SIGINT ? "SIGINT" : "SIGTERM"), stopping")
            await server.shutdown()
            say("serve: stopped")
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
final class SignalWaiter {
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
