import Testing

@testable import ImprintCore

@Suite("TFTP path policy")
struct TFTPPathTests {
    static let served: [(String, [String])] = [
        ("boot/qemu-virtio/vmlinuz", ["boot", "qemu-virtio", "vmlinuz"]),
        ("/boot/ipxe/undionly.kpxe", ["boot", "ipxe", "undionly.kpxe"]),
        ("devices/default.ipxe", ["devices", "default.ipxe"]),
        ("devices/52-54-00-12-34-56/boot.ipxe", ["devices", "52-54-00-12-34-56", "boot.ipxe"]),
        ("devices/52-54-00-12-34-56/identity.cpio", ["devices", "52-54-00-12-34-56", "identity.cpio"]),
    ]

    @Test(arguments: served.map(\.0))
    func servedNames(name: String) throws {
        let expected = try #require(Self.served.first { $0.0 == name }?.1)
        #expect(try TFTPPath.resolve(Array(name.utf8)) == expected)
    }

    /// tftpd-hpa's refusals and more: each is refused with an access violation.
    static let refused: [String] = [
        "../etc/passwd", "/etc/passwd", "boot/../../x", "boot/../devices/52-54-00-12-34-56/assignment.json",
        "..\\..\\etc\\passwd", "boot\\..\\x", "%2e%2e/%2e%2e/etc/passwd", "boot/%2e%2e/x/../y",
        "/work/store/boot/x", "boot/./x", "boot//x", "boot/.hidden", "boot", "/",
        "secrets/tokens", "incoming/capture/disk.img", "reports/52-54-00-12-34-56/status.json",
        "devices/52-54-00-12-34-56/assignment.json", "devices/52:54:00:12:34:56/boot.ipxe",
        "devices/52-54-00-12-34-5G/boot.ipxe", "devices/52-54-00-12-34-56/other", "images/x.json", "blobs/sha256/ab",
        "keys/manifest.pub", "boot/x\u{7F}", "boot/\u{E9}",
    ]

    @Test(arguments: refused)
    func refusedNames(name: String) {
        #expect(throws: TFTPRefusal(.accessViolation, ""), "\(name)") { try TFTPPath.resolveCode(Array(name.utf8)) }
    }

    @Test func controlBytesLongNamesAndEmptyAreRefused() {
        #expect(throws: TFTPRefusal(.accessViolation, "")) { try TFTPPath.resolveCode(Array("boot/a".utf8) + [0] + Array("b".utf8)) }
        #expect(throws: TFTPRefusal(.accessViolation, "")) { try TFTPPath.resolveCode(Array("boot/".utf8) + [UInt8](repeating: 0x61, count: 251)) }
        #expect(throws: TFTPRefusal(.fileNotFound, "")) { try TFTPPath.resolveCode([]) }
        // Exactly 255 bytes is still a name.
        #expect((try? TFTPPath.resolve(Array("boot/".utf8) + [UInt8](repeating: 0x61, count: 250))) != nil)
    }

    @Test func everyRefusalSaysWhy() throws {
        do {
            _ = try TFTPPath.resolve(Array("../x".utf8))
            Issue.record("not refused")
        } catch {
            #expect(error.message.contains(".."))
        }
    }
}

extension TFTPPath {
    /// `resolve` with the message blanked, so tests can compare codes alone.
    static func resolveCode(_ name: [UInt8]) throws(TFTPRefusal) {
        do { _ = try resolve(name) } catch { throw TFTPRefusal(error.code, "") }
    }
}
