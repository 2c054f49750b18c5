// The harness half of this file is also the libFuzzer target Fuzz/CpioRead.swift: scripts/fuzz
// compiles it with -D IMPRINT_FUZZ beside Sources/ImprintCore, which leaves out the imports and the
// tests. One copy of the harness, so the replay runs exactly what the fuzzer ran.
#if !IMPRINT_FUZZ
import Foundation
import ImprintTestSupport
import Testing

@testable import ImprintCore
#endif

/// What the cpio fuzz target runs on each input: the newc reader (`Cpio.read`, as `imprint` reads a
/// built initrd back), then the writer on what it read. It must never trap, and a read archive must
/// write back to bytes that read to the same members.
enum CpioFuzz {
    static func run(_ bytes: [UInt8]) {
        check(bytes)
        // The same archive behind the 4-byte padding a concatenated initrd carries.
        if !bytes.isEmpty && bytes.count % 4 != 0 {
            check(bytes + [UInt8](repeating: 0, count: 4 - bytes.count % 4))
        }
    }

    static func check(_ bytes: [UInt8]) {
        guard let entries = try? Cpio.read(bytes) else { return }
        var total = 0
        for entry in entries {
            precondition(!entry.name.utf8.isEmpty || entry.name.isEmpty, "a name lost its bytes")
            precondition(entry.name != Cpio.trailerName, "the trailer came back as a member")
            total += Cpio.headerSize + entry.name.utf8.count + 1 + entry.data.count
        }
        precondition(total <= bytes.count, "members hold more bytes than the archive")

        // Written back, the members read the same: `write` numbers members whose inode is 0, so
        // compare with those numbers, then the bytes of a second write.
        let written = Cpio.write(entries, padTo: 4)
        precondition(written.count % 4 == 0, "the archive is not padded to 4")
        guard let again = try? Cpio.read(written) else { preconditionFailure("a written archive does not read") }
        precondition(again.count == entries.count, "the round trip changed the member count")
        for (before, after) in zip(entries, again) {
            var expected = before
            if expected.ino == 0 { expected.ino = after.ino }
            precondition(expected == after, "the round trip changed a member")
        }
        precondition(Cpio.write(again, padTo: 4) == written, "writing is not stable")
        precondition(Cpio.write(entries, padTo: 512).count % 512 == 0, "the archive is not padded to 512")
    }
}

#if !IMPRINT_FUZZ
/// Replays the committed libFuzzer corpus (`Fuzz/corpus/CpioRead/`) through what the fuzz target
/// runs, so every input the fuzzer ever kept stays a regression test in `make test` (DESIGN section 10).
@Suite("cpio fuzz corpus")
struct CpioFuzzCorpusTests {
    @Test func everyCorpusInputRunsWithoutTrapping() throws {
        let seeds = try FuzzCorpus.seeds("CpioRead")
        #expect(seeds.count >= 8, "the corpus lost its seeds")
        var archives = 0
        for seed in seeds {
            CpioFuzz.run(seed.bytes)
            if (try? Cpio.read(seed.bytes)) != nil { archives += 1 }
        }
        #expect(archives > 0 && archives < seeds.count, "the corpus holds archives and malformed inputs")
    }

    @Test func everyPrefixOfAnArchiveIsRefused() throws {
        // Truncation is what a short download or a half-written initrd gives: each cut must throw
        // (or, past the trailer, read the same members), never trap.
        for seed in try FuzzCorpus.seeds("CpioRead") {
            guard let whole = try? Cpio.read(seed.bytes) else { continue }
            for end in stride(from: 0, to: seed.bytes.count, by: seed.bytes.count > 600 ? 7 : 1) {
                let prefix = Array(seed.bytes[0..<end])
                CpioFuzz.run(prefix)
                if let read = try? Cpio.read(prefix) { #expect(read == whole, "\(seed.name) cut at \(end)") }
            }
        }
    }
}
#endif
