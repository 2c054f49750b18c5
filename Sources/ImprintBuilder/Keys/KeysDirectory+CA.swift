import ImprintCore

extension KeysDirectory {
    public static let caCertificateName = "ca.pem"

    /// The CA certificate (PEM) identities carry, once `imprint ca init` has made one; nil before.
    public func caCertificatePEM() throws -> String? {
        guard exists, let bytes = try read(Self.caCertificateName) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
}
