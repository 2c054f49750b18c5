// The harness half of this file is also the libFuzzer target Fuzz/ManifestParse.swift: scripts/fuzz
// compiles it with -D IMPRINT_FUZZ in one module with Sources/ImprintCore and the agent's
// Sources/ImprintAgent/Logic/Manifests.swift, leaving out the imports and the tests. One copy of
// the harness, so the replay runs exactly what the fuzzer ran.
#if !IMPRINT_FUZZ
import Foundation
import ImprintTestSupport
import Testing

@testable import ImprintAgent
@testable import ImprintCore
#endif

/// What the manifest fuzz target runs on each input: the JSON parser, then every manifest parser
/// on the same text (each is a JSON document, so one corpus feeds them all): the store's
/// `DeviceAssignment`, `DeviceIdentity`, `ImageDescriptor` and `StatusReport`, an inventory or
/// lspci listing (`HardwareListing`), the agent's `profile.json` and `identity.json`, and the
/// UTC times and base64 they hold. None may trap; each value that parses must serialize to text
/// that parses to the same value.
enum ManifestFuzz {
    static func run(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        json(text)
        if let assignment = try? DeviceAssignment.parse(text) {
            let again = try? DeviceAssignment.parse(assignment.serialized)
            precondition(again == assignment, "an assignment changed through serialized: \(assignment.serialized)")
            if let expires = assignment.expires { time(expires) }
            if let layout = assignment.layout { self.layout(layout) }
            for file in assignment.files { _ = assignment.layout?.route(file.path) }
        }
        if let identity = try? DeviceIdentity.parse(text) {
            precondition((try? DeviceIdentity.parse(identity.serialized)) == identity, "an identity changed through serialized")
            // The per-device initrd carries it as a cpio.
            let entries = try? Cpio.read(identity.cpio)
            precondition(entries?.last?.data == Array(identity.serialized.utf8), "the identity cpio does not hold the identity")
        }
        if let image = try? ImageDescriptor.parse(text) {
            precondition((try? ImageDescriptor.parse(image.serialized)) == image, "an image descriptor changed through serialized")
        }
        if let report = try? StatusReport.parse(text) {
            precondition((try? StatusReport.parse(report.json.serialized())) == report, "a status report changed through its JSON")
            _ = report.updatedEpochSeconds
        }
        if let listing = try? HardwareListing.parse(text) {
            _ = listing.controllers
            precondition((try? HardwareListing.parse(text)) == listing, "a listing parsed twice differs")
        }
        if let profile = try? Profile.parse(text) {
            precondition(!profile.profile.isEmpty, "a profile without a name")
        }
        if let identity = try? Identity.parse(text) {
            precondition(normalizedMAC(identity.mac) == identity.mac, "an identity's MAC is not normalised")
        }
        // The fields the manifests read as UTC times and base64 (file contents, signatures, keys).
        time(text)
        if let decoded = Base64.decode(text) {
            precondition(Base64.decode(Base64.encode(decoded)) == decoded, "base64 does not round-trip")
        }
        _ = normalizedMAC(text)
        if let partition = try? DiskLayout.partition(spec: text), let layout = try? DiskLayout([partition]) { self.layout(layout) }
        _ = try? MACAddress(parsing: text)
    }

    /// What the agent does with an assignment's layout before it writes a partition table.
    static func layout(_ layout: DiskLayout) {
        _ = (layout.rootNumber, layout.mountPointsInRoot, layout.json.serialized())
        let minimum = layout.minimumDiskBytes
        precondition(minimum > 0, "a layout that needs no disk")
        for size in [minimum, minimum + (1 << 20) + 4096, 1 << 40] {
            _ = try? layout.gpt(diskSize: size) { GUID(bytes: [UInt8](repeating: UInt8(truncatingIfNeeded: $0), count: 16)) ?? .linuxFilesystem }
        }
    }

    static func json(_ text: String) {
        guard let value = try? JSONValue.parse(text) else { return }
        for pretty in [false, true] {
            let written = value.serialized(pretty: pretty)
            guard let again = try? JSONValue.parse(written) else { preconditionFailure("serialized JSON does not parse: \(written)") }
            precondition(again == value, "JSON changed through serialized(pretty: \(pretty)): \(written)")
            precondition(again.serialized(pretty: pretty) == written, "serializing is not stable")
        }
    }

    static func time(_ text: String) {
        guard let seconds = UTCTime.parse(text) else { return }
        precondition(seconds.isFinite, "a time that is not a number")
        let whole = Int(seconds.rounded(.down))
        if abs(whole) < 1 << 40, let back = UTCTime.parse(UTCTime.format(epochSeconds: whole)) {
            precondition(back == Double(whole), "format and parse disagree on \(whole)")
        }
    }
}

#if !IMPRINT_FUZZ
/// Replays the committed libFuzzer corpus (`Fuzz/corpus/ManifestParse/`) through what the fuzz
/// target runs, so every input the fuzzer ever kept stays a regression test in `make test`
/// (DESIGN section 10).
@Suite("manifest fuzz corpus")
struct ManifestFuzzCorpusTests {
    @Test func everyCorpusInputRunsWithoutTrapping() throws {
        let seeds = try FuzzCorpus.seeds("ManifestParse")
        #expect(seeds.count >= 12, "the corpus lost its seeds")
        var reached: Set<String> = []
        for seed in seeds {
            ManifestFuzz.run(seed.bytes)
            let text = String(decoding: seed.bytes, as: UTF8.self)
            if (try? DeviceAssignment.parse(text)) != nil { reached.insert("assignment") }
            if (try? DeviceIdentity.parse(text)) != nil { reached.insert("identity") }
            if (try? ImageDescriptor.parse(text)) != nil { reached.insert("image") }
            if (try? StatusReport.parse(text)) != nil { reached.insert("status") }
            if (try? HardwareListing.parse(text)) != nil { reached.insert("listing") }
            if (try? Profile.parse(text)) != nil { reached.insert("profile") }
            if (try? Identity.parse(text)) != nil { reached.insert("agent identity") }
        }
        #expect(reached.count == 7, "the corpus reaches every manifest parser (only \(reached.sorted()))")
    }

    @Test func everyPrefixNeverTraps() throws {
        for seed in try FuzzCorpus.seeds("ManifestParse") {
            for end in stride(from: 0, to: seed.bytes.count, by: max(1, seed.bytes.count / 97)) {
                ManifestFuzz.run(Array(seed.bytes[0..<end]))
            }
        }
    }
}
#endif
