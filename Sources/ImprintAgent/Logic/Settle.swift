/// How long device discovery must stay quiet before the next coldplug pass:
/// drivers create devices as they probe, and SCSI scans finish asynchronously.
public struct SettlePolicy: Equatable, Sendable {
    /// The set of devices must stay unchanged this long.
    public var quietMilliseconds: UInt64
    /// How often to look.
    public var pollMilliseconds: UInt64
    /// Give up waiting after this long, and go on.
    public var limitMilliseconds: UInt64

    public init(quietMilliseconds: UInt64 = 250, pollMilliseconds: UInt64 = 50, limitMilliseconds: UInt64 = 3000) {
        self.quietMilliseconds = quietMilliseconds
        self.pollMilliseconds = max(pollMilliseconds, 1)
        self.limitMilliseconds = limitMilliseconds
    }
}

/// Polls `snapshot` until it has returned the same value for the policy's
/// quiet time; false if the limit came first.
public func waitUntilSettled<T: Equatable>(_ policy: SettlePolicy, clock: any AgentClock, snapshot: () -> T) -> Bool {
    let start = clock.milliseconds()
    var last = snapshot()
    var stableSince = start
    while true {
        let now = clock.milliseconds()
        if now &- stableSince >= policy.quietMilliseconds { return true }
        if now &- start >= policy.limitMilliseconds { return false }
        clock.sleep(milliseconds: policy.pollMilliseconds)
        let current = snapshot()
        if current != last {
            last = current
            stableSince = clock.milliseconds()
        }
    }
}
