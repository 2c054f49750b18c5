/// An HTTP `Date` header (RFC 9110 section 5.6.7, the IMF-fixdate every current server sends:
/// `Sun, 06 Nov 1994 08:49:37 GMT`). The agent reads it (the later of its clock and a pinned HTTPS
/// server's `Date` decides an assignment's `expires`); the server writes it.
public enum HTTPDate {
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    /// From Sunday, as days since 1970 count them from Thursday.
    static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]

    /// Seconds since 1970; nil for anything but an IMF-fixdate.
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

    /// The IMF-fixdate of whole seconds since 1970.
    public static func format(epochSeconds: Int) -> String {
        let day = epochSeconds >= 0 ? epochSeconds / 86400 : (epochSeconds - 86399) / 86400
        let seconds = epochSeconds - day * 86400
        let (year, month, dayOfMonth) = UTCTime.civilFromDays(day)
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(days[((day + 4) % 7 + 7) % 7]), \(two(dayOfMonth)) \(months[month - 1]) \(year) "
            + "\(two(seconds / 3600)):\(two(seconds / 60 % 60)):\(two(seconds % 60)) GMT"
    }
}
