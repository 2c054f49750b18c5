import Foundation
import ImprintTestSupport
import Testing

@testable import ImprintCore

/// Replays the committed libFuzzer corpus (`Fuzz/corpus/TFTPDecode/`) through what the fuzz target
/// runs, so every input the fuzzer ever kept stays a regression test in `make test` (DESIGN section 10).
@Suite("TFTP fuzz corpus")
struct TFTPFuzzCorpusTests {
    @Test func everyCorpusInputRunsWithoutTrapping() throws {
        let seeds = try FuzzCorpus.seeds("TFTPDecode")
        #expect(seeds.count >= 20, "the corpus lost its seeds")
        var decoded = 0
        for seed in seeds {
            TFTPFuzz.run(seed.bytes)
            if (try? TFTPPacket.decode(seed.bytes)) != nil { decoded += 1 }
        }
        #expect(decoded > 0 && decoded < seeds.count, "the corpus holds both good and malformed packets")
    }

    @Test func dripFedPrefixesOfEverySeedNeverTrap() throws {
        // Every prefix of every seed: truncation is the commonest malformation on the wire.
        for seed in try FuzzCorpus.seeds("TFTPDecode") {
            for end in 0...min(seed.bytes.count, 200) { TFTPFuzz.run(Array(seed.bytes[0..<end])) }
        }
    }
}
