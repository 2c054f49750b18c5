// libFuzzer target for the recipe reader (Recipe.parse(yaml:file:), on Yams). The harness is
// RecipeFuzz in Tests/ImprintBuilderTests/RecipeFuzzCorpusTests.swift, which replays the committed
// corpus in `make test`; scripts/fuzz compiles it here with -D IMPRINT_FUZZ in one module with
// Sources/ImprintCore and Sources/ImprintBuilder/Recipe*.swift, linked against a Yams built by
// `swift build -Xswiftc -sanitize=fuzzer` (DESIGN section 10).

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRecipeParse(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    RecipeFuzz.run(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
