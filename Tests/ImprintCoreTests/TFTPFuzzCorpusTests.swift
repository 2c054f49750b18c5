import Foundation
import Testing

@testable import ImprintCore

/// Replays the committed libFuzzer corpus (`Fuzz/corpus/TFTPDecode/`) through what the fuzz target
/// runs, so every input the fuzzer ever kept stays a regression test in `make test` (DESIGN section 10).
@Suite("TFTP fuzz corpus")
struct TFTPFuzzCorpusTests {
    static let corpus: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("Fuzz/corpus/TFTPDecode").path
    }()

    @Test func everyCorpusInputRunsWithoutTrapping() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.corpus).sorted()
        #expect(names.count >= 20, "the corpus lost its seeds")
        var decoded = 0
        for name in names {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(Self.corpus)/\(name)")))
            TFTPFuzz.run(bytes)
            if (try? TFTPPacket.decode(bytes)) != nil { decoded += 1 }
        }
        #expect(decoded > 0 && decoded < names.count, "the corpus holds both good and malformed packets")
    }

    @Test func dripFedPrefixesOfEverySeedNeverTrap() throws {
        // Every prefix of every seed: truncation is the commonest malformation on the wire.
        for name in try FileManager.default.contentsOfDirectory(atPath: Self.corpus) {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(Self.corpus)/\(name)")))
            for end in 0...min(bytes.count, 200) { TFTPFuzz.run(Array(bytes[0..<end])) }
        }
    }
}
