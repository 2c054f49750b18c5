import Testing

@testable import ImprintCore

@Suite("TFTP option negotiation")
struct TFTPNegotiationTests {
    func negotiate(_ options: [(String, String)], size: UInt64 = 1000, limits: TFTPLimits = TFTPLimits()) throws(TFTPRefusal) -> TFTPNegotiation {
        try TFTPNegotiation.negotiate(options.map { TFTPOption($0.0, $0.1) }, fileSize: size, limits: limits)
    }

    @Test func noOptionsIsAPlainTransferWithoutOACK() throws {
        #expect(try negotiate([]) == .plain)
        #expect(try negotiate([("multicast", ""), ("rollover", "0")]) == .plain, "unknown options are ignored")
    }

    @Test func everyKnownOptionIsAnsweredInRequestOrder() throws {
        let n = try negotiate([("TSIZE", "0"), ("blksize", "1468"), ("timeout", "3"), ("windowsize", "16")], size: 67_108_864)
        #expect(n.blockSize == 1468)
        #expect(n.windowSize == 16)
        #expect(n.timeoutSeconds == 3)
        // Names are echoed as the client spelled them.
        #expect(n.reply == [TFTPOption("TSIZE", "67108864"), TFTPOption("blksize", "1468"), TFTPOption("timeout", "3"), TFTPOption("windowsize", "16")])
    }

    @Test(arguments: [(8, 8), (512, 512), (65464, 65464), (65465, 65464), (999_999, 65464), (4_000_000_000_000, 65464)])
    func blksizeIsClampedToTheMaximum(asked: Int, got: Int) throws {
        let n = try negotiate([("blksize", String(asked))])
        #expect(n.blockSize == got)
        #expect(n.reply == [TFTPOption("blksize", String(got))])
    }

    @Test func blksizeIsClampedToTheServersLimit() throws {
        #expect(try negotiate([("blksize", "9000")], limits: TFTPLimits(maxBlockSize: 1468)).blockSize == 1468)
    }

    static let refused: [(String, String)] = [
        ("blksize", "7"), ("blksize", "0"), ("blksize", "-1"), ("blksize", ""), ("blksize", "12a"), ("blksize", " 512"),
        ("windowsize", "0"), ("timeout", "0"), ("timeout", "256"), ("timeout", "x"), ("tsize", "abc"),
    ]

    @Test(arguments: refused.indices)
    func outOfRangeOrNonNumericValuesAreRefusedWithError8(index: Int) {
        let (name, value) = Self.refused[index]
        #expect(throws: TFTPRefusal.self) { try negotiate([(name, value)]) }
        do {
            _ = try negotiate([(name, value)])
        } catch {
            #expect(error.code == .optionRefused)
        }
    }

    @Test(arguments: [(512, 138), (1468, 83), (8192, 12), (32768, 4), (65464, 3)])
    func windowIsBoundByWhatTheDefaultReceiveBufferHolds(blksize: Int, cap: Int) throws {
        // Measured on Linux: 212,992 bytes hold 166 x 512, 92 x 1468, 12 x 8192, 6 x 32768, 3 x 65464.
        let n = try negotiate([("windowsize", "65535"), ("blksize", String(blksize))])
        #expect(n.windowSize == cap)
        #expect(n.reply.first == TFTPOption("windowsize", String(cap)), "the OACK carries the lowered window")
        #expect(try negotiate([("blksize", String(blksize)), ("windowsize", "2")]).windowSize == 2, "a small window is kept")
    }

    @Test func windowsizeIsClampedTo65535() throws {
        #expect(try negotiate([("windowsize", "70000")], limits: TFTPLimits(windowBudget: 1 << 40)).windowSize == 65535)
    }

    @Test func emptyFilesGetNoTsize() throws {
        #expect(try negotiate([("tsize", "0"), ("blksize", "512")], size: 0).reply == [TFTPOption("blksize", "512")])
    }

    @Test func theFirstOfRepeatedOptionsCounts() throws {
        let n = try negotiate([("blksize", "1024"), ("BLKSIZE", "2048")])
        #expect(n.blockSize == 1024)
        #expect(n.reply.count == 1)
    }
}
