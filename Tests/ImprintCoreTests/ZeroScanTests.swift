import Testing

@testable import ImprintCore

@Suite("Zero blocks a writer skips")
struct ZeroScanTests {
    @Test("runs of non-zero blocks, aligned to disk offsets, merged when adjacent")
    func runs() {
        var bytes = [UInt8](repeating: 0, count: 10)
        bytes[1] = 1
        bytes[5] = 1
        bytes[6] = 1
        bytes.withUnsafeBytes { buffer in
            // Blocks [0,4) and [4,8) hold data and touch: one run; [8,10) is zeros.
            #expect(ZeroScan.dataRuns(buffer, offset: 0, blockSize: 4) == [0..<8])
            // At disk offset 2 the blocks are [2,4) [4,8) [8,12): indices 0..<2 (byte 1), 2..<6 (5), 6..<10 (6).
            #expect(ZeroScan.dataRuns(buffer, offset: 2, blockSize: 4) == [0..<10])
        }
        var gap = [UInt8](repeating: 0, count: 10)
        gap[1] = 1
        gap[9] = 1
        gap.withUnsafeBytes { buffer in
            #expect(ZeroScan.dataRuns(buffer, offset: 0, blockSize: 4) == [0..<4, 8..<10])
        }
        let zeros = [UInt8](repeating: 0, count: 100)
        zeros.withUnsafeBytes { #expect(ZeroScan.dataRuns($0, offset: 7, blockSize: 16).isEmpty) }
        var tail = [UInt8](repeating: 0, count: 70)
        tail[69] = 9
        tail.withUnsafeBytes {
            #expect(ZeroScan.dataRuns($0, offset: 0, blockSize: 64) == [64..<70])
            #expect(!ZeroScan.isZero($0))
        }
    }
}
