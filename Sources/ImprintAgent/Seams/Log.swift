import Glibc

/// Where log lines go: a console, stdout, or a test's memory.
public protocol LogSink: AnyObject {
    /// Writes one complete line, newline included. Never fails: a console
    /// that cannot be written to must not stop the agent.
    func write(_ line: String)
}

/// A log sink over a file descriptor (a console or stdout).
public final class FileDescriptorSink: LogSink {
    public let fd: Int32
    /// The console device name (`ttyS0`), or nil for an inherited descriptor.
    public let name: String?
    private let owned: Bool

    public init(fd: Int32, name: String? = nil, owned: Bool = false) {
        self.fd = fd
        self.name = name
        self.owned = owned
    }

    deinit {
        if owned { close(fd) }
    }

    public func write(_ line: String) {
        var bytes = Array(line.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { buffer in
                Glibc.write(fd, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
            }
            if written > 0 {
                offset += written
            } else if written < 0 && errno == EINTR {
                continue
            } else {
                return
            }
        }
    }
}

/// A sink that keeps lines in memory (tests, and later the report's log.txt).
public final class MemorySink: LogSink {
    public private(set) var lines: [String] = []

    public init() {}

    public func write(_ line: String) {
        lines.append(line.hasSuffix("\n") ? String(line.dropLast()) : line)
    }
}

/// The agent's log: every line starts with `imprint: ` and goes to every sink.
/// It keeps what it wrote, so consoles opened later can be given the lines
/// they missed, and a report can carry them.
public final class Log {
    public private(set) var sinks: [any LogSink]
    /// Lines written so far, prefix included, newline excluded (bounded).
    public private(set) var history: [String] = []
    private let historyLimit = 10_000

    public init(sinks: [any LogSink]) {
        self.sinks = sinks
    }

    /// Logs `message` as `imprint: message`.
    public func info(_ message: String) {
        emit("imprint: " + message)
    }

    /// Logs a problem the agent carries on past.
    public func warning(_ message: String) {
        emit("imprint: warning: " + message)
    }

    /// Logs a failure the agent does not stop for, and what to check.
    public func error(_ message: String) {
        emit("imprint: ERROR: " + message)
    }

    /// Logs the one line of a fatal error.
    public func fatal(_ error: AgentError) {
        emit("imprint: FATAL: " + error.description)
    }

    /// Sends further lines to `newSinks`; `replay` of them first get the lines already written.
    public func replaceSinks(_ newSinks: [any LogSink], replayingTo replay: [any LogSink]) {
        for sink in replay {
            for line in history { sink.write(line + "\n") }
        }
        sinks = newSinks
    }

    private func emit(_ line: String) {
        if history.count < historyLimit { history.append(line) }
        for sink in sinks { sink.write(line + "\n") }
    }
}
