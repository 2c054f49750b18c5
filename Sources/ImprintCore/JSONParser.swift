extension JSONValue {
    /// How deeply arrays and objects may nest in ``parse(_:)``.
    public static let maximumDepth = 64

    /// Parses `text` as one JSON value (RFC 8259), strictly: no comments, no trailing commas,
    /// no duplicate keys, no leading zeros, nothing but whitespace after the value, and nesting
    /// at most ``maximumDepth`` deep. Errors say what is wrong with line and column.
    public static func parse(_ text: String) throws(JSONError) -> JSONValue {
        var parser = JSONParser(bytes: Array(text.utf8))
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        if parser.position < parser.bytes.count {
            throw parser.unexpected("end of text after the value")
        }
        return value
    }
}

/// A recursive-descent parser over UTF-8 bytes; recursion is bounded by the depth limit.
struct JSONParser {
    let bytes: [UInt8]
    var position = 0

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    mutating func parseValue(depth: Int) throws(JSONError) -> JSONValue {
        guard position < bytes.count else { throw error(.unexpectedEnd) }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw unexpected("a value")
        }
    }

    private mutating func parseObject(depth: Int) throws(JSONError) -> JSONValue {
        guard depth <= JSONValue.maximumDepth else { throw error(.tooDeep(limit: JSONValue.maximumDepth)) }
        position += 1  // {
        var object = JSONObject()
        skipWhitespace()
        if try consume(UInt8(ascii: "}")) { return .object(object) }
        while true {
            skipWhitespace()
            let keyStart = position
            guard position < bytes.count else { throw error(.unexpectedEnd) }
            guard bytes[position] == UInt8(ascii: "\"") else { throw unexpected("a string key") }
            let key = try parseString()
            guard object[key] == nil else { throw error(.duplicateKey(key), at: keyStart) }
            skipWhitespace()
            guard try consume(UInt8(ascii: ":")) else { throw unexpected("':' after the key") }
            skipWhitespace()
            object[key] = try parseValue(depth: depth)
            skipWhitespace()
            if try consume(UInt8(ascii: ",")) { continue }
            if try consume(UInt8(ascii: "}")) { return .object(object) }
            throw unexpected("',' or '}'")
        }
    }

    private mutating func parseArray(depth: Int) throws(JSONError) -> JSONValue {
        guard depth <= JSONValue.maximumDepth else { throw error(.tooDeep(limit: JSONValue.maximumDepth)) }
        position += 1  // [
        var elements: [JSONValue] = []
        skipWhitespace()
        if try consume(UInt8(ascii: "]")) { return .array(elements) }
        while true {
            skipWhitespace()
            elements.append(try parseValue(depth: depth))
            skipWhitespace()
            if try consume(UInt8(ascii: ",")) { continue }
            if try consume(UInt8(ascii: "]")) { return .array(elements) }
            throw unexpected("',' or ']'")
        }
    }

    /// Consumes `byte` if it is next; throws at the end of the text.
    private mutating func consume(_ byte: UInt8) throws(JSONError) -> Bool {
        guard position < bytes.count else { throw error(.unexpectedEnd) }
        guard bytes[position] == byte else { return false }
        position += 1
        return true
    }

    private mutating func literal(_ word: String) throws(JSONError) {
        for byte in word.utf8 {
            guard position < bytes.count else { throw error(.unexpectedEnd) }
            guard bytes[position] == byte else { throw unexpected("'\(word)'") }
            position += 1
        }
    }

    private mutating func parseNumber() throws(JSONError) -> Double {
        let start = position
        func digits(_ parser: inout JSONParser) -> Int {
            let first = parser.position
            while parser.position < parser.bytes.count,
                parser.bytes[parser.position] >= UInt8(ascii: "0"), parser.bytes[parser.position] <= UInt8(ascii: "9")
            {
                parser.position += 1
            }
            return parser.position - first
        }
        if bytes[position] == UInt8(ascii: "-") { position += 1 }
        let integerStart = position
        let integerDigits = digits(&self)
        guard integerDigits > 0 else { throw error(.invalidNumber, at: start) }
        if integerDigits > 1, bytes[integerStart] == UInt8(ascii: "0") { throw error(.invalidNumber, at: start) }
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            position += 1
            guard digits(&self) > 0 else { throw error(.invalidNumber, at: start) }
        }
        if position < bytes.count, bytes[position] | 0x20 == UInt8(ascii: "e") {
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
                position += 1
            }
            guard digits(&self) > 0 else { throw error(.invalidNumber, at: start) }
        }
        guard let value = Double(String(decoding: bytes[start..<position], as: UTF8.self)) else {
            throw error(.invalidNumber, at: start)
        }
        guard value.isFinite else { throw error(.numberOutOfRange, at: start) }
        return value
    }

    private mutating func parseString() throws(JSONError) -> String {
        position += 1  // opening quote
        var out: [UInt8] = []
        while true {
            guard position < bytes.count else { throw error(.unexpectedEnd) }
            let byte = bytes[position]
            switch byte {
            case UInt8(ascii: "\""):
                position += 1
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                try parseEscape(into: &out)
            case 0..<0x20:
                throw error(.controlCharacterInString(byte))
            default:
                out.append(byte)
                position += 1
            }
        }
    }

    private mutating func parseEscape(into out: inout [UInt8]) throws(JSONError) {
        let escapeStart = position
        position += 1  // backslash
        guard position < bytes.count else { throw error(.unexpectedEnd) }
        let byte = bytes[position]
        position += 1
        switch byte {
        case UInt8(ascii: "\""): out.append(0x22)
        case UInt8(ascii: "\\"): out.append(0x5C)
        case UInt8(ascii: "/"): out.append(0x2F)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "u"):
            var value = try hex4()
            if (0xDC00...0xDFFF).contains(value) { throw error(.unpairedSurrogate, at: escapeStart) }
            if (0xD800...0xDBFF).contains(value) {
                // A high surrogate must be followed at once by an escaped low one.
                guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"),
                    bytes[position + 1] == UInt8(ascii: "u")
                else { throw error(.unpairedSurrogate, at: escapeStart) }
                position += 2
                let low = try hex4()
                guard (0xDC00...0xDFFF).contains(low) else { throw error(.unpairedSurrogate, at: escapeStart) }
                value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
            }
            guard let scalar = Unicode.Scalar(value) else { throw error(.unpairedSurrogate, at: escapeStart) }
            out += Array(String(Character(scalar)).utf8)
        default:
            throw error(.invalidEscape(character(at: position - 1)), at: escapeStart)
        }
    }

    private mutating func hex4() throws(JSONError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard position < bytes.count else { throw error(.unexpectedEnd) }
            let byte = bytes[position]
            let nibble: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): nibble = byte - UInt8(ascii: "A") + 10
            default: throw error(.invalidUnicodeEscape)
            }
            value = value << 4 | UInt32(nibble)
            position += 1
        }
        return value
    }

    // MARK: Errors

    /// An error for the character at the current position, or for the end of the text.
    func unexpected(_ expected: String) -> JSONError {
        guard position < bytes.count else { return error(.unexpectedEnd) }
        return error(.unexpectedCharacter(character(at: position), expected: expected))
    }

    /// The character whose UTF-8 encoding starts at `offset` (the input came from a String, so
    /// it is valid UTF-8).
    func character(at offset: Int) -> Character {
        let end = min(offset + 4, bytes.count)
        let scalar = String(decoding: bytes[offset..<end], as: UTF8.self).unicodeScalars.first
        return scalar.map(Character.init) ?? "\u{FFFD}"
    }

    func error(_ reason: JSONError.Reason, at offset: Int? = nil) -> JSONError {
        let offset = min(offset ?? position, bytes.count)
        var line = 1
        var lineStart = 0
        for index in 0..<offset where bytes[index] == 0x0A {
            line += 1
            lineStart = index + 1
        }
        // Count scalars, not bytes: continuation bytes (10xxxxxx) do not start a column.
        let column = 1 + bytes[lineStart..<offset].filter { $0 & 0xC0 != 0x80 }.count
        return JSONError(reason: reason, line: line, column: column, offset: offset)
    }
}
