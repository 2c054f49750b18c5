#if canImport(Glibc)
import Glibc
#endif
import Testing

@testable import ImprintCore

@Suite("globMatch")
struct GlobTests {
    /// A real device's modalias, read from sysfs on a QEMU/cloud x86-64 machine.
    static let virtioNetPCI = "pci:v00001AF4d00001041sv00001AF4sd00001041bc02sc00i00"
    static let virtioBlkPCI = "pci:v00001AF4d00001042sv00001AF4sd00001042bc01sc80i00"
    static let intelHostBridge = "pci:v00008086d00000D57sv00000000sd00000000bc06sc00i00"
    static let ahciController = "pci:v00008086d00002922sv00001AF4sd00001100bc01sc06i01"
    static let e1000 = "pci:v00008086d0000100Esv00001AF4sd00001100bc02sc00i00"
    /// /sys/devices/system/cpu/modalias of the same machine (has features 0094 and 0099, not 0085).
    static let cpu =
        "cpu:type:x86,ven0000fam0006mod00CF:feature:,0000,0001,0002,0003,0004,0005,0006,0007,0008,0009,000B,000C,000D,000E,000F,0010,0011,0013,0017,0018,0019,001A,001B,001C,002B,0034,003A,003B,003D,0068,006F,0070,0074,0075,0076,0078,0079,007F,0080,0081,0089,008C,008D,0091,0093,0094,0095,0096,0097,0098,0099,009A,009B,009C,009D,009E,009F,00C0,00C5,00C8,00E1,00EA,00ED,00F3,00FF,0114,0115,0120,0121,0123,0124,0125,0126,0127,0128,0129,012A,012B,012D,0130,0131,0132,0133,0134,0135,0137,0138,013C,013D,013E,013F,0140,0141,0142,0143,0144,0164,0165,016C,016E,017B,0184,0185,018A,018B,018C,01C2,0201,0202,0206,0208,0209,020A,020B,020C,020E,0216,0219,021B,021C,0244,024E,0250,0257,025D,0282,0286,0289,02AB,02AC"

    struct Case: CustomTestStringConvertible, Sendable {
        var pattern: String
        var text: String
        var matches: Bool
        var testDescription: String { "\(pattern) ~ \(text.prefix(60)) -> \(matches)" }
    }

    /// Aliases copied from Debian 6.1 modules (`modinfo -F alias`) against real modaliases.
    static let kernelAliases: [Case] = [
        // virtio_pci: every device of vendor 1AF4
        Case(pattern: "pci:v00001AF4d*sv*sd*bc*sc*i*", text: virtioNetPCI, matches: true),
        Case(pattern: "pci:v00001AF4d*sv*sd*bc*sc*i*", text: virtioBlkPCI, matches: true),
        Case(pattern: "pci:v00001AF4d*sv*sd*bc*sc*i*", text: intelHostBridge, matches: false),
        // ahci by class 01 subclass 06 interface 01, any vendor
        Case(pattern: "pci:v*d*sv*sd*bc01sc06i01*", text: ahciController, matches: true),
        Case(pattern: "pci:v*d*sv*sd*bc01sc06i01*", text: virtioBlkPCI, matches: false),
        // e1000 by exact vendor and device
        Case(pattern: "pci:v00008086d0000100Esv*sd*bc*sc*i*", text: e1000, matches: true),
        Case(pattern: "pci:v00008086d0000100Fsv*sd*bc*sc*i*", text: e1000, matches: false),
        // virtio bus: virtio_net is device 1, virtio_blk 2, virtio_scsi 8
        Case(pattern: "virtio:d00000001v*", text: "virtio:d00000001v00001AF4", matches: true),
        Case(pattern: "virtio:d00000002v*", text: "virtio:d00000001v00001AF4", matches: false),
        Case(pattern: "virtio:d00000008v*", text: "virtio:d00000008v00001AF4", matches: true),
        // SCSI: sd_mod takes type 0x00 (disk), sr_mod 0x05 (CD-ROM)
        Case(pattern: "scsi:t-0x00*", text: "scsi:t-0x00", matches: true),
        Case(pattern: "scsi:t-0x05*", text: "scsi:t-0x00", matches: false),
        Case(pattern: "scsi:t-0x05*", text: "scsi:t-0x05", matches: true),
        // CPU features: crc32c_intel wants 0094, aesni_intel 0099, kvm_intel 0085 (VMX, absent)
        Case(pattern: "cpu:type:x86,ven*fam*mod*:feature:*0094*", text: cpu, matches: true),
        Case(pattern: "cpu:type:x86,ven*fam*mod*:feature:*0099*", text: cpu, matches: true),
        Case(pattern: "cpu:type:x86,ven*fam*mod*:feature:*0085*", text: cpu, matches: false),
        // Plain-name aliases (softdep targets, filesystems)
        Case(pattern: "crypto-crc32c", text: "crypto-crc32c", matches: true),
        Case(pattern: "crypto-crc32c", text: "crypto-crc32c-intel", matches: false),
        Case(pattern: "fs-ext4", text: "fs-ext3", matches: false),
        Case(pattern: "block-major-8-*", text: "block-major-8-0", matches: true),
        Case(pattern: "block-major-8-*", text: "block-major-80-0", matches: false),
        Case(pattern: "platform:serial8250", text: "platform:serial8250", matches: true),
    ]

    @Test(arguments: kernelAliases)
    func kernelAlias(_ c: Case) {
        #expect(globMatch(c.pattern, c.text) == c.matches)
    }

