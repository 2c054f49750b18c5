import Foundation
import Testing

@testable import ImprintCore

@Suite("JSON")
struct JSONTests {
    static let assignment = """
        {
          "version": 1,
          "mac": "52-54-00-12-34-56",
          "mode": "deploy",
          "image": {
            "name": "debian-12",
            "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
          },
          "files": [
            {
              "path": "/etc/motd",
              "mode": 420,
              "content": "hello\\nworld \\"quoted\\" \\u00e9 \\ud83d\\ude00"
            }
          ],
          "after": "reboot",
          "dmiUuid": null,
          "expires": 1.7e9,
          "verify": true
        }
        """

    @Test func parsesAManifest() throws {
        let value = try JSONValue.parse(Self.assignment)
        #expect(value["version"]?.intValue == 1)
        #expect(value["mac"]?.stringValue == "52-54-00-12-34-56")
        #expect(value["image"]?["name"]?.stringValue == "debian-12")
        #expect(value["files"]?[0]?["mode"]?.intValue == 0o644)
        #expect(value["files"]?[0]?["content"]?.stringValue == "hello\nworld \"quoted\" é 😀")
        #expect(value["dmiUuid"]?.isNull == true)
        #expect(value["expires"]?.intValue == 1_700_000_000)
        #expect(value["verify"]?.boolValue == true)
        #expect(value["missing"] == nil)
        #expect(value["files"]?[1] == nil)
        #expect(value.objectValue?.keys == ["version", "mac", "mode", "image", "files", "after", "dmiUuid", "expires", "verify"])
    }

