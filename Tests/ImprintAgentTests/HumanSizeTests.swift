import Testing
@testable import ImprintAgent

@Suite("Human sizes")
struct HumanSizeTests {
    @Test("binary units, one decimal, half up", arguments: [
        (UInt64(0), "0 B"),
        (512, "512 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (1536, "1.5 KiB"),
        (1075, "1.0 KiB"),  // 1.0498
        (1076, "1.1 KiB"),  // 1.0508
        (1_048_575, "1.0 MiB"),  // would be 1024.0 KiB
        (67_108_864, "64.0 MiB"),
        (500_107_862_016, "465.8 GiB"),
        (UInt64.max, "16.0 EiB"),
    ])
    func formats(bytes: UInt64, expected: String) {
        #expect(humanSize(bytes) == expected)
    }
}
