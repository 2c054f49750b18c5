import ImprintDigest

extension SHA256 {
    /// A hasher, or the store's error when OpenSSL cannot start one.
    static func make() throws(StoreError) -> SHA256 {
        guard let hasher = SHA256() else { throw StoreError("SHA-256: OpenSSL could not start a digest") }
        return hasher
    }
}
