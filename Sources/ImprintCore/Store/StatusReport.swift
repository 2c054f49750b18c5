/// `reports/<mac>/status.json`, as an agent PUTs it (DESIGN section 5).
public struct StatusReport: Equatable, Sendable {
    public static let schemaVersion = 1

    public enum Phase: String, CaseIterable, Sendable {
        case booted, network, assignment, streaming, verifying, customizing, capturing, uploading, done, failed
    }

    public var mac: MACAddress
    public var phase: Phase
    public var bytesWritten: Int?
    public var bytesTotal: Int?
    /// Bytes per second.
    public var rate: Double?
    /// Seconds per phase, in the report's order (`network`, `assignment`, `stream`, `verify`, `customize`, `total`).
    public var timings: [(name: String, seconds: Double)]
    public var error: String?
    /// UTC, ISO 8601, as the agent wrote it.
    public var updated: String?

    public init(mac: MACAddress, phase: Phase, bytesWritten: Int? = nil, bytesTotal: Int? = nil, rate: Double? = nil,
                timings: [(name: String, seconds: Double)] = [], error: String? = nil, updated: String? = nil) {
        self.mac = mac
        self.phase = phase
        self.bytesWritten = bytesWritten
        self.bytesTotal = bytesTotal
        self.rate = rate
        self.timings = timings
        self.error = error
        self.updated = updated
    }

    public static func == (lhs: StatusReport, rhs: StatusReport) -> Bool {
        lhs.mac == rhs.mac && lhs.phase == rhs.phase && lhs.bytesWritten == rhs.bytesWritten && lhs.bytesTotal == rhs.bytesTotal
            && lhs.rate == rhs.rate && lhs.error == rhs.error && lhs.updated == rhs.updated
            && lhs.timings.map(\.name) == rhs.timings.map(\.name) && lhs.timings.map(\.seconds) == rhs.timings.map(\.seconds)
    }

    /// Seconds since 1970 of ``updated``, if it is a UTC time this reads.
    public var updatedEpochSeconds: Double? { updated.flatMap(UTCTime.parse) }

    public var json: JSONValue {
        var object: JSONObject = ["version": .number(Double(Self.schemaVersion)), "mac": .string(mac.colon), "phase": .string(phase.rawValue)]
        if let bytesWritten { object["bytesWritten"] = .number(Double(bytesWritten)) }
        if let bytesTotal { object["bytesTotal"] = .number(Double(bytesTotal)) }
        if let rate { object["rate"] = .number(rate) }
        if !timings.isEmpty { object["timings"] = .object(JSONObject(timings.map { ($0.name, .number($0.seconds)) })) }
        if let error { object["error"] = .string(error) }
        if let updated { object["updated"] = .string(updated) }
        return .object(object)
    }

    public static func parse(_ text: String) throws(StoreManifestError) -> StatusReport {
        let fields = try ManifestFields(text, kind: "status report", version: schemaVersion)
        let mac: MACAddress
        do { mac = try MACAddress(parsing: try fields.string("mac")) } catch let error as MACAddressError {
            throw StoreManifestError("\"mac\": \(error)")
        } catch { throw StoreManifestError("\(error)") }
        var timings: [(name: String, seconds: Double)] = []
        if let object = fields.object["timings"]?.objectValue {
            for (name, value) in object {
                guard let seconds = value.doubleValue else { throw StoreManifestError("\"timings.\(name)\" is not a number") }
                timings.append((name, seconds))
            }
        }
        return StatusReport(
            mac: mac, phase: try fields.enumeration("phase", Phase.self),
            bytesWritten: try fields.optionalInt("bytesWritten"), bytesTotal: try fields.optionalInt("bytesTotal"),
            rate: try fields.optionalDouble("rate"), timings: timings, error: try fields.optionalString("error"),
            updated: try fields.optionalString("updated"))
    }
}

/// UTC times as manifests write them: `YYYY-MM-DDTHH:MM:SS[.fraction]Z`.
public enum UTCTime {
    /// Seconds since 1970-01-01T00:00:00Z, or nil when `text` is not such a time.
    public static func parse(_ text: String) -> Double? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20, bytes.last == UInt8(ascii: "Z"),
              bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: "T"),
              bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":") else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for byte in bytes[range] {
                guard (0x30...0x39).contains(byte) else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        var fraction = 0.0
        if bytes.count > 20 {
            // Any number of digits; the first nine (nanoseconds) count, so a long fraction cannot overflow.
            let end = bytes.count - 1
            guard bytes[19] == UInt8(ascii: "."), end > 20, bytes[20..<end].allSatisfy({ (0x30...0x39).contains($0) }),
                  let digits = number(20..<min(end, 29)) else { return nil }
            var scale = 1.0
            for _ in 20..<min(end, 29) { scale *= 10 }
            fraction = Double(digits) / scale
        }
        return Double(daysFromCivil(year: year, month: month, day: day) * 86400 + hour * 3600 + minute * 60 + second) + fraction
    }

    /// `2026-11-21T23:28:50Z` for whole seconds since 1970.
    public static func format(epochSeconds: Int) -> String {
        let days = epochSeconds >= 0 ? epochSeconds / 86400 : (epochSeconds - 86399) / 86400
        let seconds = epochSeconds - days * 86400
        let (year, month, day) = civilFromDays(days)
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(year)-\(two(month))-\(two(day))T\(two(seconds / 3600)):\(two(seconds / 60 % 60)):\(two(seconds % 60))Z"
    }

    /// Days since 1970-01-01 in the proleptic Gregorian calendar (Howard Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    static func civilFromDays(_ days: Int) -> (Int, Int, Int) {
        let z = days + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
