import ImprintAgent
import ImprintCore
import ImprintDigest
import Testing

/// Ed25519 through OpenSSL against RFC 8032's test vectors, and the agent's manifest checks:
/// the signature file, the binding (MAC, DMI UUID, serial) and the expiry.
@Suite struct ManifestTrustLogicTests {
    static func bytes(_ hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            out.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return out
    }

    // RFC 8032 section 7.1, TEST 1 (empty message) and TEST 2 (one byte, 0x72).
    static let seed1 = bytes("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
    static let public1 = bytes("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    static let signature1 = bytes("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b")
    static let seed2 = bytes("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
    static let public2 = bytes("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c")
    static let signature2 = bytes("92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00")

    @Test func rfc8032Vectors() {
        #expect(Ed25519.publicKey(seed: Self.seed1) == Self.public1)
        #expect(Ed25519.sign([], seed: Self.seed1) == Self.signature1)
        #expect(Ed25519.verify(Self.signature1, of: [], publicKey: Self.public1))
        #expect(Ed25519.publicKey(seed: Self.seed2) == Self.public2)
        #expect(Ed25519.sign([0x72], seed: Self.seed2) == Self.signature2)
        #expect(Ed25519.verify(Self.signature2, of: [0x72], publicKey: Self.public2))
        // Another message, another key, a flipped bit, a short signature: all false.
        #expect(!Ed25519.verify(Self.signature2, of: [0x73], publicKey: Self.public2))
        #expect(!Ed25519.verify(Self.signature2, of: [0x72], publicKey: Self.public1))
        var flipped = Self.signature1
        flipped[10] ^= 1
        #expect(!Ed25519.verify(flipped, of: [], publicKey: Self.public1))
        #expect(!Ed25519.verify(Array(Self.signature1.prefix(63)), of: [], publicKey: Self.public1))
        #expect(Ed25519.publicKey(seed: [1, 2, 3]) == nil)
    }

    @Test func signatureFiles() {
        let manifest = Array("{\"version\": 1}\n".utf8)
        let signature = Ed25519.sign(manifest, seed: Self.seed1)!
        let file = Array((Base64.encode(signature) + "\n").utf8)
        #expect(ManifestTrust.problem(manifest, signatureFile: file, key: Self.public1, name: "a.json") == nil)
        #expect(ManifestTrust.problem(manifest + [0x20], signatureFile: file, key: Self.public1, name: "a.json")?.contains("a.json does not match its signature a.json.sig") == true)
        #expect(ManifestTrust.problem(manifest, signatureFile: file, key: Self.public2, name: "a.json")?.contains("does not match") == true)
        #expect(ManifestTrust.problem(manifest, signatureFile: Array("hello\n".utf8), key: Self.public1, name: "a.json") == "a.json.sig is not a base64 Ed25519 signature (64 bytes)")
        #expect(ManifestTrust.problem(manifest, signatureFile: [], key: Self.public1, name: "a.json")?.contains("not a base64") == true)
        #expect(ManifestTrust.decodeKey(" " + Base64.encode(Self.public1) + "\n") == Self.public1)
        #expect(ManifestTrust.decodeKey(Base64.encode([1, 2, 3])) == nil)
        #expect(ManifestTrust.decodeKey("not base64!") == nil)
    }

    @Test func binding() throws {
        let mac = try MACAddress(parsing: "52:54:00:12:34:56")
        var assignment = DeviceAssignment(mac: mac, profile: "p", imageName: "i", imageSha256: String(repeating: "a", count: 64))
        let dmi = DMIInfo(productSerial: "SN1", productUUID: "0A1B2C3D-0000-0000-0000-000000000001")
        let now = Int(UTCTime.parse("2026-11-22T12:00:00Z")!)
        #expect(ManifestTrust.bindingProblem(assignment, mac: mac, dmi: dmi, now: now) == nil)
        #expect(ManifestTrust.bindingProblem(assignment, mac: try MACAddress(parsing: "52:54:00:12:34:57"), dmi: dmi, now: now)
            == "the assignment is bound to 52:54:00:12:34:56, and this machine is 52:54:00:12:34:57")
        assignment.dmiUuid = "0a1b2c3d-0000-0000-0000-000000000001"
        #expect(ManifestTrust.bindingProblem(assignment, mac: mac, dmi: dmi, now: now) == nil, "UUIDs compare without case")
        #expect(ManifestTrust.bindingProblem(assignment, mac: mac, dmi: DMIInfo(), now: now)?.contains("cannot be read") == true)
        assignment.dmiUuid = nil
        assignment.serial = "SN2"
        #expect(ManifestTrust.bindingProblem(assignment, mac: mac, dmi: dmi, now: now) == "the assignment is bound to serial SN2, and this machine's is SN1")
        assignment.serial = nil
        assignment.expires = "2026-11-22T12:00:01Z"
        #expect(ManifestTrust.bindingProblem(assignment, mac: mac, dmi: dmi, now: now) == nil)
        assignment.expires = "2026-11-22T12:00:00Z"
        #expect(ManifestTrust.bindingProblem(assignment, mac: mac, dmi: dmi, now: now)
            == "the assignment expired at 2026-11-22T12:00:00Z (this machine's clock says 2026-11-22T12:00:00Z)")
    }
}

@Suite("HTTP Date and expiry")
struct HTTPDateTests {
    @Test(arguments: [
        ("Sun, 06 Nov 1994 08:49:37 GMT", 784_111_777), ("Thu, 01 Jan 1970 00:00:00 GMT", 0),
        ("Mon, 07 Dec 2026 01:45:00 GMT", 1_796_607_900),
    ])
    func imfFixdates(text: String, seconds: Int) {
        #expect(HTTPDate.parse(text) == seconds)
        #expect(HTTPDate.format(epochSeconds: seconds) == text)
    }

