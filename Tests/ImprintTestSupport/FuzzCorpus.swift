import Foundation

/// The committed libFuzzer corpora under `Fuzz/corpus/`, which the `*FuzzCorpusTests` suites replay
/// through the same harness the fuzz targets run, so every input a fuzzer ever kept stays a
/// regression test in `make test` (DESIGN section 10, docs/fuzzing.md).
public enum FuzzCorpus {
    /// `Fuzz/corpus/<target>` in this checkout.
    public static func directory(_ target: String) -> String {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("Fuzz/corpus/\(target)").path
    }

    /// Every seed of a target's corpus, by file name, in name order.
    public static func seeds(_ target: String) throws -> [(name: String, bytes: [UInt8])] {
        let folder = directory(target)
        return try FileManager.default.contentsOfDirectory(atPath: folder).sorted().map { name in
            (name, [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(folder)/\(name)"))))
        }
    }
}
