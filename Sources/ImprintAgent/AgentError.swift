import Glibc

/// A failure of a system call: what was attempted and the `errno` it left.
public struct SystemError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What was attempted, with its object: `open /proc/cmdline`.
    public var operation: String
    public var code: Int32

    public init(_ operation: String, code: Int32) {
        self.operation = operation
        self.code = code
    }

    /// The C library's text for `code`, e.g. "No such file or directory".
    public var reason: String { errorText(code) }

    public var description: String { "\(operation): \(reason)" }
}

/// `strerror` as a Swift string.
public func errorText(_ code: Int32) -> String {
    guard let text = strerror(code) else { return "error \(code)" }
    return String(cString: text)
}

/// The one place a C return code becomes a Swift error (STYLE: one choke point
/// per library). `EINTR` is retried: PID 1 receives signals.
enum Syscall {
    /// Runs `body` until it does not fail with `EINTR`; a `-1` result throws
    /// with the `errno` it left.
    static func retrying<T: BinaryInteger>(_ operation: @autoclosure () -> String, _ body: () -> T) throws(SystemError) -> T {
        while true {
            let result = body()
            if result != -1 { return result }
            let code = errno
            if code == EINTR { continue }
            throw SystemError(operation(), code: code)
        }
    }
}

/// A failure the agent cannot continue past: what went wrong, and what the
/// operator can do about it. As PID 1 it becomes one `FATAL` line on every console.
public struct AgentError: Error, Equatable, Sendable, CustomStringConvertible {
    public var what: String
    public var hint: String

    public init(_ what: String, hint: String) {
        self.what = what
        self.hint = hint
    }

    public var description: String { "\(what) — \(hint)" }
}
