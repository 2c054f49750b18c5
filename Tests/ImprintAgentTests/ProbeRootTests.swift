import Glibc
import Testing
@testable import ImprintAgent

@Suite("Host mode --probe-root")
struct ProbeRootTests {
    @Test("plans the coldplug and prints the banner, loading nothing")
    func probe() {
        let root = AgentTests.bootedRoot()
        root.write("etc/imprint/identity.json", #"{"version":1,"mac":"52:54:00:12:34:56","hostname":"lab-01"}"#)
        let out = MemorySink()
        let err = MemorySink()
        #expect(AgentMain.runHost(["--probe-root", root.path], output: out, errors: err) == 0)
        #expect(err.lines.isEmpty)
        let libs = LibraryVersions.linked()
        #expect(out.lines == [
            "imprint: cmdline mode probe server - after reboot",
            "imprint: would load virtio (for \(VirtioModules.nicModalias))",
            "imprint: would load virtio_pci_legacy_dev (for \(VirtioModules.nicModalias))",
            "imprint: would load virtio_pci_modern_dev (for \(VirtioModules.nicModalias))",
            "imprint: would load virtio_ring (for \(VirtioModules.nicModalias))",
            "imprint: would load virtio_pci (for \(VirtioModules.nicModalias))",
            out.lines.count > 6 ? out.lines[6] : "missing",
            "imprint: imprint-agent \(agentVersion) kernel 6.1.0-56-amd64 profile qemu-virtio",
            "imprint: libs curl \(libs.curl) openssl \(libs.openssl) libarchive \(libs.libarchive)",
            "imprint: disk vda size 67108864 (64.0 MiB)",
            "imprint: identity mac 52:54:00:12:34:56 hostname lab-01",
        ])
        #expect(out.lines.count > 6 && out.lines[6].hasPrefix("imprint: coldplug would load 5 modules in 2 passes ("))
    }

    @Test("without /proc, the release comes from profile.json")
    func releaseFromProfile() {
        let root = AgentTests.bootedRoot()
        unlink(root.path + "/proc/sys/kernel/osrelease")
        let out = MemorySink()
        #expect(AgentMain.runHost(["--probe-root=" + root.path], output: out, errors: MemorySink()) == 0)
        #expect(out.lines.contains("imprint: imprint-agent \(agentVersion) kernel 6.1.0-56-amd64 profile qemu-virtio"))
    }

    @Test("an error exits 1 with the reason on stderr")
    func error() {
        let root = AgentTests.bootedRoot()
        root.write("lib/modules/6.1.0-56-amd64/modules.dep", "no colon here\n")
        let err = MemorySink()
        #expect(AgentMain.runHost(["--probe-root", root.path], output: MemorySink(), errors: err) == 1)
        #expect(err.lines.first?.hasPrefix("imprint: error: /lib/modules/6.1.0-56-amd64: modules.dep line 1") == true)
    }
}
