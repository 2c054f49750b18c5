import Testing
@testable import ImprintAgent

@Suite("Kernel command line")
struct KernelCommandLineTests {
    @Test("imprint.* parameters", arguments: [
        ("BOOT_IMAGE=/vmlinuz console=tty0 console=ttyS0 quiet\n",
         KernelCommandLine()),
        ("console=ttyS0 imprint.mode=probe imprint.server=http://10.0.2.2:8080 imprint.after=reboot\n",
         KernelCommandLine(mode: .probe, server: "http://10.0.2.2:8080", after: .reboot)),
        // The last of a repeated parameter wins, as in the kernel.
        ("imprint.after=reboot imprint.after=kexec imprint.mode=deploy",
         KernelCommandLine(mode: .deploy, after: .kexec)),
        // Quotes group a value and are removed; a URL may hold '='.
        ("imprint.server=\"http://store/a b?x=1\" panic=-1",
         KernelCommandLine(server: "http://store/a b?x=1")),
        ("imprint.mode=deploy -- imprint.after=poweroff",
         KernelCommandLine(mode: .deploy, after: .poweroff)),
        ("imprint.mode=probe\timprint.after=poweroff",
         KernelCommandLine(mode: .probe, after: .poweroff)),
        ("", KernelCommandLine()),
    ])
    func parses(text: String, expected: KernelCommandLine) {
        #expect(KernelCommandLine.parse(text) == expected)
    }

    @Test("what is not understood is reported, not fatal")
    func problems() {
        let line = KernelCommandLine.parse("imprint.mode=deplo imprint.after= imprint.server= imprint.sever=x imprint.after=reboot")
        #expect(line.mode == nil)
        #expect(line.after == .reboot)
        #expect(line.server == nil)
        #expect(line.problems == [
            "imprint.mode=deplo not understood (known: imprint.mode=probe|deploy)",
            "imprint.after= not understood (known: imprint.after=poweroff|reboot|kexec)",
            "imprint.server= has no URL",
            "unknown parameter imprint.sever",
        ])
    }

    @Test("splitting follows the kernel's quoting", arguments: [
        ("a b  c\n", ["a", "b", "c"]),
        ("x=\"1 2\" y", ["x=1 2", "y"]),
        ("\"\" z", ["", "z"]),
        ("   ", []),
    ])
    func splits(text: String, expected: [String]) {
        #expect(kernelParameters(text) == expected)
    }
}
