import ImprintCore

/// `device add --from FILE.csv`: a header line `mac,profile,image,hostname`, then one device a
/// line. `hostname` may be empty; blank lines and lines starting with `#` are skipped; CRLF line
/// ends are accepted. No quoting: none of the fields may hold a comma.
public enum DeviceCSV {
    public static let header = ["mac", "profile", "image", "hostname"]

    /// The requests, each with its line number, or every malformed line at once.
    public static func parse(_ text: String) throws -> [DeviceRequest] {
        var requests: [DeviceRequest] = []
        var problems: [(line: Int?, message: String)] = []
        var sawHeader = false
        var number = 0
        // "\r\n" is one Character in Swift, so it is a separator of its own.
        for raw in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            number += 1
            let line = raw.hasSuffix("\r") ? raw.dropLast() : raw[...]
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map { String($0.trimmingSpaces) }
            if !sawHeader {
                guard fields.map({ $0.lowercased() }) == header else {
                    throw DeviceBatchError(problems: [(number, "the first line must be the header \(header.joined(separator: ",")), not '\(line)'")])
                }
                sawHeader = true
                continue
            }
            guard fields.count == 4 || fields.count == 3 else {
                problems.append((number, "expected 4 fields (mac,profile,image,hostname), found \(fields.count)"))
                continue
            }
            guard !fields[1].isEmpty, !fields[2].isEmpty else {
                problems.append((number, "profile and image must not be empty"))
                continue
            }
            let hostname = fields.count == 4 && !fields[3].isEmpty ? fields[3] : nil
            requests.append(DeviceRequest(mac: fields[0], profile: fields[1], image: fields[2], hostname: hostname, line: number))
        }
        guard sawHeader else { throw DeviceBatchError(problems: [(nil, "the file is empty: it needs the header \(header.joined(separator: ",")) and one device a line")]) }
        guard problems.isEmpty else { throw DeviceBatchError(problems: problems) }
        return requests
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var s = self
        while s.first == " " || s.first == "\t" { s.removeFirst() }
        while s.last == " " || s.last == "\t" { s.removeLast() }
        return s
    }
}