    @Test func prettyOutputIsStableAndReadsBack() throws {
        let value = try JSONValue.parse(Self.assignment)
        let pretty = value.serialized(pretty: true)
        #expect(pretty == """
            {
              "version": 1,
              "mac": "52-54-00-12-34-56",
              "mode": "deploy",
              "image": {
                "name": "debian-12",
                "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
              },
              "files": [
                {
                  "path": "/etc/motd",
                  "mode": 420,
                  "content": "hello\\nworld \\"quoted\\" é 😀"
                }
              ],
              "after": "reboot",
              "dmiUuid": null,
              "expires": 1700000000,
              "verify": true
            }
            """)
        #expect(try JSONValue.parse(pretty) == value)
        #expect(try JSONValue.parse(value.serialized()) == value)
    }

    @Test func compactOutput() {
        let value: JSONValue = ["b": 1, "a": [true, false, .null, "x", 2.5, [:], []], "c": ["nested": -3]]
        #expect(value.serialized() == #"{"b":1,"a":[true,false,null,"x",2.5,{},[]],"c":{"nested":-3}}"#)
    }

    static let scalars: [(JSONValue, String)] = [
        (.number(3), "3"),
        (.number(-0.0), "0"),
        (.number(1e20), "1e+20"),
        (.number(0.1), "0.1"),
        (.number(1.5e-7), "1.5e-07"),
        (.number(Double(9_007_199_254_740_992) + 1), "9007199254740992"),  // 2^53 + 1 rounds to 2^53
        (.number(.infinity), "null"),
        (.number(.nan), "null"),
        (.string("tab\there\u{01}\u{1F}/\\"), #""tab\there\u0001\u001F/\\""#),
        (.string("\u{08}\u{0C}\r"), #""\b\f\r""#),
        (.string("é 😀 \u{2028}"), "\"é 😀 \u{2028}\""),
    ]

    @Test(arguments: scalars)
    func serializesScalars(_ value: JSONValue, _ text: String) {
        #expect(value.serialized() == text)
    }

    static let vectors: [(String, JSONValue)] = [
        ("0", .number(0)),
        ("-0", .number(-0.0)),
        ("1E3", .number(1000)),
        ("1e-2", .number(0.01)),
        ("-12.5e+1", .number(-125)),
        ("1e-400", .number(0)),  // underflow rounds to zero, as every parser does
        (" \t\r\n true \n", .bool(true)),
        (#""\/\"\\\b\f\n\r\t\u0041\u00E9\uD834\uDD1E""#, .string("/\"\\\u{08}\u{0C}\n\r\tAé𝄞")),
        (#""\u0000""#, .string("\u{0}")),
        ("[]", .array([])),
        ("{}", .object(JSONObject())),
        (#"{"a":{"b":[1,{"c":null}]}}"#, ["a": ["b": [1, ["c": .null]]]]),
    ]

    @Test(arguments: vectors)
    func parsesVectors(_ text: String, _ value: JSONValue) throws {
        #expect(try JSONValue.parse(text) == value)
    }

    @Test func intValueIsExactOnly() throws {
        #expect(JSONValue.number(2.0).intValue == 2)
        #expect(JSONValue.number(2.5).intValue == nil)
        #expect(JSONValue.number(1e300).intValue == nil)
        #expect(JSONValue.string("2").intValue == nil)
        #expect(try JSONValue.parse("-9007199254740992").intValue == -9_007_199_254_740_992)
    }

    @Test func accessorsOnTheWrongKind() {
        let value: JSONValue = "text"
        #expect(value.intValue == nil && value.boolValue == nil && value.arrayValue == nil)
        #expect(value.objectValue == nil && value.doubleValue == nil && value["key"] == nil && value[0] == nil)
        #expect(value.stringValue == "text")
    }

    @Test func objectKeepsInsertionOrder() {
        var object = JSONObject()
        object["z"] = 1
        object["a"] = 2
        object["m"] = 3
        object["a"] = 4  // replaced in place
        #expect(object.keys == ["z", "a", "m"])
        #expect(object["a"] == 4)
        object["z"] = nil
        #expect(object.keys == ["a", "m"])
        #expect(object["m"] == 3)  // the index survives a removal
        #expect(object.map(\.key) == ["a", "m"])
        #expect(JSONValue.object(object).serialized() == #"{"a":4,"m":3}"#)
    }

    @Test func objectEqualityIgnoresOrder() {
        let one: JSONObject = ["a": 1, "b": 2]
        let other: JSONObject = ["b": 2, "a": 1]
        #expect(one == other)
        #expect(one != ["a": 1, "b": 3])
        #expect(one != ["a": 1])
        #expect(one != ["a": 1, "c": 2])
    }

    struct Malformed: Sendable, CustomTestStringConvertible {
        var text: String
        var reason: JSONError.Reason
        var line: Int
        var column: Int
        var testDescription: String { text.debugDescription }
    }

    static let malformed: [Malformed] = [
        Malformed(text: "", reason: .unexpectedEnd, line: 1, column: 1),
        Malformed(text: "   ", reason: .unexpectedEnd, line: 1, column: 4),
        Malformed(text: "{", reason: .unexpectedEnd, line: 1, column: 2),
        Malformed(text: "[1,", reason: .unexpectedEnd, line: 1, column: 4),
        Malformed(text: "[1 2]", reason: .unexpectedCharacter("2", expected: "',' or ']'"), line: 1, column: 4),
        Malformed(text: "[1,]", reason: .unexpectedCharacter("]", expected: "a value"), line: 1, column: 4),
        Malformed(text: "{\"a\":1,}", reason: .unexpectedCharacter("}", expected: "a string key"), line: 1, column: 8),
        Malformed(text: "{a:1}", reason: .unexpectedCharacter("a", expected: "a string key"), line: 1, column: 2),
        Malformed(text: "{\"a\" 1}", reason: .unexpectedCharacter("1", expected: "':' after the key"), line: 1, column: 6),
        Malformed(text: "{\"a\":1}x", reason: .unexpectedCharacter("x", expected: "end of text after the value"), line: 1, column: 8),
        Malformed(text: "{\n  \"a\": 1,\n  \"a\": 2\n}", reason: .duplicateKey("a"), line: 3, column: 3),
        Malformed(text: "tru", reason: .unexpectedEnd, line: 1, column: 4),
        Malformed(text: "nul1", reason: .unexpectedCharacter("1", expected: "'null'"), line: 1, column: 4),
        Malformed(text: "True", reason: .unexpectedCharacter("T", expected: "a value"), line: 1, column: 1),
        Malformed(text: "01", reason: .invalidNumber, line: 1, column: 1),
        Malformed(text: "[-]", reason: .invalidNumber, line: 1, column: 2),
        Malformed(text: "1.", reason: .invalidNumber, line: 1, column: 1),
        Malformed(text: ".5", reason: .unexpectedCharacter(".", expected: "a value"), line: 1, column: 1),
        Malformed(text: "+1", reason: .unexpectedCharacter("+", expected: "a value"), line: 1, column: 1),
        Malformed(text: "1e", reason: .invalidNumber, line: 1, column: 1),
        Malformed(text: "1e400", reason: .numberOutOfRange, line: 1, column: 1),
        Malformed(text: "NaN", reason: .unexpectedCharacter("N", expected: "a value"), line: 1, column: 1),
        Malformed(text: "\"abc", reason: .unexpectedEnd, line: 1, column: 5),
        Malformed(text: "\"a\tb\"", reason: .controlCharacterInString(0x09), line: 1, column: 3),
        Malformed(text: "\"é\nx\"", reason: .controlCharacterInString(0x0A), line: 1, column: 3),
        Malformed(text: #""\x""#, reason: .invalidEscape("x"), line: 1, column: 2),
        Malformed(text: #""\u12G4""#, reason: .invalidUnicodeEscape, line: 1, column: 6),
        Malformed(text: #""\uD800""#, reason: .unpairedSurrogate, line: 1, column: 2),
        Malformed(text: #""\uD800\u0041""#, reason: .unpairedSurrogate, line: 1, column: 2),
        Malformed(text: #""\uDC00""#, reason: .unpairedSurrogate, line: 1, column: 2),
        Malformed(text: "// comment\n1", reason: .unexpectedCharacter("/", expected: "a value"), line: 1, column: 1),
        Malformed(text: "\u{FEFF}{}", reason: .unexpectedCharacter("\u{FEFF}", expected: "a value"), line: 1, column: 1),
        Malformed(text: "[\"é\", é]", reason: .unexpectedCharacter("é", expected: "a value"), line: 1, column: 7),
    ]

    @Test(arguments: malformed)
    func rejects(_ bad: Malformed) {
        do {
            let value = try JSONValue.parse(bad.text)
            Issue.record("parsed \(bad.text.debugDescription) as \(value)")
        } catch {
            #expect(error.reason == bad.reason)
            #expect((error.line, error.column) == (bad.line, bad.column))
        }
    }

    @Test func nestingLimit() throws {
        let ok = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(try JSONValue.parse(ok).arrayValue != nil)
        let objects = String(repeating: #"{"a":"#, count: 64) + "1" + String(repeating: "}", count: 64)
        #expect(try JSONValue.parse(objects)["a"] != nil)

        let tooDeep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(throws: JSONError(reason: .tooDeep(limit: 64), line: 1, column: 65, offset: 64)) {
            try JSONValue.parse(tooDeep)
        }
        // A hostile megabyte of brackets is refused at the limit, not by exhausting the stack.
        #expect(throws: JSONError.self) { try JSONValue.parse(String(repeating: "[", count: 1_000_000)) }
    }

    @Test func errorDescription() {
        let error = JSONError(reason: .duplicateKey("mac"), line: 3, column: 5, offset: 20)
        #expect(error.description == #"JSON line 3, column 5: duplicate key "mac""#)
        let control = JSONError(reason: .unexpectedCharacter("\u{1}", expected: "a value"), line: 1, column: 1, offset: 0)
        #expect(control.description == "JSON line 1, column 1: unexpected control character U+1; expected a value")
    }

    /// Agrees with Foundation's JSONSerialization on what it accepts and what it reads.
    @Test func agreesWithFoundationOnValidDocuments() throws {
        let documents = [Self.assignment, #"[1, -2.5, "x", {"k": [true, null]}]"#, #"{"u": "\u00e9\ud83d\ude00"}"#]
        for text in documents {
            let ours = try JSONValue.parse(text)
            let theirs = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
            let back = try JSONSerialization.jsonObject(with: Data(ours.serialized().utf8), options: [.fragmentsAllowed])
            #expect((theirs as? NSObject) == (back as? NSObject))
        }
    }

    /// Random mutations of a manifest: every result parses or throws a JSONError, never traps.
    @Test func mutatedInputNeverTraps() {
        var rng = SplitMix64(seed: 99)
        let seed = Array(Self.assignment.utf8)
        let alphabet = Array(#"{}[]",:\u0123456789eE+-.tfnl "#.utf8)
        var outcomes = (parsed: 0, rejected: 0)
        for _ in 0..<5_000 {
            var bytes = seed
            for _ in 0..<Int(1 + rng.next() % 3) {
                let at = Int(rng.next() % UInt64(bytes.count))
                switch rng.next() % 3 {
                case 0: bytes[at] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
                case 1: bytes.remove(at: at)
                default: bytes.insert(alphabet[Int(rng.next() % UInt64(alphabet.count))], at: at)
                }
            }
            do {
                let value = try JSONValue.parse(String(decoding: bytes, as: UTF8.self))
                #expect(try JSONValue.parse(value.serialized()) == value)
                outcomes.parsed += 1
            } catch {
                outcomes.rejected += 1
            }
        }
        #expect(outcomes.parsed > 0 && outcomes.rejected > 0)
    }
}
