/// A transfer rate for `imprint replicate --rate`: `50MB/s`, `400KiB/s`, `1GB/s`, `12000000`
/// (bytes per second). Decimal units are powers of 1000, binary ones (`KiB`, `MiB`, `GiB`) of 1024;
/// `/s` may be left out. Pure: no I/O.
public struct MirrorRate: Equatable, Sendable, CustomStringConvertible {
    public var bytesPerSecond: Int

    public init(bytesPerSecond: Int) { self.bytesPerSecond = bytesPerSecond }

    public init(parsing text: String) throws(MirrorRateError) {
        var rest = Substring(text.trimmingSpaces)
        if rest.lowercased().hasSuffix("/s") { rest = rest.dropLast(2) }
        let number = rest.prefix(while: { $0.isASCIIDigit || $0 == "." })
        let unit = rest.dropFirst(number.count).trimmingSpaces.lowercased()
        guard !number.isEmpty, number.filter({ $0 == "." }).count <= 1, let value = Double(number) else {
            throw MirrorRateError(text: text, reason: "no number")
        }
        let scale: Double
        switch unit {
        case "", "b": scale = 1
        case "k", "kb": scale = 1e3
        case "m", "mb": scale = 1e6
        case "g", "gb": scale = 1e9
        case "kib": scale = 1024
        case "mib": scale = 1024 * 1024
        case "gib": scale = 1024 * 1024 * 1024
        default: throw MirrorRateError(text: text, reason: "unknown unit '\(unit)'")
        }
        let bytes = value * scale
        guard bytes >= 1 else { throw MirrorRateError(text: text, reason: "less than 1 byte per second") }
        guard bytes < 1e15 else { throw MirrorRateError(text: text, reason: "too large") }
        bytesPerSecond = Int(bytes)
    }

    public var description: String { "\(bytesPerSecond) bytes/s" }
}

public struct MirrorRateError: Error, CustomStringConvertible, Equatable, Sendable {
    public var text: String
    public var reason: String
    public var description: String {
        "--rate '\(text)' is not a rate (\(reason)): give bytes per second with a unit, such as 50MB/s, 400KiB/s or 1GB/s"
    }
}

/// A token bucket: how long to wait before `bytes` more may pass at a rate, with at most
/// `burst` bytes sent ahead of the rate. Pure: the caller passes the clock and sleeps.
public struct MirrorRateLimiter: Sendable {
    public let bytesPerSecond: Double
    public let burst: Double
    private var allowance: Double
    private var last: Double?

    public init(bytesPerSecond: Int, burstSeconds: Double = 0.25) {
        self.bytesPerSecond = Double(bytesPerSecond)
        self.burst = max(Double(bytesPerSecond) * burstSeconds, 1)
        self.allowance = burst
    }

    /// Takes `bytes` at time `now` (seconds, any origin); the seconds to sleep before the next read.
    public mutating func take(_ bytes: Int, now: Double) -> Double {
        if let last { allowance = min(burst, allowance + (now - last) * bytesPerSecond) }
        last = now
        allowance -= Double(bytes)
        return allowance >= 0 ? 0 : -allowance / bytesPerSecond
    }
}
