/// Why a deploy stopped: the phase it was in, what went wrong, and what to do.
/// It becomes the report's `error` and one ERROR line on every console.
public struct DeployFailure: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Phase: String, Sendable {
        case network, assignment, preflight, stream, verify, customize, capture, after
    }

    public var phase: Phase
    public var what: String
    public var hint: String
    /// Whether trying again later can help (a server down) or not (a disk too small).
    public var retryable: Bool

    public init(_ phase: Phase, _ what: String, hint: String, retryable: Bool = true) {
        self.phase = phase
        self.what = what
        self.hint = hint
        self.retryable = retryable
    }

    public var description: String { "\(phase.rawValue): \(what) — \(hint)" }
}
