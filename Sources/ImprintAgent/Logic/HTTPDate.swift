import ImprintCore

/// An HTTP `Date` header (RFC 9110 section 5.6.7, the IMF-fixdate every current server sends:
/// `Sun, 06 Nov 1994 08:49:37 GMT`) as seconds since 1970; nil for anything else. The agent takes
/// the later of its clock and a pinned HTTPS server's `Date` for an assignment's `expires`.
public enum HTTPDate {
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    static let days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]

    public static func parse(_ text: String) -> Int? {
        let parts = text.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0].count == 4, parts[0].hasSuffix(","), days.contains(String(parts[0].dropLast())),
              parts[1].count == 2, let day = Int(parts[1]), let monthIndex = months.firstIndex(of: String(parts[2])),
              parts[3].count == 4, let year = Int(parts[3]), parts[5] == "GMT" else { return nil }
        let clock = parts[4].split(separator: ":", omittingEmptySubsequences: false)
        guard clock.count == 3, clock.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isASCII) }),
              let hour = Int(clock[0]), let minute = Int(clock[1]), let second = Int(clock[2]) else { return nil }
        let text = "\(parts[3])-\(monthIndex < 9 ? "0" : "")\(monthIndex + 1)-\(parts[1])T\(clock[0]):\(clock[1]):\(clock[2])Z"
        guard (1...31).contains(day), year >= 1970, hour < 24, minute < 60, second < 61, let seconds = UTCTime.parse(text) else { return nil }
        return Int(seconds)
    }

    /// The value of a `Date:` header line as libcurl hands it over (`Date: ...\r\n`), any case.
    public static func headerValue(_ line: String) -> String? {
        guard line.count > 5, line.prefix(5).lowercased() == "date:" else { return nil }
        return trimmed(line.dropFirst(5))
    }
}
