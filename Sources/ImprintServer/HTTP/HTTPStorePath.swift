import Glibc

/// Why a request target is not served: `malformed` is answered 400, `refused` 404.
enum HTTPPathRefusal: Error, Equatable {
    case malformed(String)
    case refused(String)

    var reason: String {
        switch self {
        case let .malformed(reason), let .refused(reason): reason
        }
    }
}

/// Request targets to store paths. A target is percent-decoded once, then split on `/`; no segment
/// may be empty, `.`, `..`, start with `.` (temporary files of atomic writes), or hold NUL or a
/// backslash; `incoming/` and `secrets/` are never served.
enum HTTPStorePath {
    static let privateFolders: Set<String> = ["incoming", "secrets"]

    /// The segments of `target` (the request line's target, query and all). Every check is on
    /// bytes: the request line is bytes, and Swift's Characters would glue a combining mark to the
    /// "/", "?" or "." before it (a "/" so hidden kept a segment together past the `secrets/`
    /// refusal; found by the HTTPRange fuzz target).
    static func segments(_ target: String) throws(HTTPPathRefusal) -> [String] {
        var raw = Array(target.utf8)
        if let mark = raw.firstIndex(where: { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }) { raw.removeSubrange(mark...) }
        guard raw.first == UInt8(ascii: "/") else { throw .malformed("the target is not an absolute path") }
        let decoded = try percentDecode(raw)
        guard String(validating: decoded, as: UTF8.self) != nil else { throw .malformed("the path is not UTF-8") }
        let parts = decoded.dropFirst().split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        for part in parts {
            if part.isEmpty { throw .refused("empty segment") }
            if part.count <= 2, part.allSatisfy({ $0 == UInt8(ascii: ".") }) { throw .refused("dot segment") }
            if part.first == UInt8(ascii: ".") { throw .refused("hidden name") }
            if part.contains(where: { $0 == 0 || $0 == UInt8(ascii: "\\") }) { throw .refused("NUL or backslash") }
        }
        let names = parts.map { String(decoding: $0, as: UTF8.self) }
        if let first = names.first, privateFolders.contains(first) { throw .refused("\(first)/ is never served") }
        return names
    }

    static func percentDecode(_ bytes: [UInt8]) throws(HTTPPathRefusal) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "%") {
                guard i + 2 < bytes.count, let high = hexValue(bytes[i + 1]), let low = hexValue(bytes[i + 2]) else {
                    throw .malformed("bad percent-encoding")
                }
                out.append(high << 4 | low)
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return out
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// The `Range` header, for one file size (RFC 9110 section 14).
enum HTTPByteRange: Equatable {
    /// Serve the whole file (no header, or one this server answers whole: multi-range, malformed).
    case whole
    /// Serve `first...last`.
    case part(first: Int, last: Int)
    /// 416.
    case unsatisfiable

    init(header: String?, size: Int) {
        guard let header else { self = .whole; return }
        let text = header.trimmingSpaces
        guard text.lowercased().hasPrefix("bytes=") else { self = .whole; return }
        let spec = text.dropFirst("bytes=".count).trimmingSpaces
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { self = .whole; return }
        let startText = spec[..<dash].trimmingSpaces
        let endText = spec[spec.index(after: dash)...].trimmingSpaces
        guard startText.allSatisfy(\.isASCIIDigit), endText.allSatisfy(\.isASCIIDigit) else { self = .whole; return }
        if startText.isEmpty {
            // Suffix: the last N bytes.
            guard let count = Int(endText) else {
                self = endText.isEmpty ? .whole : (size > 0 ? .part(first: 0, last: size - 1) : .unsatisfiable)
                return
            }
            guard count > 0, size > 0 else { self = .unsatisfiable; return }
            self = .part(first: max(0, size - count), last: size - 1)
            return
        }
        guard let first = Int(startText) else { self = .unsatisfiable; return }  // past Int.max: past the end
        let last: Int
        if endText.isEmpty {
            last = size - 1
        } else if let value = Int(endText) {
            guard value >= first else { self = .whole; return }  // invalid: ignored
            last = min(value, size - 1)
        } else {
            last = size - 1
        }
        guard first < size else { self = .unsatisfiable; return }
        self = .part(first: first, last: last)
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        String(self.drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
