// The harness half of this file is also the libFuzzer target Fuzz/HTTPRange.swift: scripts/fuzz
// compiles it with -D IMPRINT_FUZZ beside Sources/ImprintServer/HTTP/HTTPStorePath.swift (which
// needs nothing else), leaving out the imports and the tests. One copy of the harness, so the
// replay runs exactly what the fuzzer ran.
#if !IMPRINT_FUZZ
import Foundation
import ImprintTestSupport
import Testing

@testable import ImprintServer
#endif

/// What the HTTP fuzz target runs on each input: the `Range` header (`HTTPByteRange`) against file
/// sizes from empty to huge, and the request target (`HTTPStorePath.segments`), the two things the
/// store server reads from a request before it touches a file. The input's first line is the
/// `Range` value and the rest the target. A served range must lie inside the file, whatever the header.
enum HTTPRangeFuzz {
    static let sizes = [0, 1, 2, 3, 100, 4096, 1 << 20, Int(Int32.max), Int.max - 1, Int.max]

    static func run(_ bytes: [UInt8]) {
        let newline = bytes.firstIndex(of: UInt8(ascii: "\n")) ?? bytes.endIndex
        let header = String(decoding: bytes[..<newline], as: UTF8.self)
        let target = String(decoding: bytes[min(newline + 1, bytes.endIndex)...], as: UTF8.self)
        for size in sizes { checkRange(header, size: size) }
        checkRange(nil, size: 0)
        checkTarget(target)
        checkTarget(header)
    }

    static func checkRange(_ header: String?, size: Int) {
        let range = HTTPByteRange(header: header, size: size)
        switch range {
        case let .part(first, last):
            precondition(first >= 0 && first <= last && last < size, "bytes \(first)-\(last) of a \(size)-byte file for \(String(describing: header))")
            // The response's Content-Length.
            precondition(last - first + 1 <= size, "longer than the file")
        case .unsatisfiable:
            precondition(header != nil, "416 without a Range header")
        case .whole:
            break
        }
        // The unit is case-insensitive and the header's own spaces and tabs do not matter.
        if let header, let equals = header.firstIndex(of: "=") {
            let upper = header[..<equals].uppercased() + header[equals...]
            precondition(HTTPByteRange(header: upper, size: size) == range, "the unit's case changed the answer")
            precondition(HTTPByteRange(header: " \t" + header + "\t ", size: size) == range, "spaces around the header changed the answer")
        }
    }

    static func checkTarget(_ target: String) {
        guard let segments = try? HTTPStorePath.segments(target) else { return }
        precondition(!segments.isEmpty, "no segments")
        for segment in segments {
            precondition(!segment.isEmpty && segment != "." && segment != ".." && !segment.hasPrefix("."), "a dot or empty segment got through: \(segments)")
            precondition(!segment.utf8.contains(0) && !segment.utf8.contains(UInt8(ascii: "\\")) && !segment.utf8.contains(UInt8(ascii: "/")),
                         "a NUL, backslash or slash got through: \(segments)")
        }
        precondition(!HTTPStorePath.privateFolders.contains(segments[0]), "a private folder got through")
        // The segments, joined and percent-encoded again, name the same file.
        let encoded = "/" + segments.map { segment in
            segment.utf8.map { byte in
                byte < 0x80 && (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z") || byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                    ? String(UnicodeScalar(byte)) : (byte < 0x10 ? "%0" : "%") + String(byte, radix: 16)
            }.joined()
        }.joined(separator: "/")
        precondition((try? HTTPStorePath.segments(encoded)) == segments, "re-encoding changed the path: \(segments)")
    }
}

#if !IMPRINT_FUZZ
/// Replays the committed libFuzzer corpus (`Fuzz/corpus/HTTPRange/`) through what the fuzz target
/// runs, so every input the fuzzer ever kept stays a regression test in `make test` (DESIGN section 10).
@Suite("HTTP Range fuzz corpus")
struct HTTPRangeFuzzCorpusTests {
    @Test func everyCorpusInputRunsWithoutTrapping() throws {
        let seeds = try FuzzCorpus.seeds("HTTPRange")
        #expect(seeds.count >= 12, "the corpus lost its seeds")
        var parts = 0
        var paths = 0
        for seed in seeds {
            HTTPRangeFuzz.run(seed.bytes)
            let lines = String(decoding: seed.bytes, as: UTF8.self).split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
            if case .part = HTTPByteRange(header: String(lines[0]), size: 4096) { parts += 1 }
            if lines.count > 1, (try? HTTPStorePath.segments(String(lines[1]))) != nil { paths += 1 }
        }
        #expect(parts > 0 && parts < seeds.count && paths > 0, "the corpus holds ranges served, refused and ignored, and paths")
    }

    @Test func everyPrefixNeverTraps() throws {
        for seed in try FuzzCorpus.seeds("HTTPRange") {
            for end in 0...seed.bytes.count { HTTPRangeFuzz.run(Array(seed.bytes[0..<end])) }
        }
    }
}
#endif
