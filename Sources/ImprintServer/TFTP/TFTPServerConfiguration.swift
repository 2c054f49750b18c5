import ImprintCore
import NIOCore

/// How a `TFTPServer` runs. The defaults are the ones `imprint serve` uses.
public struct TFTPServerConfiguration: Sendable {
    /// The store folder; only its TFTP-served files are read (`TFTPPath`).
    public var root: String
    public var host: String
    /// 0 asks the system for a free port (tests); `TFTPServer.port` tells which.
    public var port: Int
    /// Transfers in progress at once; a request past it gets ERROR 0 "busy".
    public var maxTransfers = 256
    /// Asked for as SO_SNDBUF and SO_RCVBUF on every socket. Linux caps it at `net.core.wmem_max`
    /// and `rmem_max` (208 KiB unless raised); the server reads back what it got and bounds each
    /// window by it.
    public var socketBufferBytes = 4 << 20
    /// What a peer's socket is assumed to hold when it asks for a window: Linux's default receive
    /// buffer. atftp stalls for its whole timeout when a window overflows it (DESIGN section 10).
    public var peerReceiveBufferBytes = 212_992
    /// The retransmission interval when the client sets no `timeout` option.
    public var defaultTimeoutMilliseconds = 1000
    /// Timeouts in a row, without progress, before a peer counts as gone.
    public var maxRetransmits = 5
    /// netascii transfers are converted in memory; larger files are refused (use octet).
    public var maxNetasciiBytes = 4 << 20
    /// Event-loop threads for the listener (transfers run on threads of their own).
    public var threads = 1
    /// Gets one line per transfer and per refused request.
    public var log: @Sendable (String) -> Void

    public init(root: String, host: String = "0.0.0.0", port: Int = 69, log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.root = root
        self.host = host
        self.port = port
        self.log = log
    }
}

/// Why the server could not start.
public enum TFTPServerError: Error, CustomStringConvertible, Sendable {
    case addressInUse(String)
    case permissionDenied(String)
    case badRoot(String)
    case cannotListen(String, String)

    public var description: String {
        switch self {
        case let .addressInUse(address):
            ListenFailure.addressInUse("TFTP", address, rivals: "another TFTP server such as tftpd-hpa, dnsmasq or an earlier imprint serve?")
        case let .permissionDenied(address):
            ListenFailure.permissionDenied("TFTP", address, flag: "--tftp 0.0.0.0:6969")
        case let .badRoot(message):
            message
        case let .cannotListen(address, reason):
            ListenFailure.other("TFTP", address, reason)
        }
    }
}