    static let edgeCases: [Case] = [
        Case(pattern: "", text: "", matches: true),
        Case(pattern: "", text: "a", matches: false),
        Case(pattern: "*", text: "", matches: true),
        Case(pattern: "***", text: "", matches: true),
        Case(pattern: "*", text: "a/b/.c", matches: true),  // no FNM_PATHNAME, no FNM_PERIOD
        Case(pattern: "?", text: "", matches: false),
        Case(pattern: "?", text: "é", matches: false),  // two UTF-8 bytes: ? is one byte
        Case(pattern: "??", text: "é", matches: true),
        Case(pattern: "a*b*c", text: "aXXbYYc", matches: true),
        Case(pattern: "a*b*c", text: "aXXbYYcd", matches: false),
        Case(pattern: "a*c", text: "abcbc", matches: true),  // the star must retry past the first c
        Case(pattern: "*a*a*a*a*a*a*a*a*b", text: String(repeating: "a", count: 60), matches: false),
        Case(pattern: "[abc]", text: "b", matches: true),
        Case(pattern: "[abc]", text: "d", matches: false),
        Case(pattern: "[a-f]x", text: "ex", matches: true),
        Case(pattern: "[a-f]x", text: "gx", matches: false),
        Case(pattern: "[!a-f]", text: "g", matches: true),
        Case(pattern: "[!a-f]", text: "a", matches: false),
        Case(pattern: "[^x]", text: "y", matches: true),
        Case(pattern: "[^x]", text: "x", matches: false),
        Case(pattern: "[]]", text: "]", matches: true),  // ] first is literal
        Case(pattern: "[!]]", text: "a", matches: true),
        Case(pattern: "[a-]", text: "-", matches: true),  // trailing - is literal
        Case(pattern: "[[:digit:]]9", text: "09", matches: true),
        Case(pattern: "[[:xdigit:]]", text: "G", matches: false),
        Case(pattern: "[[:bogus:]]", text: "a", matches: false),
        Case(pattern: "[abc", text: "[abc", matches: true),  // unterminated: [ is literal
        Case(pattern: "\\*", text: "*", matches: true),
        Case(pattern: "\\*", text: "x", matches: false),
        Case(pattern: "\\?", text: "?", matches: true),
        Case(pattern: "[\\]]", text: "]", matches: true),
        Case(pattern: "a\\", text: "a\\", matches: false),  // a trailing backslash matches nothing
        Case(pattern: "a\\", text: "a", matches: false),
    ]

    @Test(arguments: edgeCases)
    func edgeCase(_ c: Case) {
        #expect(globMatch(c.pattern, c.text) == c.matches)
    }

    /// A pattern that is exponential for naive recursive matchers finishes at once here.
    @Test func manyStarsStayLinear() {
        let pattern = String(repeating: "*a", count: 200) + "b"
        let text = String(repeating: "a", count: 5_000)
        let clock = ContinuousClock()
        var result = true
        let elapsed = clock.measure { result = globMatch(pattern, text) }
        #expect(result == false)
        #expect(elapsed < .seconds(5))
    }

    #if canImport(Glibc)
    /// Bracket expressions compared with glibc's fnmatch(3) over every printable ASCII byte.
    @Test(arguments: [
        "[[:alpha:]]", "[![:digit:]]", "[[:alpha:]-]", "[[:alpha:][:digit:]_]", "[[:alpha:]",
        "[[:foo:]]", "[[:space:]x]", "[[:punct:]]", "[[:upper:][:lower:]]", "[[:xdigit:]]",
        "[[:cntrl:][:blank:]]", "[[:graph:]]", "[[:print:]]", "[[:alnum:]]", "[]-a]", "[!]-a]",
        "[a-c-e]", "[z-a]", "[[.a.]]", "[[=a=]]", "[[.a.]-c]", "[a-[.c.]]", "[[.ab.]]", "[[.-.]]", "[![=x=]]", "[\\-\\]]", "[[]", "[]", "[!]", "[:alpha:]", "[[:alpha:]x]y",
    ])
    func bracketAgreesWithGlibc(_ pattern: String) {
        var disagreements: [String] = []
        for byte in UInt8(0x01)...UInt8(0x7E) {
            let text = String(decoding: [byte], as: UTF8.self)
            let expected = fnmatch(pattern, text, 0) == 0
            if globMatch(pattern, text) != expected { disagreements.append("\(text.debugDescription): glibc \(expected)") }
            let longer = text + "y"
            if globMatch(pattern, longer) != (fnmatch(pattern, longer, 0) == 0) { disagreements.append(longer.debugDescription) }
        }
        #expect(disagreements == [])
    }

    /// Differential test against glibc's fnmatch(3) with no flags, over random short
    /// patterns and texts from an alphabet full of metacharacters.
    @Test func agreesWithGlibcFnmatch() {
        var rng = SplitMix64(seed: 0x1AF4_1041)
        let patternAlphabet = Array("ab-]![^*?\\:".utf8)
        let textAlphabet = Array("ab-]![^*?\\".utf8)
        var disagreements: [String] = []
        for _ in 0..<40_000 {
            let pattern = (0..<Int(rng.next() % 8)).map { _ in patternAlphabet[Int(rng.next() % UInt64(patternAlphabet.count))] }
            let text = (0..<Int(rng.next() % 6)).map { _ in textAlphabet[Int(rng.next() % UInt64(textAlphabet.count))] }
            let p = String(decoding: pattern, as: UTF8.self)
            let t = String(decoding: text, as: UTF8.self)
            let expected = fnmatch(p, t, 0) == 0
            if globMatch(p, t) != expected, disagreements.count < 20 {
                disagreements.append("pattern \(p) text \(t): glibc says \(expected)")
            }
        }
        #expect(disagreements == [])
    }
    #endif
}

/// A small deterministic generator, so random tests fail the same way every run.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
