import ImprintCore

extension KeysDirectory {
    public static let caCertificateName = "ca.pem"
    public static let caKeyName = "ca.key"
    public static let serverCertificateName = "server.pem"
    public static let serverKeyName = "server.key"

    /// The CA certificate (PEM) identities carry, once `imprint ca init` has made one; nil before.
    public func caCertificatePEM() throws -> String? {
        guard exists, let bytes = try read(Self.caCertificateName) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// What `imprint ca init` made.
    public struct CAInit: Sendable {
        public var ca: Certificates.Issued
        public var server: Certificates.Issued
        /// The CA was already there and was kept (identities and media stay valid).
        public var keptCA: Bool
    }

    /// `imprint ca init`: a CA (kept when there is one, unless `newCA`) and a new server certificate
    /// it signs for `names` and `addresses`, written as ca.key, ca.pem, server.key and server.pem
    /// (server.pem holds the server's certificate, then the CA's: the chain a client is sent).
    public func initCA(names: [String], addresses: [String], days: Int, caDays: Int = 7300, newCA: Bool) throws -> CAInit {
        try check(create: true)
        var ca: Certificates.Issued
        var kept = false
        if !newCA, let certificate = try read(Self.caCertificateName) {
            guard let key = try read(Self.caKeyName) else {
                throw StoreError("\(path)/\(Self.caCertificateName) has no \(Self.caKeyName) beside it: restore it from a backup, or make a new CA with --new-ca (then rebuild media and re-add devices)")
            }
            ca = Certificates.Issued(keyPEM: String(decoding: key, as: UTF8.self), certificatePEM: String(decoding: certificate, as: UTF8.self))
            guard try Certificates.keyMatches(keyPEM: ca.keyPEM, certificatePEM: ca.certificatePEM) else {
                throw StoreError("\(path)/\(Self.caKeyName) is not the key of \(Self.caCertificateName): restore the pair from a backup, or make a new CA with --new-ca")
            }
            kept = true
        } else {
            ca = try Certificates.makeCA(commonName: "imprint CA", days: caDays)
        }
        let server = try Certificates.makeServer(ca: ca, names: names, addresses: addresses, days: days)
        if !kept {
            try write(Self.caKeyName, Array(ca.keyPEM.utf8))
            try write(Self.caCertificateName, Array(ca.certificatePEM.utf8))
        }
        try write(Self.serverKeyName, Array(server.keyPEM.utf8))
        try write(Self.serverCertificateName, Array((server.certificatePEM + ca.certificatePEM).utf8))
        return CAInit(ca: ca, server: server, keptCA: kept)
    }

    /// What `imprint serve --https` presents: the certificate chain and key (PEM), and the server
    /// certificate's summary. Refused with the reason when missing, unreadable, loose or mismatched.
    public func serverTLS() throws -> (chainPEM: String, keyPEM: String, summary: Certificates.Summary) {
        guard exists else {
            throw StoreError("no keys folder \(path): make a CA and a server certificate first (imprint ca init --name NAME --ip ADDR), or give --keys DIR")
        }
        guard let chain = try read(Self.serverCertificateName), let key = try read(Self.serverKeyName) else {
            throw StoreError("no \(Self.serverCertificateName) and \(Self.serverKeyName) in \(path): make them with imprint ca init --name NAME --ip ADDR")
        }
        let chainPEM = String(decoding: chain, as: UTF8.self)
        let keyPEM = String(decoding: key, as: UTF8.self)
        let summary: Certificates.Summary
        do {
            summary = try Certificates.summary(chainPEM)
            guard try Certificates.keyMatches(keyPEM: keyPEM, certificatePEM: chainPEM) else {
                throw StoreError("\(Self.serverKeyName) is not the key of \(Self.serverCertificateName)")
            }
        } catch {
            throw StoreError("\(path)/\(Self.serverCertificateName): \(error): make a new one with imprint ca init --name NAME --ip ADDR")
        }
        return (chainPEM, keyPEM, summary)
    }
}
