import Testing

@testable import ImprintCore

/// iPXE scripts compared whole against `Fixtures/ipxe/`.
@Suite("IPXEScript")
struct IPXEScriptTests {
    static let profile = IPXEScript.Profile(name: "qemu-virtio", cmdline: "console=tty0 console=ttyS0")

    @Test func deviceScriptMatchesGolden() throws {
        let mac = try MACAddress(parsing: "52:54:00:12:34:56")
        #expect(IPXEScript.device(mac: mac, hostname: "host01", profile: Self.profile) == (try Fixtures.text("ipxe/device.ipxe")))
        #expect(IPXEScript.device(mac: mac, hostname: nil, profile: Self.profile) == (try Fixtures.text("ipxe/device-no-hostname.ipxe")))
    }

    @Test func discoveryScriptMatchesGolden() throws {
        #expect(IPXEScript.discovery(profile: Self.profile) == (try Fixtures.text("ipxe/default.ipxe")))
    }

    @Test func uefiNamesEachInitrdItLoads() throws {
        let script = IPXEScript.device(mac: try MACAddress(parsing: "52:54:00:12:34:56"), hostname: nil, profile: Self.profile)
        let lines = script.split(separator: "\n")
        let kernel = try #require(lines.first { $0.hasPrefix("kernel ") })
        for initrd in lines where initrd.hasPrefix("initrd ") {
            let name = initrd.dropFirst("initrd ".count).split(separator: "/").last.map(String.init) ?? ""
            #expect(kernel.contains("initrd=\(name)"), "\(kernel) misses \(name)")
        }
        #expect(!script.contains("://"), "paths stay relative to the script's URL")
    }

    @Test func emptyCmdlineAddsNoTrailingSpace() throws {
        let script = IPXEScript.discovery(profile: .init(name: "p", cmdline: ""))
        #expect(script.contains("kernel ../boot/p/vmlinuz initrd=initrd.img\n"))
    }

    @Test(arguments: [("a\nb", "line break"), ("a\rb", "line break"), ("x=${net0/mac}", "${")])
    func cmdlinesIPXECannotTake(cmdline: String, words: String) {
        #expect(IPXEScript.problem(withCmdline: cmdline)?.contains(words) == true)
    }
}
