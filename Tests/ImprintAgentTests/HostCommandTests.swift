import Testing
@testable import ImprintAgent

@Suite("Host command line")
struct HostCommandTests {
    @Test("arguments", arguments: [
        (["--version"], HostCommand.version),
        (["--help"], .help),
        (["--probe-root", "/tmp/root"], .probeRoot("/tmp/root")),
        (["--probe-root=/tmp/root"], .probeRoot("/tmp/root")),
        ([], .usageError("no command given")),
        (["--probe-root"], .usageError("--probe-root takes one directory")),
        (["--probe-root="], .usageError("--probe-root needs a directory")),
        (["--version", "x"], .usageError("--version takes no arguments")),
        (["--disk", "d.img"], .usageError("--disk needs --identity FILE.json")),
        (["--disk", "d.img", "--identity", "i.json"], .deploy(disk: "d.img", identity: "i.json", server: nil, maximumRate: nil)),
        (["--identity", "i.json", "--disk", "d.img", "--server", "http://s", "--max-rate", "1000"], .deploy(disk: "d.img", identity: "i.json", server: "http://s", maximumRate: 1000)),
        (["--disk", "d.img", "--identity", "i.json", "--max-rate", "0"], .usageError("--max-rate takes bytes per second, a positive integer")),
        (["--identity", "i.json"], .usageError("--identity goes with --disk FILE")),
    ])
    func parses(arguments: [String], expected: HostCommand) {
        #expect(HostCommand.parse(arguments) == expected)
    }

    @Test("--version prints the version, usage errors exit 2 on stderr")
    func exitStatus() {
        let out = MemorySink()
        let err = MemorySink()
        #expect(AgentMain.runHost(["--version"], output: out, errors: err) == 0)
        #expect(out.lines == ["imprint-agent \(agentVersion)"])
        #expect(err.lines.isEmpty)

        #expect(AgentMain.runHost(["--frobnicate"], output: out, errors: err) == 2)
        #expect(err.lines.first?.hasPrefix("imprint-agent: unknown argument --frobnicate\nusage: imprint-agent --version") == true)
        #expect(out.lines.count == 1)

        #expect(AgentMain.runHost(["--probe-root", "/nonexistent/imprint"], output: out, errors: err) == 2)
    }
}
