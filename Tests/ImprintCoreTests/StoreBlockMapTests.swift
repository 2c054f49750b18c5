import Testing

@testable import ImprintCore

@Suite("BlockMap")
struct BlockMapTests {
    typealias R = BlockMap.Range

    /// An image of `size` bytes, zero but for a 1 at each of `marks`.
    static func image(size: Int, marks: [Int]) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: size)
        for mark in marks { bytes[mark] = 1 }
        return bytes
    }

    static func map(_ bytes: [UInt8], blockSize: Int, chunk: Int) -> BlockMap {
        var builder = BlockMapBuilder(blockSize: blockSize)
        var start = 0
        while start < bytes.count {
            builder.feed(Array(bytes[start..<min(start + chunk, bytes.count)]))
            start += chunk
        }
        return builder.finish()
    }

    static let cases: [(name: String, size: Int, marks: [Int], ranges: [R])] = [
        ("all zero", 64, [], []),
        ("empty", 0, [], []),
        ("first byte", 64, [0], [R(offset: 0, length: 16)]),
        ("last byte of a block", 64, [15], [R(offset: 0, length: 16)]),
        ("first byte of the next block", 64, [16], [R(offset: 16, length: 16)]),
        ("adjacent blocks merge", 64, [15, 16], [R(offset: 0, length: 32)]),
        ("a hole splits", 64, [0, 40], [R(offset: 0, length: 16), R(offset: 32, length: 16)]),
        ("every block", 64, [1, 17, 33, 63], [R(offset: 0, length: 64)]),
        ("short last block is clipped", 70, [69], [R(offset: 64, length: 6)]),
        ("run into a short last block", 70, [50, 65], [R(offset: 48, length: 22)]),
    ]

    @Test(arguments: cases.map(\.name))
    func rangesForAnyChunking(name: String) throws {
        let item = try #require(Self.cases.first { $0.name == name })
        let bytes = Self.image(size: item.size, marks: item.marks)
        for chunk in [1, 3, 16, 17, 1000] {
            let map = Self.map(bytes, blockSize: 16, chunk: chunk)
            #expect(map.ranges == item.ranges, "chunk \(chunk)")
            #expect(map.size == item.size)
            #expect(map.blockSize == 16)
        }
    }

    @Test func everyNonZeroByteIsCoveredAndEveryRangeHoldsData() {
        var generator = SplitMix64(seed: 7)
        for _ in 0..<50 {
            let size = Int(generator.next() % 5000)
            let marks = (0..<Int(generator.next() % 8)).compactMap { _ in size == 0 ? nil : Int(generator.next() % UInt64(size)) }
            let bytes = Self.image(size: size, marks: marks)
            let map = Self.map(bytes, blockSize: 64, chunk: 1 + Int(generator.next() % 300))
            for mark in marks {
                #expect(map.ranges.contains { $0.offset <= mark && mark < $0.offset + $0.length })
            }
            for (index, range) in map.ranges.enumerated() {
                #expect(range.offset % 64 == 0)
                #expect(range.offset + range.length <= size)
                if index > 0 { #expect(map.ranges[index - 1].offset + map.ranges[index - 1].length < range.offset) }
                // No all-zero block inside a range.
                var block = range.offset
                while block < range.offset + range.length {
                    #expect(bytes[block..<min(block + 64, size)].contains { $0 != 0 })
                    block += 64
                }
            }
        }
    }

    @Test func zeroCheckSeesEachByteOfAWord() {
        for position in 0..<40 {
            var bytes = [UInt8](repeating: 0, count: 40)
            bytes[position] = 0x80
            #expect(!bytes.withUnsafeBytes { ZeroScan.isZero($0) })
        }
        #expect([UInt8](repeating: 0, count: 40).withUnsafeBytes { ZeroScan.isZero($0) })
    }
}
