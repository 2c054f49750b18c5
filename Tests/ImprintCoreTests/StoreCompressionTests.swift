import Testing

@testable import ImprintCore

@Suite("Compression and format detection")
struct CompressionTests {
    static let vectors: [(bytes: [UInt8], expected: Compression)] = [
        ([0x28, 0xB5, 0x2F, 0xFD, 0x04, 0x58], .zstd),  // zstd frame magic, then a frame header
        ([0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00], .xz),  // "\xFD7zXZ\0"
        ([0x1F, 0x8B, 0x08, 0x00], .gzip),  // gzip magic, CM=8 (deflate)
        ([0x1F, 0x8B], .gzip),  // the magic alone is enough
        ([0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x01], .none),  // xz magic with the wrong last byte
        ([0x28, 0xB5, 0x2F], .none),  // too short for zstd
        ([0x28, 0xB5, 0x2F, 0xFC], .none),  // skippable/other frame: not zstd data
        ([0xEB, 0x63, 0x90], .none),  // a boot sector's jump
        ([], .none),
        ([0x42, 0x5A, 0x68], .none),  // bzip2 is not supported: treated as raw
    ]

    @Test(arguments: 0..<vectors.count)
    func detectsByMagic(index: Int) {
        let vector = Self.vectors[index]
        #expect(Compression.detect(vector.bytes) == vector.expected)
    }

    @Test func tarNeedsUstarAtOffset257() {
        var header = [UInt8](repeating: 0, count: 512)
        header.replaceSubrange(257..<262, with: Array("ustar".utf8))
        #expect(ImageFormat.detect(header) == .tar)
        #expect(ImageFormat.detect(Array(header.prefix(262))) == .tar)
        #expect(ImageFormat.detect(Array(header.prefix(261))) == .raw)
        var shifted = [UInt8](repeating: 0, count: 512)
        shifted.replaceSubrange(256..<261, with: Array("ustar".utf8))
        #expect(ImageFormat.detect(shifted) == .raw)
        #expect(ImageFormat.detect([UInt8](repeating: 0, count: 4096)) == .raw)
    }
}
