import Foundation

/// Runs the release `imprint` CLI as a user would.
enum CLI {
    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// `$IMPRINT_BIN` (set by `make test`), else `.build/release/imprint`.
    static var binary: String {
        get throws {
            let path = ProcessInfo.processInfo.environment["IMPRINT_BIN"] ?? "\(packageRoot)/.build/release/imprint"
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw SetupError("no imprint binary at \(path): run `swift build -c release` first (make test does)")
            }
            return path
        }
    }

    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `imprint` (or `executable`) to its end; `onLine` gets each stdout line as it comes.
    static func run(_ arguments: [String], cwd: String? = nil, executable: String? = nil, environment: [String: String] = [:],
                    onLine: ((String) -> Void)? = nil) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try executable ?? binary)
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        process.currentDirectoryURL = URL(fileURLWithPath: cwd ?? packageRoot)
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        nonisolated(unsafe) var errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        var outData = Data()
        var partial = Data()
        while true {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            outData.append(chunk)
            guard let onLine else { continue }
            partial.append(chunk)
            while let newline = partial.firstIndex(of: 10) {
                onLine(String(decoding: partial[partial.startIndex..<newline], as: UTF8.self))
                partial.removeSubrange(partial.startIndex...newline)
            }
        }
        group.wait()
        process.waitUntilExit()
        return Output(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }

    static func temporaryDirectory() throws -> String {
        var template = Array((NSTemporaryDirectory() + "/imprint-e2e-XXXXXX").utf8CString)
        guard let dir = mkdtemp(&template) else { throw SetupError("mkdtemp failed") }
        return String(cString: dir)
    }
}

struct SetupError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
