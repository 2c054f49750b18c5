import Glibc
import ImprintCore
import NIOCore
import NIOPosix

/// The store's TFTP server (RFC 1350 with options 2347, 2348, 2349, 7440), read-only over the files
/// `TFTPPath` allows. The listener runs on a SwiftNIO event loop; each accepted read runs on a socket
/// and a thread of its own, so a slow or hostile peer holds only its own transfer.
public final class TFTPServer: Sendable {
    struct Settings: Sendable {
        var configuration: TFTPServerConfiguration
        /// The store's real path.
        var root: String
        var limits: TFTPLimits
        var transferBindAddress: SocketAddress
        /// The transfers in progress, and the flag that stops them.
        var transfers: TFTPStopFlag
    }

    private let group: MultiThreadedEventLoopGroup
    private let channel: Channel
    private let transfers: TFTPStopFlag
    /// The address and port the server listens on (the port the system chose for port 0).
    public let host: String
    public let port: Int
    /// SO_SNDBUF and SO_RCVBUF as the system granted them (Linux reports twice what it accounts).
    public let socketBuffers: (send: Int, receive: Int)
    /// The bound on window x (blksize + overhead) every transfer gets.
    public let windowBudget: Int

    private init(group: MultiThreadedEventLoopGroup, channel: Channel, transfers: TFTPStopFlag, host: String, port: Int,
                 buffers: (Int, Int), budget: Int) {
        self.group = group
        self.channel = channel
        self.transfers = transfers
        self.host = host
        self.port = port
        self.socketBuffers = buffers
        self.windowBudget = budget
    }

    /// Binds the listener and returns the running server.
    public static func start(_ configuration: TFTPServerConfiguration) async throws -> TFTPServer {
        guard let resolved = realpath(configuration.root, nil) else {
            throw TFTPServerError.badRoot("store \(configuration.root) does not exist: build one with `imprint build RECIPE --store \(configuration.root)`")
        }
        let root = String(cString: resolved)
        free(resolved)
        let address = "\(configuration.host):\(configuration.port)"
        let listenAddress: SocketAddress
        do {
            listenAddress = try SocketAddress(ipAddress: configuration.host, port: configuration.port)
        } catch {
            throw TFTPServerError.cannotListen(address, "'\(configuration.host)' is not an IP address")
        }
        let transferBind = try SocketAddress(ipAddress: listenAddress.protocol == .inet6 ? "::" : "0.0.0.0", port: 0)

        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, configuration.threads))
        do {
            // The listener's handler needs the final limits, which depend on the buffers granted:
            // probe them on a throwaway socket with the same options first.
            let granted = try await grantedBuffers(group: group, bufferBytes: configuration.socketBufferBytes)
            let budget = max(1, min(granted.send, configuration.peerReceiveBufferBytes))
            let transfers = TFTPStopFlag()
            let settings = Settings(configuration: configuration, root: root,
                                    limits: TFTPLimits(windowBudget: budget), transferBindAddress: transferBind, transfers: transfers)
            let channel = try await DatagramBootstrap(group: group)
                .channelOption(.socketOption(.so_sndbuf), value: configuration.socketBufferBytes)
                .channelOption(.socketOption(.so_rcvbuf), value: configuration.socketBufferBytes)
                .channelOption(.receivePacketInfo, value: true)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(TFTPListenerHandler(settings: settings))
                    }
                }
                .bind(to: listenAddress)
                .get()
            let port = channel.localAddress?.port ?? configuration.port
            return TFTPServer(group: group, channel: channel, transfers: transfers, host: configuration.host, port: port,
                              buffers: (granted.send, granted.receive), budget: budget)
        } catch {
            try? await group.shutdownGracefully()
            if let io = error as? IOError {
                switch io.errnoCode {
                case EADDRINUSE: throw TFTPServerError.addressInUse(address)
                case EACCES, EPERM: throw TFTPServerError.permissionDenied(address)
                case EADDRNOTAVAIL: throw TFTPServerError.cannotListen(address, "no interface has that address")
                default: break
                }
            }
            throw TFTPServerError.cannotListen(address, "\(error)")
        }
    }

    private static func grantedBuffers(group: EventLoopGroup, bufferBytes: Int) async throws -> (send: Int, receive: Int) {
        let probe = try await DatagramBootstrap(group: group)
            .channelOption(.socketOption(.so_sndbuf), value: bufferBytes)
            .channelOption(.socketOption(.so_rcvbuf), value: bufferBytes)
            .bind(host: "127.0.0.1", port: 0)
            .get()
        defer { probe.close(promise: nil) }
        let send = try await probe.getOption(.socketOption(.so_sndbuf)).get()
        let receive = try await probe.getOption(.socketOption(.so_rcvbuf)).get()
        return (Int(send), Int(receive))
    }

    /// Stops listening, ends every transfer in progress and waits for the event loops to stop.
    public func shutdown() async {
        try? await channel.close()
        // Each transfer thread sees the flag within its wake interval, logs and closes its socket.
        transfers.set()
        for _ in 0..<100 where transfers.runningCount > 0 {
            try? await Task.sleep(nanoseconds: UInt64(TFTPTransferThread.wakeMilliseconds) * 1_000_000)
        }
        try? await group.shutdownGracefully()
    }

    /// `127.0.0.1:4242` or `[::1]:4242`.
    static func text(_ address: SocketAddress) -> String {
        guard let ip = address.ipAddress, let port = address.port else { return "\(address)" }
        return address.protocol == .inet6 ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }
}
