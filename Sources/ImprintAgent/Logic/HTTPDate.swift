import ImprintCore

extension HTTPDate {
    /// The value of a `Date:` header line as libcurl hands it over (`Date: ...\r\n`), any case.
    public static func headerValue(_ line: String) -> String? {
        guard line.count > 5, line.prefix(5).lowercased() == "date:" else { return nil }
        return trimmed(line.dropFirst(5))
    }
}
