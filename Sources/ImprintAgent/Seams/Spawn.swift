import Glibc

/// A finished child process: how it ended and what it printed (stdout and stderr together, the
/// last 16 KiB at most).
struct SpawnResult: Sendable {
    var status: Int32
    var signal: Int32?
    var output: String

    var succeeded: Bool { signal == nil && status == 0 }

    /// `exit 1: <last line of output>` for an error message.
    var summary: String {
        let last = output.split(whereSeparator: \.isNewline).last.map(String.init) ?? ""
        let how = signal.map { "killed by signal \($0)" } ?? "exit \(status)"
        return last.isEmpty ? how : "\(how): \(last)"
    }
}

/// Runs a program the initrd (or, in host mode, the host) carries: `posix_spawn`, stdin from
/// /dev/null, stdout and stderr into one pipe, waited for. The agent's only subprocesses are the
/// mkfs tools of a tar deploy (docs/deploy.md).
enum Spawn {
    /// The first of `candidates` that is an executable file.
    static func find(_ candidates: [String]) -> String? {
        candidates.first { access($0, X_OK) == 0 }
    }

    static func run(_ path: String, _ arguments: [String], environment: [String] = []) throws(SystemError) -> SpawnResult {
        var pipeEnds: [Int32] = [0, 0]
        guard pipe(&pipeEnds) == 0 else { throw SystemError("pipe for \(path)", code: errno) }
        // Not inherited past the dup2 (pipe2 does not import from Glibc).
        _ = fcntl(pipeEnds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(pipeEnds[1], F_SETFD, FD_CLOEXEC)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 1)
        posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 2)

        var env = environment
        for name in ["PATH", "TZ", "HOME"] where !env.contains(where: { $0.hasPrefix(name + "=") }) {
            if let value = getenv(name) { env.append("\(name)=\(String(cString: value))") }
        }
        if !env.contains(where: { $0.hasPrefix("PATH=") }) { env.append("PATH=/usr/sbin:/usr/bin:/sbin:/bin") }
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = env.map { strdup($0) } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, path, &actions, nil, argv, envp)
        close(pipeEnds[1])
        guard spawned == 0 else {
            close(pipeEnds[0])
            throw SystemError("run \(path)", code: spawned)
        }
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(pipeEnds[0], $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            output += buffer[0..<count]
            if output.count > 16384 { output.removeFirst(output.count - 16384) }
        }
        close(pipeEnds[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw SystemError("wait for \(path)", code: errno) }
        }
        // WIFEXITED / WEXITSTATUS / WTERMSIG, which do not import.
        let signal = status & 0x7F
        return SpawnResult(status: (status >> 8) & 0xFF, signal: signal == 0 ? nil : signal,
                           output: String(decoding: output, as: UTF8.self))
    }
}
