import Glibc

/// Time, for timeouts and the durations the agent reports. Named so as not to
/// shadow the standard library's `Clock`.
public protocol AgentClock {
    /// Milliseconds on a monotonic clock with an arbitrary origin.
    func milliseconds() -> UInt64
    /// Waits `milliseconds`.
    func sleep(milliseconds: UInt64)
}

/// `CLOCK_MONOTONIC` and `nanosleep`.
public struct MonotonicClock: AgentClock {
    public init() {}

    public func milliseconds() -> UInt64 {
        var now = timespec()
        guard clock_gettime(CLOCK_MONOTONIC, &now) == 0 else { return 0 }
        return UInt64(max(now.tv_sec, 0)) &* 1000 &+ UInt64(max(now.tv_nsec, 0) / 1_000_000)
    }

    public func sleep(milliseconds: UInt64) {
        let capped = min(milliseconds, 1 << 40)
        var request = timespec(tv_sec: Int(capped / 1000), tv_nsec: Int(capped % 1000) * 1_000_000)
        var remaining = timespec()
        // nanosleep stops early on a signal; sleep out the rest.
        while nanosleep(&request, &remaining) == -1 && errno == EINTR {
            request = remaining
        }
    }
}

/// Whole seconds since 1970 UTC (`CLOCK_REALTIME`); 0 if the clock cannot be read.
public func realtimeEpochSeconds() -> Int {
    var now = timespec()
    guard clock_gettime(CLOCK_REALTIME, &now) == 0 else { return 0 }
    return now.tv_sec
}
