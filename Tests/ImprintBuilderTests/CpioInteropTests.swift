import Foundation
import ImprintCore
import Testing
@testable import ImprintBuilder

/// ImprintCore's own newc writer (used for small per-device archives) read back by libarchive, and
/// libarchive's newc output read back by ImprintCore.
@Suite struct CpioInteropTests {
    @Test func coreWriterReadByLibarchive() throws {
        let entries: [CpioEntry] = [
            .directory("etc"), .directory("etc/imprint"),
            .file("etc/imprint/identity.json", mode: 0o600, data: Array("{\"version\":1}\n".utf8)),
            .symlink("init", target: "usr/bin/imprint-agent"),
            .characterDevice("dev/console", major: 5, minor: 1, mode: 0o600),
        ]
        let bytes = Cpio.write(entries)
        #expect(bytes.count % 4 == 0)
        let reader = try ArchiveReader(bytes: bytes, label: "core.cpio", formats: .cpio)
        var seen: [String] = []
        var identity: [UInt8] = []
        var link: String?
        while let entry = try reader.next() {
            seen.append(entry.path)
            if entry.path == "etc/imprint/identity.json" {
                #expect(entry.mode == 0o600)
                identity = try reader.readData()
            }
            if entry.path == "init" { link = entry.symlink }
        }
        #expect(seen == entries.map(\.name))
        #expect(identity == Array("{\"version\":1}\n".utf8))
        #expect(link == "usr/bin/imprint-agent")
    }

    @Test func libarchiveWriterReadByCore() throws {
        let work = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let path = "\(work)/x.cpio.zst"
        _ = try CpioArchiveWriter.write([
            InitrdEntry(path: "b", mode: 0o755, content: .bytes([1, 2, 3])),
            InitrdEntry(path: "a", mode: 0o755, content: .directory),
        ], to: path, zstdLevel: 3) { _ in [] }
        // Decompress with the zstd tool, then parse with Core.
        let out = try run("zstd", ["-dc", path])
        #expect(out.status == 0)
        let entries = try Cpio.read(Array(out.stdout.utf8))
        #expect(entries.map(\.name) == ["a", "b"], "sorted by path")
        #expect(entries.last?.data == [1, 2, 3])
        #expect(entries.allSatisfy { $0.mtime == 0 && $0.uid == 0 && $0.gid == 0 })
        #expect(entries.map(\.ino) == [1, 2])
    }
}
