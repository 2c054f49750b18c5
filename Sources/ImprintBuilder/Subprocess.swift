import Foundation

/// A finished child process.
struct ProcessOutput {
    var status: Int32
    var stdout: String
    var stderr: String
    /// The last non-empty line of stderr, for error messages.
    var lastErrorLine: String {
        stderr.split(separator: "\n").last(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty }).map(String.init) ?? ""
    }
}

enum SubprocessError: Error, CustomStringConvertible {
    case notFound(String, hint: String)
    var description: String {
        switch self {
        case let .notFound(tool, hint): return "\(tool) not found on PATH: \(hint)"
        }
    }
}

/// Finds an executable on PATH.
func which(_ tool: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
    for dir in path.split(separator: ":") {
        let candidate = "\(dir)/\(tool)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
}

/// Runs a tool to completion, capturing its output. `hint` says what to do when the tool is missing.
func run(_ tool: String, _ arguments: [String], cwd: String? = nil, environment: [String: String]? = nil,
         hint: String = "run scripts/bootstrap") throws -> ProcessOutput {
    guard let executable = tool.hasPrefix("/") ? tool : which(tool) else {
        throw SubprocessError.notFound(tool, hint: hint)
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let cwd { process.currentDirectoryURL = URL(fileURLWithPath: cwd) }
    if let environment { process.environment = environment }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    // Drain both pipes concurrently so a chatty child never blocks on a full pipe.
    nonisolated(unsafe) var errData = Data()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async {
        errData = err.fileHandleForReading.readDataToEndOfFile()
        group.leave()
    }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    return ProcessOutput(status: process.terminationStatus,
                         stdout: String(decoding: outData, as: UTF8.self),
                         stderr: String(decoding: errData, as: UTF8.self))
}
