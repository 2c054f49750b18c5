/// Where a raw image holds data, so a writer can skip its holes.
///
/// The image is cut into blocks of ``blockSize`` bytes from offset 0 (the last one may be
/// shorter). A block is in the map when at least one of its bytes is not zero. ``ranges`` are
/// the maximal runs of such blocks as `(offset, length)`: ascending, never overlapping or
/// touching, each starting on a block boundary, the last one clipped to the image's size.
/// An all-zero image has no ranges; a writer must still make the target ``size`` bytes long.
public struct BlockMap: Equatable, Sendable {
    public struct Range: Equatable, Sendable {
        public var offset: Int
        public var length: Int
        public init(offset: Int, length: Int) {
            self.offset = offset
            self.length = length
        }
    }

    /// 64 KiB: small enough to find the holes of a freshly made filesystem, big enough that a
    /// descriptor for a mostly full 100 GiB disk stays a few hundred KB in the worst case.
    public static let defaultBlockSize = 65536

    public var blockSize: Int
    /// The uncompressed image's size in bytes.
    public var size: Int
    public var ranges: [Range]

    public init(blockSize: Int, size: Int, ranges: [Range]) {
        self.blockSize = blockSize
        self.size = size
        self.ranges = ranges
    }

    /// The bytes the ranges cover.
    public var dataBytes: Int { ranges.reduce(0) { $0 + $1.length } }
}

/// Builds a ``BlockMap`` from an image fed in order, in chunks of any size.
///
///     var builder = BlockMapBuilder()
///     builder.feed(chunk1); builder.feed(chunk2)
///     let map = builder.finish()
public struct BlockMapBuilder: Sendable {
    public let blockSize: Int
    private var size = 0
    /// Whether the block being filled has shown a non-zero byte yet.
    private var blockHasData = false
    private var ranges: [BlockMap.Range] = []

    /// `blockSize` must be positive.
    public init(blockSize: Int = BlockMap.defaultBlockSize) {
        precondition(blockSize > 0, "a block map needs a positive block size")
        self.blockSize = blockSize
    }

    public mutating func feed(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { feed($0) }
    }

    public mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        var position = 0
        while position < bytes.count {
            let inBlock = size % blockSize
            let take = min(blockSize - inBlock, bytes.count - position)
            if !blockHasData && !ZeroScan.isZero(UnsafeRawBufferPointer(rebasing: bytes[position..<(position + take)])) {
                blockHasData = true
            }
            size += take
            position += take
            if size % blockSize == 0 { closeBlock() }
        }
    }

    /// The map of everything fed so far.
    public func finish() -> BlockMap {
        var copy = self
        if copy.size % blockSize != 0 { copy.closeBlock() }
        return BlockMap(blockSize: blockSize, size: size, ranges: copy.ranges)
    }

    /// Records the block that ends at `size` (a boundary, or the image's end).
    private mutating func closeBlock() {
        defer { blockHasData = false }
        guard blockHasData else { return }
        let start = (size - 1) / blockSize * blockSize
        if let last = ranges.last, last.offset + last.length == start {
            ranges[ranges.count - 1].length = size - last.offset
        } else {
            ranges.append(.init(offset: start, length: size - start))
        }
    }
}
