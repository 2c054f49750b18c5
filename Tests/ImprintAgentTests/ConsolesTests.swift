import Testing
@testable import ImprintAgent

@Suite("/proc/consoles")
struct ConsolesTests {
    @Test("first column and the preferred flag")
    func parses() {
        // console=tty0 console=ttyS0: ttyS0 is /dev/console (flag C).
        let text = """
            ttyS0                -W- (EC p a)    4:64
            tty0                 -WU (E  p  )    4:1

            """
        #expect(parseConsoles(text) == [
            ConsoleEntry(name: "ttyS0", isPreferred: true),
            ConsoleEntry(name: "tty0", isPreferred: false),
        ])
        #expect(parseConsoles(text).map(\.devicePath) == ["/dev/ttyS0", "/dev/tty0"])
    }

    @Test("duplicates, blank lines and path-like names are dropped")
    func dropsOddLines() {
        let text = "\n  \nttyS0 -W- (E p a) 4:64\nttyS0 -W- (E p a) 4:64\n../x -W- (EC) 1:1\nnetcon0 -W- (E) \n"
        #expect(parseConsoles(text) == [
            ConsoleEntry(name: "ttyS0", isPreferred: false),
            ConsoleEntry(name: "netcon0", isPreferred: false),
        ])
    }
}
