// libFuzzer target for the JSON parser and every manifest reader: the store's assignment, identity,
// image descriptor and status report, inventory and lspci listings, the agent's profile.json and
// identity.json, and the UTC times, base64 and partition specs they hold. The harness is ManifestFuzz
// in Tests/ImprintAgentTests/ManifestFuzzCorpusTests.swift, which replays the committed corpus in
// `make test`; scripts/fuzz compiles it here with -D IMPRINT_FUZZ in one module with
// Sources/ImprintCore and Sources/ImprintAgent/Logic/Manifests.swift.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzManifestParse(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    ManifestFuzz.run(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
