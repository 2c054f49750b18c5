import Foundation
import ImprintTestSupport
import Testing

@testable import ImprintCore

/// Replays the committed libFuzzer corpus (`Fuzz/corpus/DHCPDecode/`) through what the fuzz target
/// runs, so every input the fuzzer ever kept stays a regression test in `make test` (DESIGN section 10).
@Suite("DHCP fuzz corpus")
struct DHCPFuzzCorpusTests {
    @Test func everyCorpusInputRunsWithoutTrapping() throws {
        let seeds = try FuzzCorpus.seeds("DHCPDecode")
        #expect(seeds.count >= 24, "the corpus lost its seeds")
        var messages = 0
        var packets = 0
        for seed in seeds {
            DHCPFuzz.run(seed.bytes)
            if (try? DHCPMessage.decode(seed.bytes)) != nil { messages += 1 }
            if (try? IPv4UDPFrame.parse(seed.bytes, verifyUDPChecksum: false)) != nil { packets += 1 }
        }
        #expect(messages > 0 && packets > 0 && messages + packets < seeds.count,
                "the corpus holds DHCP payloads, whole packets and malformed inputs")
    }

    @Test func dripFedPrefixesOfEverySeedNeverTrap() throws {
        // Every prefix of every seed: truncation is the commonest malformation on the wire.
        for seed in try FuzzCorpus.seeds("DHCPDecode") {
            for end in stride(from: 0, through: min(seed.bytes.count, 400), by: seed.bytes.count > 200 ? 3 : 1) {
                DHCPFuzz.run(Array(seed.bytes[0..<end]))
            }
        }
    }
}
