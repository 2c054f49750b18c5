import Testing
@testable import ImprintAgent

@Suite("Waiting for devices to settle")
struct SettleTests {
    @Test("quiet from the start: returns after the quiet time")
    func quiet() {
        let clock = FakeClock()
        #expect(waitUntilSettled(SettlePolicy(), clock: clock) { 1 })
        #expect(clock.sleeps == [50, 50, 50, 50, 50])
    }

    @Test("a change restarts the quiet time")
    func change() {
        let clock = FakeClock()
        let start = clock.now
        // Devices appear at +100 ms and +200 ms, then stay.
        let settled = waitUntilSettled(SettlePolicy(), clock: clock) { () -> Int in
            clock.now - start < 100 ? 0 : (clock.now - start < 200 ? 1 : 2)
        }
        #expect(settled)
        #expect(clock.now - start == 450)
    }

    @Test("endless change gives up at the limit")
    func limit() {
        let clock = FakeClock()
        let start = clock.now
        #expect(!waitUntilSettled(SettlePolicy(), clock: clock) { clock.now })
        #expect(clock.now - start == 3000)
    }
}
