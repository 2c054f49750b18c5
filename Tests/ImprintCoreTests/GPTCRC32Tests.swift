import Testing

@testable import ImprintCore

@Suite("GPT CRC32")
struct GPTCRC32Tests {
    /// Check values from zlib's `crc32` (Python's `zlib.crc32`).
    @Test(arguments: [
        ("", UInt32(0x0000_0000)),
        ("a", 0xE8B7_BE43),
        ("123456789", 0xCBF4_3926),  // the catalogue check value of CRC-32/ISO-HDLC
        ("The quick brown fox jumps over the lazy dog", 0x414F_A339),
    ])
    func knownVectors(text: String, expected: UInt32) {
        #expect(CRC32.checksum(Array(text.utf8)) == expected, "CRC32 of '\(text)'")
    }

    @Test func thirtyTwoZeroBytes() {
        #expect(CRC32.checksum([UInt8](repeating: 0, count: 32)) == 0x190A_55AD, "zeros still change the CRC")
    }

    @Test func incrementalEqualsWhole() {
        let bytes = Array("The quick brown fox jumps over the lazy dog".utf8)
        var crc = CRC32()
        crc.update(bytes[0..<10])
        crc.update(bytes[10...])
        #expect(crc.value == CRC32.checksum(bytes), "split updates give the whole checksum")
    }
}
