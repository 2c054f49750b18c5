import Testing
@testable import ImprintAgent

@Suite("Manifests")
struct ManifestTests {
    @Test("profile.json")
    func profile() throws {
        let text = #"{"version":1,"profile":"qemu-virtio","kernel":"6.1.0-56-amd64","server":"http://10.0.2.2:8080","built":"0.1.0"}"#
        #expect(try Profile.parse(text) == Profile(profile: "qemu-virtio", kernel: "6.1.0-56-amd64",
                                                    server: "http://10.0.2.2:8080", built: "0.1.0"))
    }

    @Test("identity.json, MAC normalised")
    func identity() throws {
        let text = #"{"version":1,"mac":"52-54-00-12-34-AB","hostname":"lab-01","servers":["http://a","http://b"],"token":"t"}"#
        #expect(try Identity.parse(text) == Identity(mac: "52:54:00:12:34:ab", hostname: "lab-01",
                                                      servers: ["http://a", "http://b"], token: "t"))
    }

    @Test("refusals name the problem", arguments: [
        (#"{"version":2,"mac":"52:54:00:12:34:56"}"#, "schema version 2 not understood (this agent reads version 1)"),
        (#"{"mac":"52:54:00:12:34:56"}"#, "no schema \"version\""),
        (#"{"version":1}"#, "no \"mac\""),
        (#"{"version":1,"mac":"52:54:00:12:34"}"#, "\"mac\" 52:54:00:12:34 is not a MAC address"),
        (#"{"version":1,"mac":"52:54:00:12:34:56","servers":"http://a"}"#, "\"servers\" is not a list"),
        (#"[1]"#, "not a JSON object"),
    ])
    func refuses(text: String, reason: String) {
        #expect(throws: ManifestError(reason)) { try Identity.parse(text) }
    }

    @Test("MAC addresses", arguments: [
        ("52:54:00:12:34:56", "52:54:00:12:34:56"),
        ("52-54-00-AB-cd-EF", "52:54:00:ab:cd:ef"),
        ("52:54:00:12:34", nil),
        ("52:54:00:12:34:5g", nil),
        ("5254.0012.3456", nil),
        ("52:54:00:12:34:567", nil),
        ("５2:54:00:12:34:56", nil),
    ] as [(String, String?)])
    func macs(text: String, expected: String?) {
        #expect(normalizedMAC(text) == expected)
    }

    @Test("kernel release from the best evidence")
    func release() {
        #expect(resolveKernelRelease(osrelease: "6.1.0-57-amd64", profileKernel: "6.1.0-56-amd64", moduleDirectories: [], uname: "x") == "6.1.0-57-amd64")
        #expect(resolveKernelRelease(osrelease: nil, profileKernel: "6.1.0-56-amd64", moduleDirectories: ["a"], uname: "x") == "6.1.0-56-amd64")
        #expect(resolveKernelRelease(osrelease: "", profileKernel: nil, moduleDirectories: ["6.1.0-55-amd64"], uname: "x") == "6.1.0-55-amd64")
        #expect(resolveKernelRelease(osrelease: nil, profileKernel: nil, moduleDirectories: ["a", "b"], uname: "6.12") == "6.12")
        #expect(resolveKernelRelease(osrelease: nil, profileKernel: nil, moduleDirectories: [], uname: nil) == nil)
    }
}
