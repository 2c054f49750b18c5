import ImprintCore
import Testing
@testable import ImprintAgent

@Suite("The offline arrangement of PID 1's steps")
struct OfflineArrangementTests {
    @Test("the network step is still timed when the offline arrangement wraps it (the report's timings.network)")
    func theWrappedNetworkStepIsTimed() throws {
        let root = ReportLogicTests.machine()
        root.write("proc/cmdline", "console=ttyS0 imprint.mode=probe\n")
        let context = makeContext(root)
        try ReadCommandLine().run(context)
        let steps = OfflineSteps.arranged([ConfigureNetwork()])
        #expect(steps.contains { $0 is OpenOfflineStore })
        #expect(!steps.contains { $0 is ConfigureNetwork }, "wrapped, so `is ConfigureNetwork` alone no longer finds it")
        try Agent(steps: steps).run(context)
        #expect(context.networkMilliseconds == 0)
    }
}
