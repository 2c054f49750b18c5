// libFuzzer target for the store server's `Range` header (HTTPByteRange) and request-target
// (HTTPStorePath.segments) parsing. The harness is HTTPRangeFuzz in
// Tests/ImprintServerTests/HTTPRangeFuzzCorpusTests.swift, which replays the committed corpus in
// `make test`; scripts/fuzz compiles it here with -D IMPRINT_FUZZ beside
// Sources/ImprintServer/HTTP/HTTPStorePath.swift.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPRange(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    HTTPRangeFuzz.run(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
