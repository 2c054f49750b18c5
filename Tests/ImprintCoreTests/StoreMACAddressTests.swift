import Testing

@testable import ImprintCore

@Suite("MACAddress")
struct MACAddressTests {
    @Test(arguments: [
        "52:54:00:12:34:56", "52-54-00-12-34-56", "52:54:00:12:34:56".uppercased(), "52-54-00-AB-cd-Ef",
    ])
    func parsesEitherSeparatorAnyCase(text: String) throws {
        let mac = try MACAddress(parsing: text)
        #expect(mac.octets.count == 6)
        #expect(mac.octets[0] == 0x52)
        #expect(mac.hyphenated == mac.colon.replacingColons)
        #expect(mac.hyphenated == mac.hyphenated.lowercased())
    }

    @Test func formsAreLowerCase() throws {
        let mac = try MACAddress(parsing: "52-54-00-AB-CD-EF")
        #expect(mac.hyphenated == "52-54-00-ab-cd-ef")
        #expect(mac.colon == "52:54:00:ab:cd:ef")
        #expect(mac.octets == [0x52, 0x54, 0x00, 0xAB, 0xCD, 0xEF])
    }

    static let refused: [(text: String, words: String)] = [
        ("", "not six octets"),
        ("52:54:00:12:34", "not six octets"),
        ("52:54:00:12:34:56:78", "not six octets"),
        ("52:54:00-12-34-56", "mixes"),
        ("52:54:00:12:34:5G", "octet '5G'"),
        ("52:54:00:12:34:5", "octet '5'"),
        ("52:54:00:12:34:056", "octet '056'"),
        ("5254.0012.3456", "not six octets"),
        ("52:54:00:12:34:+5", "octet '+5'"),
        ("01:00:5e:00:00:01", "multicast"),
        ("ff:ff:ff:ff:ff:ff", "multicast"),
        ("52 54 00 12 34 56", "not six octets"),
    ]

    @Test(arguments: refused.map(\.text))
    func refusesWithAReason(text: String) throws {
        let words = try #require(Self.refused.first { $0.text == text }).words
        let error = #expect(throws: MACAddressError.self) { try MACAddress(parsing: text) }
        let message = error?.description ?? ""
        #expect(message.contains(words), "\(message)")
        #expect(message.contains("write it as 52:54:00:12:34:56"), "\(message)")
    }

    @Test func ordersByOctets() throws {
        let a = try MACAddress(parsing: "52:54:00:00:00:02"), b = try MACAddress(parsing: "52:54:00:00:01:00")
        #expect(a < b)
        #expect(try MACAddress(parsing: "52-54-00-00-00-02") == a)
    }
}

extension String {
    fileprivate var replacingColons: String { String(map { $0 == ":" ? "-" : $0 }) }
}
