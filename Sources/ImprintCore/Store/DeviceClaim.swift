/// Tokens claimed once (DESIGN section 8, docs/security.md "Tokens"): an identity served over PXE
/// carries no token; the agent `POST`s `devices/<mac>/claim` and the store answers once with a new
/// token, keeping only its SHA-256. The state is two files under `secrets/devices/`:
///
/// - `<mac>.armed`: a claim may be made; it holds the rearm count (0 for a new device). The claim
///   renames it to `<mac>.claimed`, so of two claims at once exactly one wins.
/// - `<mac>.sha256`: the claimed token's hash (what reports, uploads and assignment reads check).
///
/// A refused claim is recorded in `reports/<mac>/claim-refused.json`, which `imprint status` shows.
/// `imprint device rearm`, and any new assignment (`device add`, `device capture`), arm it again.
public enum DeviceClaim {
    public static func armed(_ mac: MACAddress) -> String { "secrets/devices/\(mac.hyphenated).armed" }
    public static func claimed(_ mac: MACAddress) -> String { "secrets/devices/\(mac.hyphenated).claimed" }
    public static func refusedReport(_ mac: MACAddress) -> String { "reports/\(mac.hyphenated)/claim-refused.json" }

    /// The armed (or claimed) file's text for `rearms`.
    public static func stateText(rearms: Int) -> String { "\(rearms)\n" }

    /// The rearm count in an armed or claimed file; nil when it is not a count.
    public static func rearms(fromText text: String) -> Int? {
        var digits = Substring(text)
        while let last = digits.last, last == "\n" || last == " " || last == "\r" { digits.removeLast() }
        guard !digits.isEmpty, digits.count < 10, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(digits)
    }

    /// The claim's answer: `{"token": "<64 hex>"}`.
    public static func answer(token: String) -> String {
        (["version": 1, "token": .string(token)] as JSONValue).serialized(pretty: false) + "\n"
    }

    /// The token in a claim's answer; nil unless it is 64 lower-case hex digits.
    public static func token(inAnswer text: String) -> String? {
        guard let json = try? JSONValue.parse(text), let token = json["token"]?.stringValue,
              token.utf8.count == 64, token.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) else { return nil }
        return token
    }

    /// `claim-refused.json`: when, from where, and how many refusals since the last claim.
    public static func refusal(mac: MACAddress, time: String, from peer: String, refusals: Int) -> String {
        let object: JSONValue = ["version": 1, "mac": .string(mac.colon), "time": .string(time), "from": .string(peer),
                                 "refusals": .number(Double(refusals))]
        return object.serialized(pretty: true) + "\n"
    }
}
