import COpenSSL
import Foundation
import ImprintCore

/// X.509 for `imprint ca init` and `imprint serve --https` (DESIGN section 8, docs/security.md),
/// through OpenSSL's libcrypto, which the builder already links: ECDSA P-256 keys, a self-signed CA,
/// and a server certificate it signs with the names and addresses the agent connects to as SANs.
/// Every certificate is valid from 2000-01-01, because a machine's clock may be years off before it
/// syncs, and a certificate "not yet valid" would stop a deploy for no gain.
public enum Certificates {
    /// The start of every certificate's validity: 2000-01-01T00:00:00Z.
    public static let notBefore = "20000101000000Z"
    public static let notBeforeEpoch = 946_684_800

    /// A key and its certificate, both PEM.
    public struct Issued: Sendable {
        public var keyPEM: String
        public var certificatePEM: String
    }

    /// What a certificate says about itself (for `serve`'s expiry warning and the tests).
    public struct Summary: Sendable, Equatable {
        public var subject: String
        public var notBefore: Int
        public var notAfter: Int
        public var isCA: Bool
    }

    /// A new CA: a P-256 key and a self-signed certificate (`CN=NAME`), valid for `days` from now.
    public static func makeCA(commonName: String, days: Int) throws -> Issued {
        guard let key = imprint_ec_p256_generate() else { throw failure("could not make a P-256 key") }
        defer { EVP_PKEY_free(key) }
        let certificate = try build(subject: commonName, subjectKey: key, issuer: nil, issuerKey: key, days: days, extensions: [
            (NID_basic_constraints, "critical,CA:TRUE,pathlen:0"),
            (NID_key_usage, "critical,keyCertSign,cRLSign"),
            (NID_subject_key_identifier, "hash"),
        ])
        defer { X509_free(certificate) }
        return Issued(keyPEM: try pem(key: key), certificatePEM: try pem(certificate: certificate))
    }

    /// A server certificate signed by `ca` for `names` (DNS) and `addresses` (IPv4 or IPv6).
    public static func makeServer(ca: Issued, names: [String], addresses: [String], days: Int) throws -> Issued {
        for name in names where !isHostName(name) {
            throw StoreError("'\(name)' is not a host name (letters, digits, '-' and '.', an optional leading '*.')")
        }
        for address in addresses where !isIPAddress(address) {
            throw StoreError("'\(address)' is not an IPv4 or IPv6 address")
        }
        guard !names.isEmpty || !addresses.isEmpty else {
            throw StoreError("a server certificate needs at least one --name or --ip: the names and addresses agents connect to")
        }
        let caKey = try readKey(ca.keyPEM)
        defer { EVP_PKEY_free(caKey) }
        let caCertificate = try readCertificate(ca.certificatePEM)
        defer { X509_free(caCertificate) }
        guard let key = imprint_ec_p256_generate() else { throw failure("could not make a P-256 key") }
        defer { EVP_PKEY_free(key) }
        let alternatives = (names.map { "DNS:\($0)" } + addresses.map { "IP:\($0)" }).joined(separator: ",")
        let certificate = try build(subject: names.first ?? addresses[0], subjectKey: key, issuer: caCertificate, issuerKey: caKey, days: days, extensions: [
            (NID_basic_constraints, "critical,CA:FALSE"),
            (NID_key_usage, "critical,digitalSignature"),
            (NID_ext_key_usage, "serverAuth"),
            (NID_subject_key_identifier, "hash"),
            (NID_authority_key_identifier, "keyid:always"),
            (NID_subject_alt_name, alternatives),
        ])
        defer { X509_free(certificate) }
        return Issued(keyPEM: try pem(key: key), certificatePEM: try pem(certificate: certificate))
    }

    /// The first certificate of a PEM text, summarised.
    public static func summary(_ certificatePEM: String) throws -> Summary {
        let certificate = try readCertificate(certificatePEM)
        defer { X509_free(certificate) }
        var line = [CChar](repeating: 0, count: 512)
        X509_NAME_oneline(X509_get_subject_name(certificate), &line, Int32(line.count))
        return Summary(subject: text(line), notBefore: try epoch(X509_get0_notBefore(certificate)),
                       notAfter: try epoch(X509_get0_notAfter(certificate)), isCA: X509_check_ca(certificate) != 0)
    }

    /// Whether `keyPEM` is the private key of the first certificate in `certificatePEM`.
    public static func keyMatches(keyPEM: String, certificatePEM: String) throws -> Bool {
        let key = try readKey(keyPEM)
        defer { EVP_PKEY_free(key) }
        let certificate = try readCertificate(certificatePEM)
        defer { X509_free(certificate) }
        return X509_check_private_key(certificate, key) == 1
    }

    // MARK: - OpenSSL

