// libFuzzer target for what the agent does with a packet from its AF_PACKET socket before trusting
// it: IPv4/UDP parse, DHCP decode, re-encode, the typed options, the lease, and a client state
// machine fed the result. Built by scripts/fuzz (swiftc -sanitize=fuzzer over Sources/ImprintCore);
// the committed corpus is replayed by ImprintCoreTests' DHCPFuzzCorpusTests in `make test`.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDHCPPacket(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    DHCPFuzz.run(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
