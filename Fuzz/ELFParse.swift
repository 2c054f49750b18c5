// libFuzzer target for the ELF reader (ELFFile) and a .modinfo section through ModInfo. The harness is ELFFuzz in
// Tests/ImprintCoreTests/ELFFuzzCorpusTests.swift, which replays the committed corpus in `make test`;
// scripts/fuzz compiles it here with -D IMPRINT_FUZZ over Sources/ImprintCore.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzELFParse(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    ELFFuzz.run(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