    private static func build(subject: String, subjectKey: OpaquePointer, issuer: OpaquePointer?, issuerKey: OpaquePointer,
                              days: Int, extensions: [(Int32, String)]) throws -> OpaquePointer {
        guard days >= 1 && days <= 36_500 else { throw StoreError("--days \(days): give 1 to 36500 days") }
        guard let certificate = X509_new() else { throw failure("X509_new failed") }
        var built = false
        defer { if !built { X509_free(certificate) } }
        guard X509_set_version(certificate, 2) == 1 else { throw failure("X509_set_version failed") }

        // A random 127-bit serial (RFC 5280: positive, at most 20 bytes).
        guard let serial = BN_new() else { throw failure("BN_new failed") }
        defer { BN_free(serial) }
        guard BN_rand(serial, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1,
              BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(certificate)) != nil else { throw failure("could not make a serial number") }

        guard ASN1_TIME_set_string_X509(X509_getm_notBefore(certificate), notBefore) == 1,
              X509_time_adj_ex(X509_getm_notAfter(certificate), Int32(days), 0, nil) != nil else { throw failure("could not set the validity") }

        guard let name = X509_NAME_new() else { throw failure("X509_NAME_new failed") }
        defer { X509_NAME_free(name) }
        guard X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, "imprint", -1, -1, 0) == 1,
              X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, subject, -1, -1, 0) == 1 else {
            throw StoreError("'\(subject)' cannot be a certificate's common name (at most 64 characters)")
        }
        guard X509_set_subject_name(certificate, name) == 1,
              X509_set_issuer_name(certificate, issuer.map { X509_get_subject_name($0) } ?? name) == 1,
              X509_set_pubkey(certificate, subjectKey) == 1 else { throw failure("could not set the names or the key") }

        var context = X509V3_CTX()
        X509V3_set_ctx(&context, issuer ?? certificate, certificate, nil, nil, 0)
        for (nid, value) in extensions {
            guard let ext = X509V3_EXT_conf_nid(nil, &context, nid, value) else {
                throw failure("could not add the extension \(String(cString: OBJ_nid2sn(nid))) = \(value)")
            }
            defer { X509_EXTENSION_free(ext) }
            guard X509_add_ext(certificate, ext, -1) == 1 else { throw failure("X509_add_ext failed") }
        }
        guard X509_sign(certificate, issuerKey, EVP_sha256()) > 0 else { throw failure("could not sign the certificate") }
        built = true
        return certificate
    }

    private static func epoch(_ time: UnsafePointer<ASN1_TIME>?) throws -> Int {
        var parts = tm()
        guard let time, ASN1_TIME_to_tm(time, &parts) == 1 else { throw failure("unreadable certificate time") }
        return timegm(&parts)
    }

    private static func pem(key: OpaquePointer) throws -> String {
        try withMemoryBIO { bio in PEM_write_bio_PrivateKey(bio, key, nil, nil, 0, nil, nil) == 1 }
    }

    private static func pem(certificate: OpaquePointer) throws -> String {
        try withMemoryBIO { bio in PEM_write_bio_X509(bio, certificate) == 1 }
    }

    private static func withMemoryBIO(_ write: (OpaquePointer) -> Bool) throws -> String {
        guard let bio = BIO_new(BIO_s_mem()) else { throw failure("BIO_new failed") }
        defer { BIO_free(bio) }
        guard write(bio) else { throw failure("could not write PEM") }
        var bytes = [UInt8](repeating: 0, count: Int(BIO_ctrl_pending(bio)))
        let count = BIO_read(bio, &bytes, Int32(bytes.count))
        guard count == bytes.count else { throw failure("could not read PEM back") }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func readKey(_ text: String) throws -> OpaquePointer {
        try readPEM(text, what: "private key") { PEM_read_bio_PrivateKey($0, nil, nil, nil) }
    }

    static func readCertificate(_ text: String) throws -> OpaquePointer {
        try readPEM(text, what: "certificate") { PEM_read_bio_X509($0, nil, nil, nil) }
    }

    /// The first PEM object of `text` that `read` takes from a memory BIO.
    private static func readPEM(_ text: String, what: String, _ read: (OpaquePointer) -> OpaquePointer?) throws -> OpaquePointer {
        let object = text.withCString { pointer in
            BIO_new_mem_buf(pointer, -1).flatMap { bio in
                defer { BIO_free(bio) }
                return read(bio)
            }
        }
        guard let object else { throw failure("not a PEM \(what)") }
        return object
    }

    private static func failure(_ what: String) -> StoreError {
        let code = ERR_get_error()
        ERR_clear_error()
        guard code != 0 else { return StoreError(what) }
        var text = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &text, text.count)
        return StoreError("\(what): \(Self.text(text))")
    }

    /// A NUL-terminated C buffer's text.
    private static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    // MARK: - Names

    /// A DNS name for a SAN: `Hostname`'s rules (the ones `device add --hostname` checks), after an
    /// optional leading `*.` (a wildcard certificate).
    static func isHostName(_ name: String) -> Bool {
        let base = name.hasPrefix("*.") ? String(name.dropFirst(2)) : name
        return Hostname.problem(with: base) == nil
    }

    static func isIPAddress(_ text: String) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 16)
        return inet_pton(AF_INET, text, &buffer) == 1 || inet_pton(AF_INET6, text, &buffer) == 1
    }
}
