import Testing

@testable import ImprintCore

@Suite("Store manifests")
struct StoreManifestTests {
    static let blob = String(repeating: "ab", count: 32)
    static let plain = String(repeating: "cd", count: 32)

    @Test func imageDescriptorTextIsStable() throws {
        let descriptor = ImageDescriptor(
            name: "debian-12", blob: Self.blob, uncompressedSha256: Self.plain, format: .raw, compression: .zstd,
            size: 1234, uncompressedSize: 200_000,
            blockMap: BlockMap(blockSize: 65536, size: 200_000, ranges: [.init(offset: 0, length: 65536), .init(offset: 131072, length: 68928)]))
        let expected = """
            {
              "version": 1,
              "name": "debian-12",
              "blob": "\(Self.blob)",
              "uncompressedSha256": "\(Self.plain)",
              "format": "raw",
              "compression": "zstd",
              "size": 1234,
              "uncompressedSize": 200000,
              "blockMap": {
                "blockSize": 65536,
                "ranges": [
                  [0,65536],
                  [131072,68928]
                ]
              }
            }

            """
        #expect(descriptor.serialized == expected)
        #expect(try ImageDescriptor.parse(descriptor.serialized) == descriptor)
    }

    @Test func tarDescriptorHasNoBlockMapAndEmptyMapsRoundTrip() throws {
        let tar = ImageDescriptor(name: "t", blob: Self.blob, uncompressedSha256: Self.plain, format: .tar, compression: .none, size: 10, uncompressedSize: 10)
        #expect(!tar.serialized.contains("blockMap"))
        #expect(try ImageDescriptor.parse(tar.serialized) == tar)
        var empty = tar
        empty.format = .raw
        empty.blockMap = BlockMap(blockSize: 65536, size: 10, ranges: [])
        #expect(empty.serialized.contains("\"ranges\": []"))
        #expect(try ImageDescriptor.parse(empty.serialized) == empty)
    }

