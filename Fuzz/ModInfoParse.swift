// libFuzzer target for .modinfo sections (ModInfo), the module graph, and modules.dep/.alias/.softdep written and read back. The harness is ModInfoFuzz in
// Tests/ImprintCoreTests/ModInfoFuzzCorpusTests.swift, which replays the committed corpus in `make test`;
// scripts/fuzz compiles it here with -D IMPRINT_FUZZ over Sources/ImprintCore.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzModInfoParse(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    ModInfoFuzz.run(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
