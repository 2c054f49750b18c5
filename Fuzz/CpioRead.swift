// libFuzzer target for the newc cpio reader (Cpio.read) and the writer on what it read. The harness
// is CpioFuzz in Tests/ImprintCoreTests/CpioFuzzCorpusTests.swift, which replays the committed corpus
// in `make test`; scripts/fuzz compiles it here with -D IMPRINT_FUZZ over Sources/ImprintCore.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCpioArchive(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    CpioFuzz.run(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
