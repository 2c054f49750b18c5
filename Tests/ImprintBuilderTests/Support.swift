import Foundation

/// Paths the builder tests share: the package root and the release agent `make test` builds first.
enum TestPaths {
    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// `$IMPRINT_AGENT`, else `.build/release/imprint-agent`. A test that needs it fails (not skips) without it.
    static var agent: String {
        get throws {
            let env = ProcessInfo.processInfo.environment
            let path = env["IMPRINT_AGENT"] ?? env["IMPRINT_BIN"].map { ($0 as NSString).deletingLastPathComponent + "/imprint-agent" }
                ?? "\(packageRoot)/.build/release/imprint-agent"
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw TestSetupError("no agent at \(path): run `swift build -c release` first (make test does)")
            }
            return path
        }
    }

    static func temporaryDirectory() throws -> String {
        var template = Array((NSTemporaryDirectory() + "/imprint-test-XXXXXX").utf8CString)
        guard let dir = mkdtemp(&template) else { throw TestSetupError("mkdtemp failed") }
        return String(cString: dir)
    }
}

struct TestSetupError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