    @Test(arguments: [
        (#"{"version": 2, "name": "x"}"#, "schema version 2 not understood"),
        (#"{"name": "x"}"#, "no schema \"version\""),
        (#"[1]"#, "not a JSON object"),
        (#"{"version": 1, "name": "x", "blob": "zz", "uncompressedSha256": "zz"}"#, "\"blob\" is not a SHA-256"),
        ("{", "not valid JSON"),
    ])
    func badDescriptorsSayWhy(text: String, words: String) {
        let error = #expect(throws: StoreManifestError.self) { try ImageDescriptor.parse(text) }
        #expect(error?.description.contains(words) == true, "\(String(describing: error))")
    }

    @Test(arguments: ["debian-12", "a", "Win_11.v2", String(repeating: "x", count: 128)])
    func goodImageNames(name: String) { #expect(ImageDescriptor.problem(withName: name) == nil) }

    @Test(arguments: ["", ".hidden", "-flag", "a/b", "../x", "a b", "é", String(repeating: "x", count: 129)])
    func badImageNames(name: String) { #expect(ImageDescriptor.problem(withName: name) != nil) }

    @Test func identityTextAndCpio() throws {
        let mac = try MACAddress(parsing: "52-54-00-12-34-56")
        let identity = DeviceIdentity(mac: mac, hostname: "host01", servers: ["http://10.0.2.2:8080", "http://mirror:8080"], token: "00ff")
        let expected = """
            {
              "version": 1,
              "mac": "52:54:00:12:34:56",
              "hostname": "host01",
              "servers": [
                "http://10.0.2.2:8080",
                "http://mirror:8080"
              ],
              "token": "00ff"
            }

            """
        #expect(identity.serialized == expected)
        #expect(try DeviceIdentity.parse(identity.serialized) == identity)

        let bytes = identity.cpio
        #expect(bytes.count % 4 == 0)
        #expect(bytes == identity.cpio, "the same identity gives the same bytes")
        let entries = try Cpio.read(bytes)
        #expect(entries.map(\.name) == ["etc", "etc/imprint", "etc/imprint/identity.json"])
        #expect(entries[0].mode == 0o040755)
        #expect(entries[1].mode == 0o040755)
        #expect(entries[2].mode == 0o100600)
        #expect(entries.allSatisfy { $0.mtime == 0 && $0.uid == 0 && $0.gid == 0 })
        #expect(String(decoding: entries[2].data, as: UTF8.self) == expected)
    }

    @Test func assignmentTextIsStable() throws {
        let mac = try MACAddress(parsing: "52:54:00:12:34:56")
        let assignment = DeviceAssignment(
            mac: mac, profile: "qemu-virtio", imageName: "debian-12", imageSha256: Self.blob, hostname: "host01",
            files: [.init(path: "/etc/motd", mode: 0o644, content: Array("hello\n".utf8))])
        let expected = """
            {
              "version": 1,
              "mac": "52:54:00:12:34:56",
              "profile": "qemu-virtio",
              "mode": "deploy",
              "image": {
                "name": "debian-12",
                "sha256": "\(Self.blob)"
              },
              "disk": {
                "rule": "largest-non-removable"
              },
              "hostname": "host01",
              "files": [
                {
                  "path": "/etc/motd",
                  "mode": "0644",
                  "content": "aGVsbG8K"
                }
              ],
              "after": "reboot"
            }

            """
        #expect(assignment.serialized == expected)
        let back = try DeviceAssignment.parse(assignment.serialized)
        #expect(back.mac == mac && back.profile == "qemu-virtio" && back.imageName == "debian-12" && back.hostname == "host01")
        #expect(back.imageSha256 == Self.blob && back.after == .reboot && back.mode == .deploy)
    }

    @Test(arguments: [
        ([UInt8](), ""), (Array("f".utf8), "Zg=="), (Array("fo".utf8), "Zm8="), (Array("foo".utf8), "Zm9v"),
        (Array("foobar".utf8), "Zm9vYmFy"), ([0xFF, 0xFE, 0x00], "//4A"),
    ])
    func base64MatchesRFC4648(bytes: [UInt8], expected: String) {
        #expect(Base64.encode(bytes) == expected)
    }

    @Test func statusReportParses() throws {
        let text = """
            {"version": 1, "mac": "52:54:00:12:34:56", "phase": "streaming", "bytesWritten": 1048576,
             "bytesTotal": 4194304, "rate": 1.5e8, "timings": {"network": 2.5, "assignment": 0.1},
             "updated": "2026-11-21T23:28:50Z"}
            """
        let report = try StatusReport.parse(text)
        #expect(report.phase == .streaming)
        #expect(report.bytesWritten == 1_048_576 && report.bytesTotal == 4_194_304)
        #expect(report.rate == 1.5e8)
        #expect(report.timings.map(\.name) == ["network", "assignment"])
        #expect(report.updatedEpochSeconds == 1_795_303_730)
        #expect(try StatusReport.parse(report.json.serialized()) == report)
    }

    @Test(arguments: [
        (#"{"version": 1, "mac": "52:54:00:12:34:56", "phase": "sleeping"}"#, "unknown value \"sleeping\""),
        (#"{"version": 1, "mac": "nope", "phase": "done"}"#, "not a MAC address"),
        (#"{"version": 3, "mac": "52:54:00:12:34:56", "phase": "done"}"#, "schema version 3"),
        (#"{"version": 1, "mac": "52:54:00:12:34:56", "phase": "done", "bytesWritten": "lots"}"#, "\"bytesWritten\" is not an integer"),
    ])
    func badStatusReportsSayWhy(text: String, words: String) {
        let error = #expect(throws: StoreManifestError.self) { try StatusReport.parse(text) }
        #expect(error?.description.contains(words) == true, "\(String(describing: error))")
    }

    @Test(arguments: [
        ("1970-01-01T00:00:00Z", 0.0), ("2000-03-01T00:00:00Z", 951_868_800.0), ("2026-11-21T23:28:50Z", 1_795_303_730.0),
        ("2024-02-29T12:00:00.5Z", 1_709_208_000.5), ("1969-12-31T23:59:59Z", -1.0),
        // A fraction longer than a machine word (found by the manifest fuzz corpus): nanoseconds count.
        ("2026-12-31T00:00:00.250000000999999999999999999Z", 1_798_675_200.25),
    ])
    func utcTimes(text: String, seconds: Double) {
        #expect(UTCTime.parse(text) == seconds)
        if seconds == seconds.rounded() { #expect(UTCTime.format(epochSeconds: Int(seconds)) == text) }
    }

    @Test(arguments: ["", "2026-11-21 23:28:50Z", "2026-11-21T23:28:50", "2026-13-01T00:00:00Z", "2026-11-21T23:28:50+01:00", "2026-11-21T23:28:50.Z",
                           "2026-11-21T23:28:50.1234567890123456789x1Z"])
    func notUTCTimes(text: String) { #expect(UTCTime.parse(text) == nil) }

    @Test(arguments: ["host01", "web-1.example.com", "a", "1host"])
    func goodHostnames(name: String) { #expect(Hostname.problem(with: name) == nil) }

    @Test(arguments: ["", "-a", "a-", "a..b", "a_b", "host name", "é", String(repeating: "a", count: 64)])
    func badHostnames(name: String) { #expect(Hostname.problem(with: name) != nil) }
}

@Suite("Assignment files, seed and partition; base64")
struct AssignmentCustomizationTests {
    @Test("files, cloudInit and partition survive a round trip")
    func roundTrip() throws {
        var assignment = DeviceAssignment(mac: try MACAddress(parsing: "52:54:00:12:34:56"), profile: "p", imageName: "g",
                                          imageSha256: String(repeating: "a", count: 64), hostname: "h",
                                          files: [.init(path: "/etc/motd", mode: 0o640, content: [0, 1, 2, 250, 255])], after: .kexec)
        assignment.cloudInit = .init(metaData: nil, userData: "#cloud-config\n")
        assignment.partition = 2
        let parsed = try DeviceAssignment.parse(assignment.serialized)
        #expect(parsed == assignment)
    }

    @Test("hostile or malformed entries are refused")
    func refusals() {
        let base = #"{"version":1,"mac":"52:54:00:12:34:56","profile":"p","mode":"deploy","image":{"name":"g","sha256":"x"},"after":"reboot","#
        #expect(throws: StoreManifestError.self) { try DeviceAssignment.parse(base + #""files":[{"path":"etc/x","content":""}]}"#) }
        #expect(throws: StoreManifestError.self) { try DeviceAssignment.parse(base + #""files":[{"path":"/etc/../x","content":""}]}"#) }
        #expect(throws: StoreManifestError.self) { try DeviceAssignment.parse(base + #""files":[{"path":"/x","content":"!!"}]}"#) }
        #expect(throws: StoreManifestError.self) { try DeviceAssignment.parse(base + #""files":[{"path":"/x","mode":"0999","content":""}]}"#) }
        #expect(throws: StoreManifestError.self) { try DeviceAssignment.parse(base + #""partition":0}"#) }
        #expect(throws: StoreManifestError.self) { try DeviceAssignment.parse(base + #""disk":{"rule":"smallest"}}"#) }
    }

    @Test("base64 decodes what it encodes, padded or not; rejects junk")
    func base64() {
        for length in 0..<20 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 * 37 + 11) }
            let text = Base64.encode(bytes)
            #expect(Base64.decode(text) == bytes)
            #expect(Base64.decode(String(text.filter { $0 != "=" })) == bytes)
        }
        #expect(Base64.decode("aGVsbG8=") == Array("hello".utf8))
        #expect(Base64.decode("a") == nil)
        #expect(Base64.decode("a=b=") == nil)
        #expect(Base64.decode("aGV*") == nil)
    }
}
