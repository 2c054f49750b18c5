/// The store's servers: TFTP (SwiftNIO datagrams) and, from issue 4, HTTP. They only read files from
/// the store and accept agents' reports; every per-device decision is already written there.
public enum ImprintServer {}
