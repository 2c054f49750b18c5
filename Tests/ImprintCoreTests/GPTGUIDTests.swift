import Testing

@testable import ImprintCore

@Suite("GPT GUID")
struct GPTGUIDTests {
    @Test func parsesAndFormatsCanonicalText() throws {
        let guid = try #require(GUID("c12a7328-f81f-11d2-ba4b-00a0c93ec93b"))
        #expect(guid == GUID.efiSystem, "lower-case text parses")
        #expect(guid.description == "C12A7328-F81F-11D2-BA4B-00A0C93EC93B", "formats upper-case")
        #expect(GUID.linuxFilesystem.description == "0FC63DAF-8483-4772-8E79-3D69D8477DE4", "Linux filesystem data type")
    }

    @Test func diskBytesAreMixedEndian() throws {
        let guid = try #require(GUID("01234567-89AB-CDEF-0123-456789ABCDEF"))
        // First three groups little-endian, last two as written.
        #expect(guid.diskBytes == [0x67, 0x45, 0x23, 0x01, 0xAB, 0x89, 0xEF, 0xCD,
                                   0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF], "on-disk order")
        #expect(GUID(diskBytes: guid.diskBytes) == guid, "disk bytes round trip")
    }

    @Test(arguments: ["", "C12A7328F81F11D2BA4B00A0C93EC93B", "C12A7328-F81F-11D2-BA4B-00A0C93EC93", "G12A7328-F81F-11D2-BA4B-00A0C93EC93B",
                      "C12A7328-F81F-11D2-BA4B_00A0C93EC93B", "C12A7328-F81F-11D2-BA4B-00A0C93EC93BB"])
    func rejectsMalformedText(text: String) {
        #expect(GUID(text) == nil, "'\(text)' is not a GUID")
    }

    @Test func derivedIsVersion4AndStable() {
        let digest = [UInt8](repeating: 0xFF, count: 32)
        let guid = GUID.derived(from: digest)
        #expect(guid.description == "FFFFFFFF-FFFF-4FFF-BFFF-FFFFFFFFFFFF", "version and variant bits set")
        #expect(GUID.derived(from: digest) == guid, "same digest, same GUID")
    }
}
