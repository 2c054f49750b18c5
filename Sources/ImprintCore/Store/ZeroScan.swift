/// Finds the parts of a buffer worth writing: a writer skips blocks that are all zeros,
/// so a sparse image costs only its data (DESIGN section 6: "skipping holes").
public enum ZeroScan {
    /// The runs of `blockSize`-aligned blocks (aligned to absolute disk offsets, `offset`
    /// being where `bytes` starts) that hold a non-zero byte, merged when adjacent, as
    /// ranges of indices into `bytes`. The first and last blocks may be partial.
    public static func dataRuns(_ bytes: UnsafeRawBufferPointer, offset: Int, blockSize: Int = 65536) -> [Range<Int>] {
        precondition(blockSize > 0)
        var runs: [Range<Int>] = []
        var start = 0
        while start < bytes.count {
            let absolute = offset + start
            let end = min(bytes.count, start + blockSize - absolute % blockSize)
            if !isZero(UnsafeRawBufferPointer(rebasing: bytes[start..<end])) {
                if let last = runs.last, last.upperBound == start {
                    runs[runs.count - 1] = last.lowerBound..<end
                } else {
                    runs.append(start..<end)
                }
            }
            start = end
        }
        return runs
    }

    /// Whether every byte is zero; 32 bytes a round: this runs over every byte of every image
    /// (`image add`'s block map, the agent's writes).
    public static func isZero(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        let count = bytes.count
        while index + 32 <= count {
            let a = bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            let b = bytes.loadUnaligned(fromByteOffset: index + 8, as: UInt64.self)
            let c = bytes.loadUnaligned(fromByteOffset: index + 16, as: UInt64.self)
            let d = bytes.loadUnaligned(fromByteOffset: index + 24, as: UInt64.self)
            if a | b | c | d != 0 { return false }
            index += 32
        }
        while index < count {
            if bytes[index] != 0 { return false }
            index += 1
        }
        return true
    }
}
