// libFuzzer target for the GPT reader the agent runs on the disk it deploys to: the input is the
// disk, parsed with 512- and 4096-byte sectors and several disk sizes (GPTFuzz). Built by
// scripts/fuzz (swiftc -sanitize=fuzzer over Sources/ImprintCore); the committed corpus is replayed by
// ImprintCoreTests' GPTFuzzCorpusTests in `make test`.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGPTDisk(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    GPTFuzz.run(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
