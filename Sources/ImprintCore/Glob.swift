/// Matches `text` against a shell wildcard `pattern` the way `fnmatch(3)` does with no flags.
///
/// Both strings are compared as UTF-8 bytes, which is what the kernel's module aliases and a
/// device's `modalias` are:
/// - `*` matches any run of bytes, `/` and a leading `.` included;
/// - `?` matches exactly one byte;
/// - `[abc]`, `[a-z]`, `[!x]` or `[^x]`, POSIX classes such as `[[:digit:]]`, and the C
///   locale's one-byte `[[.x.]]` and `[[=x=]]` match one byte from (or, negated, not from) a set; a `]` first in the set is literal, and a `[` with no
///   closing `]` is an ordinary character;
/// - `\` makes the next byte literal; a pattern ending in a lone `\` matches nothing.
///
/// The match runs in O(pattern x text) time at worst: each `*` remembers one restart point and
/// a later `*` replaces it, so no input backtracks exponentially.
///
///     globMatch("pci:v00001AF4d*sv*sd*bc*sc*i*",
///               "pci:v00001AF4d00001041sv00001AF4sd00001041bc02sc00i00")   // true
public func globMatch(_ pattern: String, _ text: String) -> Bool {
    Glob.match(pattern: Array(pattern.utf8), text: Array(text.utf8))
}

/// The byte-level matcher behind ``globMatch(_:_:)``.
enum Glob {
    /// Two-pointer matching with a single star restart point.
    static func match(pattern: [UInt8], text: [UInt8]) -> Bool {
        var p = 0
        var t = 0
        // Where to resume after the most recent `*`: the pattern just past it and the next text
        // byte that star should absorb on a retry.
        var starPattern: Int? = nil
        var starText = 0

        while t < text.count {
            if p < pattern.count {
                switch step(pattern, at: p, byte: text[t]) {
                case .star:
                    // Collapse runs of stars; try matching zero bytes first.
                    var next = p
                    while next < pattern.count, pattern[next] == UInt8(ascii: "*") { next += 1 }
                    starPattern = next
                    starText = t
                    p = next
                    continue
                case .matched(let next):
                    p = next
                    t += 1
                    continue
                case .failed:
                    break
                case .impossible:
                    return false
                }
            }
            // Mismatch: let the last star swallow one more byte, or give up.
            guard let resume = starPattern else { return false }
            starText += 1
            t = starText
            p = resume
        }
        // Text consumed: what remains of the pattern must be stars only.
        while p < pattern.count, pattern[p] == UInt8(ascii: "*") { p += 1 }
        return p == pattern.count
    }

    /// What one pattern element does with one text byte.
    enum Step {
        /// The element at the cursor is `*`.
        case star
        /// The element matched the byte; the next element starts at this index.
        case matched(next: Int)
        /// The element did not match the byte.
        case failed
        /// The element can match no byte at all (a trailing `\`, an unknown `[:class:]`).
        case impossible
    }

    static func step(_ pattern: [UInt8], at p: Int, byte: UInt8) -> Step {
        switch pattern[p] {
        case UInt8(ascii: "*"):
            return .star
        case UInt8(ascii: "?"):
            return .matched(next: p + 1)
        case UInt8(ascii: "\\"):
            guard p + 1 < pattern.count else { return .impossible }
            return pattern[p + 1] == byte ? .matched(next: p + 2) : .failed
        case UInt8(ascii: "["):
            switch bracket(pattern, openingAt: p, byte: byte) {
            case .literal:
                return byte == UInt8(ascii: "[") ? .matched(next: p + 1) : .failed
            case .set(let matches, let next):
                return matches ? .matched(next: next) : .failed
            case .invalid:
                return .impossible
            }
        default:
            return pattern[p] == byte ? .matched(next: p + 1) : .failed
        }
    }

    enum Bracket {
        /// No closing `]`: the `[` is an ordinary character.
        case literal
        /// A well-formed set; whether it matched, and the index after its `]`.
        case set(matches: Bool, next: Int)
        /// A set naming an unknown `[:class:]` or a multi-byte `[.name.]`, which fnmatch
        /// treats as matching nothing.
        case invalid
    }

