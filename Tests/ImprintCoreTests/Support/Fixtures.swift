import Foundation
import Testing

/// Files under `Tests/ImprintCoreTests/Fixtures/`, copied into the test bundle.
enum Fixtures {
    struct Missing: Error, CustomStringConvertible {
        var path: String
        var description: String { "fixture \(path) not found in the test bundle" }
    }

    static func url(_ path: String) throws -> URL {
        let url = Bundle.module.bundleURL.appendingPathComponent("Fixtures").appendingPathComponent(path)
        guard FileManager.default.fileExists(atPath: url.path) else { throw Missing(path: path) }
        return url
    }

    static func bytes(_ path: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: url(path)))
    }

    static func text(_ path: String) throws -> String {
        try String(contentsOf: url(path), encoding: .utf8)
    }
}

/// Reads a file of the host system, or `nil` if this machine has none at `path`.
func hostFile(_ path: String) -> [UInt8]? {
    FileManager.default.contents(atPath: path).map { [UInt8]($0) }
}
