import Foundation
import ImprintCore
import Testing

@testable import ImprintServer

/// The read-ahead behind small blocks: whatever order a transfer asks for blocks in (in order, a
/// window again from further back, the short last one), it gets the file's bytes at that offset.
@Suite struct TFTPReadAheadTests {
    /// A store with `boot/file` of `size` bytes of a known pattern; the source opened on it.
    static func source(size: Int) throws -> (TFTPSource, [UInt8], URL) {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("imprint-readahead-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("boot"), withIntermediateDirectories: true)
        let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 9) }
        try Data(bytes).write(to: root.appendingPathComponent("boot/file"))
        let real = try #require(realpath(root.path, nil))
        defer { free(real) }
        let source = try TFTPSource.open(root: String(cString: real), components: ["boot", "file"], mode: .octet, maxNetascii: 1 << 20)
        return (source, bytes, root)
    }

    func read(_ reader: TFTPReadAhead, offset: Int, count: Int) -> [UInt8]? {
        var out = [UInt8](repeating: 0xEE, count: count)
        let got = out.withUnsafeMutableBytes { reader.read(into: $0, offset: UInt64(offset)) }
        return got < 0 ? nil : Array(out.prefix(got))
    }

    @Test(arguments: [512, 1468, 8192, 65464])
    func blocksInOrderThenAWindowAgainThenTheEnd(blockSize: Int) throws {
        // Three and a half chunks, so the in-order reads cross chunk edges mid-block.
        let size = TFTPReadAhead.chunkBytes * 7 / 2 + 333
        let (source, bytes, root) = try Self.source(size: size)
        defer { try? FileManager.default.removeItem(at: root) }
        let reader = TFTPReadAhead(source: source, blockSize: blockSize)
        let blocks = size / blockSize + 1
        var offsets = (0..<blocks).map { $0 * blockSize }
        // A window of 16 sent again from far back (past a refill), and the middle block once more.
        offsets += (blocks / 3..<min(blocks, blocks / 3 + 16)).map { $0 * blockSize } + [blocks / 2 * blockSize]
        for offset in offsets {
            let count = min(blockSize, size - offset)
            let got = try #require(read(reader, offset: offset, count: blockSize), "a read error at \(offset)")
            #expect(got == Array(bytes[offset..<offset + count]), "the bytes at offset \(offset)")
        }
    }

    @Test func aFileThatShrankReadsShort() throws {
        let (source, _, root) = try Self.source(size: 10_000)
        defer { try? FileManager.default.removeItem(at: root) }
        let reader = TFTPReadAhead(source: source, blockSize: 512)
        #expect(read(reader, offset: 0, count: 512)?.count == 512)
        // Cut the file under the transfer. A block in the chunk already read comes from it; the short
        // last block needs a refill, which finds the file cut and reads short (the transfer fails with
        // "read error" rather than send bytes the file no longer has).
        let handle = try FileHandle(forWritingTo: root.appendingPathComponent("boot/file"))
        try handle.truncate(atOffset: 1000)
        try handle.close()
        #expect(read(reader, offset: 512, count: 512)?.count == 512, "still in the chunk read before")
        #expect(read(reader, offset: 9728, count: 512)?.count == 0, "the refill past the cut")
        #expect(read(reader, offset: 512, count: 512)?.count == 488, "read again: what is left of the block")
    }
}