    /// Evaluates the bracket expression whose `[` is at `open` against `byte`.
    static func bracket(_ pattern: [UInt8], openingAt open: Int, byte: UInt8) -> Bracket {
        var i = open + 1
        var negated = false
        if i < pattern.count, pattern[i] == UInt8(ascii: "!") || pattern[i] == UInt8(ascii: "^") {
            negated = true
            i += 1
        }
        var matched = false
        var invalid = false
        var first = true
        while i < pattern.count {
            let c = pattern[i]
            if c == UInt8(ascii: "]"), !first {
                if invalid { return .invalid }
                return .set(matches: matched != negated, next: i + 1)
            }
            first = false

            // A POSIX class: `[:name:]`.
            if c == UInt8(ascii: "["), i + 1 < pattern.count, pattern[i + 1] == UInt8(ascii: ":") {
                if let close = delimitedEnd(pattern, from: i + 2, delimiter: UInt8(ascii: ":")) {
                    let name = pattern[(i + 2)..<close]
                    if let known = characterClass(name) {
                        if known(byte) { matched = true }
                    } else {
                        invalid = true
                    }
                    i = close + 2
                    continue
                }
            }

            // One byte, possibly escaped or written as a collating symbol (`[.a.]`) or
            // equivalence class (`[=a=]`), which in the C locale stand for the byte itself;
            // possibly the start of a range.
            var low = c
            if c == UInt8(ascii: "["), i + 1 < pattern.count,
                pattern[i + 1] == UInt8(ascii: ".") || pattern[i + 1] == UInt8(ascii: "="),
                let close = delimitedEnd(pattern, from: i + 2, delimiter: pattern[i + 1])
            {
                if close - (i + 2) == 1 {
                    low = pattern[i + 2]
                } else {
                    invalid = true  // multi-character names are not collating elements here
                }
                i = close + 2
            } else if c == UInt8(ascii: "\\") {
                guard i + 1 < pattern.count else { return .literal }
                low = pattern[i + 1]
                i += 2
            } else {
                i += 1
            }
            if i + 1 < pattern.count, pattern[i] == UInt8(ascii: "-"), pattern[i + 1] != UInt8(ascii: "]") {
                var high = pattern[i + 1]
                i += 2
                if high == UInt8(ascii: "\\") {
                    guard i < pattern.count else { return .literal }
                    high = pattern[i]
                    i += 1
                } else if high == UInt8(ascii: "["), i < pattern.count, pattern[i] == UInt8(ascii: "."),
                    let close = delimitedEnd(pattern, from: i + 1, delimiter: UInt8(ascii: "."))
                {
                    // A collating symbol as the range's upper end: `[a-[.c.]]`.
                    if close - (i + 1) == 1 { high = pattern[i + 1] } else { invalid = true }
                    i = close + 2
                }
                if low <= byte, byte <= high { matched = true }
            } else if low == byte {
                matched = true
            }
        }
        return .literal
    }

    /// The index of the `delimiter` of the `:]`, `.]` or `=]` that closes a name starting at
    /// `from`, if any.
    static func delimitedEnd(_ pattern: [UInt8], from: Int, delimiter: UInt8) -> Int? {
        var j = from
        while j + 1 < pattern.count {
            if pattern[j] == delimiter, pattern[j + 1] == UInt8(ascii: "]") { return j }
            if pattern[j] == UInt8(ascii: "]") { return nil }
            j += 1
        }
        return nil
    }

    /// The ASCII ("C" locale) meaning of a POSIX character class name.
    static func characterClass(_ name: ArraySlice<UInt8>) -> ((UInt8) -> Bool)? {
        func isUpper(_ b: UInt8) -> Bool { b >= 0x41 && b <= 0x5A }
        func isLower(_ b: UInt8) -> Bool { b >= 0x61 && b <= 0x7A }
        func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
        func isAlpha(_ b: UInt8) -> Bool { isUpper(b) || isLower(b) }
        func isGraph(_ b: UInt8) -> Bool { b > 0x20 && b < 0x7F }
        switch String(decoding: name, as: UTF8.self) {
        case "alpha": return isAlpha
        case "digit": return isDigit
        case "alnum": return { isAlpha($0) || isDigit($0) }
        case "upper": return isUpper
        case "lower": return isLower
        case "xdigit": return { isDigit($0) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x66) }
        case "space": return { $0 == 0x20 || ($0 >= 0x09 && $0 <= 0x0D) }
        case "blank": return { $0 == 0x20 || $0 == 0x09 }
        case "punct": return { isGraph($0) && !isAlpha($0) && !isDigit($0) }
        case "graph": return isGraph
        case "print": return { $0 >= 0x20 && $0 < 0x7F }
        case "cntrl": return { $0 < 0x20 || $0 == 0x7F }
        default: return nil
        }
    }
}
