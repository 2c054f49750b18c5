// libFuzzer target for the TFTP packet decoder and everything the server does with a request before
// touching a file: decode, re-encode, path policy, option negotiation, and a transfer driven by the
// decoded packet. Built by scripts/fuzz (swiftc -sanitize=fuzzer over Sources/ImprintCore); the
// committed corpus is replayed by ImprintCoreTests' TFTPFuzzCorpusTests in `make test`.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTFTPPacket(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    TFTPFuzz.run(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
