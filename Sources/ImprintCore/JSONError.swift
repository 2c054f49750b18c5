/// Why text is not JSON, and where: `line` and `column` count from 1, columns in Unicode
/// scalars; `offset` is the UTF-8 byte offset.
public struct JSONError: Error, Equatable, CustomStringConvertible {
    /// What is wrong at the position.
    public enum Reason: Equatable, Sendable {
        /// The text ends where a value, or the rest of one, was due.
        case unexpectedEnd
        /// A character that cannot stand here; `expected` says what could.
        case unexpectedCharacter(Character, expected: String)
        /// A number that breaks RFC 8259's grammar (`01`, `1.`, `+1`, `.5`).
        case invalidNumber
        /// A number too large for a Double (`1e400`).
        case numberOutOfRange
        /// A backslash followed by something other than `"\/bfnrtu`.
        case invalidEscape(Character)
        /// `\u` not followed by four hex digits.
        case invalidUnicodeEscape
        /// A `\uD800`-`\uDFFF` escape that is not half of a surrogate pair.
        case unpairedSurrogate
        /// A raw control character (below U+0020) inside a string; it must be escaped.
        case controlCharacterInString(UInt8)
        /// An object names the same key twice.
        case duplicateKey(String)
        /// Arrays and objects nest deeper than `limit`.
        case tooDeep(limit: Int)
    }

    public var reason: Reason
    public var line: Int
    public var column: Int
    public var offset: Int

    public init(reason: Reason, line: Int, column: Int, offset: Int) {
        self.reason = reason
        self.line = line
        self.column = column
        self.offset = offset
    }

    public var description: String {
        let what: String
        switch reason {
        case .unexpectedEnd: what = "unexpected end of text"
        case .unexpectedCharacter(let found, let expected): what = "unexpected \(Self.show(found)); expected \(expected)"
        case .invalidNumber: what = "malformed number"
        case .numberOutOfRange: what = "number out of range"
        case .invalidEscape(let found): what = "invalid escape \\\(found) in string"
        case .invalidUnicodeEscape: what = "\\u must be followed by 4 hex digits"
        case .unpairedSurrogate: what = "unpaired UTF-16 surrogate in \\u escape"
        case .controlCharacterInString(let byte): what = "control character 0x\(String(byte, radix: 16)) in string must be escaped"
        case .duplicateKey(let key): what = "duplicate key \"\(key)\""
        case .tooDeep(let limit): what = "arrays and objects nested deeper than \(limit)"
        }
        return "JSON line \(line), column \(column): \(what)"
    }

    private static func show(_ character: Character) -> String {
        if let scalar = character.unicodeScalars.first, scalar.value < 0x20 || scalar.value == 0x7F {
            return "control character U+" + String(scalar.value, radix: 16, uppercase: true)
        }
        return "'\(character)'"
    }
}
