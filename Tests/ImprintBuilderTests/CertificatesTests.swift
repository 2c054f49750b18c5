import ImprintCore
import Testing

@testable import ImprintBuilder

@Suite("Certificates")
struct CertificatesTests {
    @Test func aCAAndAServerCertificateValidFrom2000() throws {
        let ca = try Certificates.makeCA(commonName: "imprint CA", days: 30)
        let server = try Certificates.makeServer(ca: ca, names: ["localhost"], addresses: ["127.0.0.1", "::1"], days: 10)
        let caSummary = try Certificates.summary(ca.certificatePEM)
        let serverSummary = try Certificates.summary(server.certificatePEM)
        #expect(caSummary.isCA && !serverSummary.isCA)
        #expect(caSummary.notBefore == Certificates.notBeforeEpoch && serverSummary.notBefore == Certificates.notBeforeEpoch)
        #expect(serverSummary.notAfter - caSummary.notAfter <= -20 * 86_400 + 5, "10 days against 30")
        #expect(serverSummary.subject == "/O=imprint/CN=localhost" && caSummary.subject == "/O=imprint/CN=imprint CA")
        #expect(try Certificates.keyMatches(keyPEM: server.keyPEM, certificatePEM: server.certificatePEM))
        #expect(try !Certificates.keyMatches(keyPEM: ca.keyPEM, certificatePEM: server.certificatePEM))
        // Two runs, two keys.
        let other = try Certificates.makeCA(commonName: "imprint CA", days: 30)
        #expect(other.keyPEM != ca.keyPEM && other.certificatePEM != ca.certificatePEM)
    }

    @Test func namesAndAddressesAreChecked() throws {
        let ca = try Certificates.makeCA(commonName: "imprint CA", days: 30)
        for name in ["bad_name", "-lead.example", "a..b", "", "ünïcode.lab", String(repeating: "a", count: 64) + ".lab"] {
            #expect(throws: StoreError.self, "\(name)") { try Certificates.makeServer(ca: ca, names: [name], addresses: [], days: 1) }
        }
        for name in ["localhost", "imprint.lab", "*.lab.example", "host-01"] {
            #expect(Certificates.isHostName(name), "\(name)")
        }
        for address in ["10.0.2.300", "10.0.2", "fe80::1%eth0", "localhost"] {
            #expect(throws: StoreError.self, "\(address)") { try Certificates.makeServer(ca: ca, names: [], addresses: [address], days: 1) }
        }
        #expect(throws: StoreError.self) { try Certificates.makeServer(ca: ca, names: [], addresses: [], days: 1) }
        #expect(throws: StoreError.self) { try Certificates.makeCA(commonName: "imprint CA", days: 0) }
        #expect(throws: StoreError.self) { try Certificates.summary("not a certificate") }
    }
}
