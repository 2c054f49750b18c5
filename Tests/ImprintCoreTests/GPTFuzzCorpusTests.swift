import Foundation
import ImprintTestSupport
import Testing

@testable import ImprintCore

/// Replays the committed libFuzzer corpus (`Fuzz/corpus/GPTParse/`) through what the fuzz target
/// runs, so every disk the fuzzer or a test ever kept stays a regression test in `make test`
/// (DESIGN section 10).
@Suite("GPT fuzz corpus")
struct GPTFuzzCorpusTests {
    static func parses(_ bytes: [UInt8], sectorSize: Int = 512) -> GPTTable? {
        let reader = { (offset: Int, count: Int) -> [UInt8]? in
            guard count <= bytes.count, offset <= bytes.count - count else { return nil }
            return Array(bytes[offset..<offset + count])
        }
        return try? GPT.parse(disk: reader, sectorSize: sectorSize, diskSize: bytes.count)
    }

    @Test func everyCorpusInputRunsWithoutTrapping() throws {
        let seeds = try FuzzCorpus.seeds("GPTParse")
        #expect(seeds.count >= 20, "the corpus lost its seeds")
        var tables = 0
        var backups = 0
        for seed in seeds {
            GPTFuzz.run(seed.bytes)
            if let table = Self.parses(seed.bytes) ?? Self.parses(seed.bytes, sectorSize: 4096) {
                tables += 1
                if table.fromBackup { backups += 1 }
            }
        }
        #expect(tables > 0 && backups > 0 && tables < seeds.count,
                "the corpus holds valid disks, disks read from their backup, and unreadable ones")
    }

    @Test func seedsParseAsBuilt() throws {
        let seeds = Dictionary(uniqueKeysWithValues: try FuzzCorpus.seeds("GPTParse"))
        let small = try #require(seeds["valid-512-small"].flatMap { Self.parses($0) })
        #expect(small.partitions.map(\.name) == ["esp", "rööt ✓"] && !small.fromBackup)
        let wide = try #require(seeds["valid-4096"].flatMap { Self.parses($0, sectorSize: 4096) })
        #expect(wide.partitions.first?.offset == 3 * 4096)
        #expect(seeds["primary-wiped"].flatMap { Self.parses($0) }?.fromBackup == true)
        #expect(seeds["partition-past-end"].flatMap { Self.parses($0) } == nil, "a partition past the end is refused")
    }

    @Test func truncatedPrefixesOfEverySeedNeverTrap() throws {
        // Prefixes at sector-ish steps: a disk image cut short is the commonest damage.
        for seed in try FuzzCorpus.seeds("GPTParse") {
            for end in stride(from: 0, through: seed.bytes.count, by: 509) {
                GPTFuzz.run(Array(seed.bytes[0..<end]))
            }
        }
    }
}
