// libFuzzer target for the agent's modules.dep/.alias/.softdep parser (ModuleGraph) and modalias matching (globMatch, checked against fnmatch). The harness is ModuleAliasFuzz in
// Tests/ImprintCoreTests/ModuleAliasFuzzCorpusTests.swift, which replays the committed corpus in `make test`;
// scripts/fuzz compiles it here with -D IMPRINT_FUZZ over Sources/ImprintCore (with ModInfoFuzzCorpusTests.swift for its helper).

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzModuleAlias(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    ModuleAliasFuzz.run(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
