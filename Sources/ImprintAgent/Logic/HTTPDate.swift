import ImprintCore

/// An HTTP `Date` header (RFC 9110 section 5.6.7, the IMF-fixdate every current server sends:
/// `Sun, 06 Nov 1994 08:49:37 GMT`) as seconds since 1970; nil for anything else. The agent takes
/// the later of its clock and a pinned HTTPS server's `Date` for an assignment's `expires`.
public enum HTTPDate {
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    static let days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]

    public static func parse(_ text: String) -> Int? {
        // `Www, DD Mon YYYY HH:MM:SS GMT`, rewritten as `YYYY-MM-DDTHH:MM:SSZ` for UTCTime, which
        // checks the numbers and their ranges.
        let parts = text.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0].hasSuffix(","), days.contains(String(parts[0].dropLast())),
              parts[1].count == 2, let month = months.firstIndex(of: String(parts[2])),
              parts[3].count == 4, parts[4].count == 8, parts[5] == "GMT",
              let seconds = UTCTime.parse("\(parts[3])-\(month < 9 ? "0" : "")\(month + 1)-\(parts[1])T\(parts[4])Z") else { return nil }
        return Int(seconds)
    }

    /// The value of a `Date:` header line as libcurl hands it over (`Date: ...\r\n`), any case.
    public static func headerValue(_ line: String) -> String? {
        guard line.count > 5, line.prefix(5).lowercased() == "date:" else { return nil }
        return trimmed(line.dropFirst(5))
    }
}