    @Test(arguments: ["", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994", "Sun, 06 Nov 1994 08:49:37 UTC",
                      "Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 06 Now 1994 08:49:37 GMT", "Sun, 06 Nov 1994 24:49:37 GMT", "Xyz, 06 Nov 1994 08:49:37 GMT"])
    func notIMFFixdates(text: String) { #expect(HTTPDate.parse(text) == nil) }

    @Test func headerLines() {
        #expect(HTTPDate.headerValue("Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n") == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDate.headerValue("date:Sun, 06 Nov 1994 08:49:37 GMT") == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDate.headerValue("Dated: x") == nil && HTTPDate.headerValue("Content-Length: 5\r\n") == nil)
    }

    @Test func expiryTakesTheLaterOfTheClockAndThePinnedServersDate() throws {
        let mac = try MACAddress(parsing: "52:54:00:12:34:56")
        var assignment = DeviceAssignment(mac: mac, profile: "p", imageName: "d", imageSha256: String(repeating: "0", count: 64))
        assignment.expires = "2026-12-31T00:00:00Z"
        let before = 1_798_675_200 - 3600, after = 1_798_675_200 + 3600
        #expect(ManifestTrust.bindingProblem(assignment, mac: mac, dmi: DMIInfo(), now: before) == nil)
        #expect(ManifestTrust.bindingProblem(assignment, mac: mac, dmi: DMIInfo(), now: before, serverDate: before - 99_999) == nil)
        // A clock years behind: the pinned server's Date says it has expired.
        let problem = ManifestTrust.bindingProblem(assignment, mac: mac, dmi: DMIInfo(), now: 946_684_800, serverDate: after)
        #expect(problem == "the assignment expired at 2026-12-31T00:00:00Z (the pinned HTTPS server's Date says 2026-12-31T01:00:00Z; this machine's clock says 2000-01-01T00:00:00Z)")
        #expect(ManifestTrust.bindingProblem(assignment, mac: mac, dmi: DMIInfo(), now: after, serverDate: before)?.contains("(this machine's clock says 2026-12-31T01:00:00Z)") == true)
    }
}
