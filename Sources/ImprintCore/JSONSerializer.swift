extension JSONValue {
    /// The value as JSON text, the same for the same value every time: object keys in
    /// insertion order, integers without a fraction (`3`, not `3.0`), other numbers in the
    /// shortest form that reads back exactly, and non-ASCII characters written as UTF-8.
    /// Numbers that JSON cannot hold (infinities, NaN) are written as `null`.
    ///
    /// - Parameter pretty: indent nested values by two spaces, one member per line, with
    ///   `": "` after keys; otherwise no whitespace at all. No trailing newline either way.
    public func serialized(pretty: Bool = false) -> String {
        var out = ""
        write(to: &out, pretty: pretty, indent: 0)
        return out
    }

    private func write(to out: inout String, pretty: Bool, indent: Int) {
        switch self {
        case .null:
            out += "null"
        case .bool(let value):
            out += value ? "true" : "false"
        case .number(let value):
            out += Self.format(value)
        case .string(let value):
            Self.quote(value, to: &out)
        case .array(let elements):
            guard !elements.isEmpty else { out += "[]"; return }
            out += "["
            for (position, element) in elements.enumerated() {
                if position > 0 { out += "," }
                if pretty { Self.newline(&out, indent + 1) }
                element.write(to: &out, pretty: pretty, indent: indent + 1)
            }
            if pretty { Self.newline(&out, indent) }
            out += "]"
        case .object(let object):
            guard !object.isEmpty else { out += "{}"; return }
            out += "{"
            for (position, member) in object.enumerated() {
                if position > 0 { out += "," }
                if pretty { Self.newline(&out, indent + 1) }
                Self.quote(member.key, to: &out)
                out += pretty ? ": " : ":"
                member.value.write(to: &out, pretty: pretty, indent: indent + 1)
            }
            if pretty { Self.newline(&out, indent) }
            out += "}"
        }
    }

    private static func newline(_ out: inout String, _ indent: Int) {
        out += "\n" + String(repeating: "  ", count: indent)
    }

    /// Integers in Int64's range print as integers; anything else uses Swift's shortest
    /// round-trip form (`0.1`, `1e-07`, `1e+300`), which is valid JSON.
    static func format(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        if let integer = Int64(exactly: value) { return String(integer) }
        return value.description
    }

    static func quote(_ text: String, to out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "\u{00}"..."\u{1F}":
                let hex = String(scalar.value, radix: 16, uppercase: true)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default:
                out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
