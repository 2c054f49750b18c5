import Foundation
import Testing

@testable import ImprintCore

@Suite("Cpio")
struct CpioTests {
    /// `Cpio.write([.file("hello", data: "hi\n")])`, field by field.
    static let oneFile: [UInt8] =
        Array(
            ("070701"  // c_magic: newc
                + "00000001"  // c_ino: 1, assigned
                + "000081A4"  // c_mode: 0o100644, regular file rw-r--r--
                + "00000000"  // c_uid
                + "00000000"  // c_gid
                + "00000001"  // c_nlink
                + "00000000"  // c_mtime: 1970, reproducible
                + "00000003"  // c_filesize: "hi\n"
                + "00000000"  // c_devmajor
                + "00000000"  // c_devminor
                + "00000000"  // c_rdevmajor
                + "00000000"  // c_rdevminor
                + "00000006"  // c_namesize: "hello" + NUL
                + "00000000"  // c_check: always 0 in newc
                + "hello\0"  // name; 110 + 6 = 116 is already a multiple of 4
                + "hi\n\0"  // data, padded to 120
                + "070701"  // trailer header
                + "00000000"  // c_ino
                + "00000000"  // c_mode
                + "00000000"  // c_uid
                + "00000000"  // c_gid
                + "00000001"  // c_nlink
                + "00000000"  // c_mtime
                + "00000000"  // c_filesize
                + "00000000"  // c_devmajor
                + "00000000"  // c_devminor
                + "00000000"  // c_rdevmajor
                + "00000000"  // c_rdevminor
                + "0000000B"  // c_namesize: "TRAILER!!!" + NUL
                + "00000000"  // c_check
                + "TRAILER!!!\0"  // 230 + 11 = 241
                + "\0\0\0").utf8)  // padding to 244

    @Test func oneFileVector() throws {
        #expect(Cpio.write([.file("hello", data: Array("hi\n".utf8))]) == Self.oneFile)
        #expect(Self.oneFile.count == 244)
        let entries = try Cpio.read(Self.oneFile)
        #expect(entries == [CpioEntry(name: "hello", mode: 0o100644, ino: 1, data: Array("hi\n".utf8))])
    }

    static let sample: [CpioEntry] = [
        .directory("etc"),
        .directory("etc/imprint", mode: 0o700),
        .file("etc/imprint/identity.json", mode: 0o600, data: Array(#"{"version":1}"#.utf8)),
        .file("empty", data: []),
        .symlink("init", target: "bin/imprint-agent"),
        .characterDevice("dev/console", major: 5, minor: 1, mode: 0o600),
        CpioEntry(
            name: "odd", mode: 0o100755, uid: 1000, gid: 1001, nlink: 1, mtime: 1_700_000_000, ino: 77,
            devMajor: 8, devMinor: 1, data: Array(0...255)),
    ]

    @Test func helpersSetTypeBits() {
        #expect(CpioEntry.file("f", data: []).mode == 0o100644)
        #expect(CpioEntry.directory("d").mode == 0o040755)
        #expect(CpioEntry.directory("d").nlink == 2)
        #expect(CpioEntry.symlink("l", target: "t").mode == 0o120777)
        #expect(CpioEntry.symlink("l", target: "t").data == Array("t".utf8))
        let console = CpioEntry.characterDevice("dev/console", major: 5, minor: 1, mode: 0o600)
        #expect(console.mode == 0o020600)
        #expect((console.rdevMajor, console.rdevMinor) == (5, 1))
    }

    @Test func roundTrip() throws {
        let bytes = Cpio.write(Self.sample)
        let read = try Cpio.read(bytes)
        #expect(read.map(\.name) == Self.sample.map(\.name))
        // Inodes 1... go to the entries that had none, skipping the 77 one entry asked for.
        #expect(read.map(\.ino) == [1, 2, 3, 4, 5, 6, 77])
        var numbered = Self.sample
        for index in numbered.indices where numbered[index].ino == 0 { numbered[index].ino = UInt32(index + 1) }
        #expect(read == numbered)
        #expect(Cpio.write(read) == bytes)  // reading and writing again changes nothing
    }

    @Test func inodeNumberingSkipsTakenNumbers() throws {
        let entries = [CpioEntry.file("a", data: []), CpioEntry(name: "b", mode: 0o100644, ino: 2), .file("c", data: [])]
        #expect(try Cpio.read(Cpio.write(entries)).map(\.ino) == [1, 2, 3])
    }

    @Test func sameEntriesSameBytes() {
        #expect(Cpio.write(Self.sample) == Cpio.write(Self.sample))
        #expect(Cpio.write(Self.sample).count % 4 == 0)
    }

    @Test(arguments: [1, 4, 512, 4096])
    func padding(_ unit: Int) throws {
        let bytes = Cpio.write(Self.sample, padTo: unit)
        #expect(bytes.count % unit == 0)
        #expect(bytes.count - Cpio.write(Self.sample, padTo: 4).count < max(unit, 4))
        #expect(try Cpio.read(bytes).count == Self.sample.count)
    }

    @Test func emptyArchiveIsJustTheTrailer() throws {
        let bytes = Cpio.write([])
        #expect(bytes.count == 124)
        #expect(try Cpio.read(bytes) == [])
    }

    @Test func everyTruncationThrows() {
        let bytes = Cpio.write(Self.sample)
        var accepted: [Int] = []
        for length in 0..<bytes.count {
            do {
                _ = try Cpio.read(Array(bytes[0..<length]))
                accepted.append(length)
            } catch {
                // Expected.
            }
        }
        #expect(accepted == [])
    }

    struct Bad: Sendable, CustomTestStringConvertible {
        var label: String
        var bytes: [UInt8]
        var error: CpioError
        var testDescription: String { label }
    }

    static var badArchives: [Bad] {
        let good = oneFile
        func replacing(_ offset: Int, _ text: String) -> [UInt8] {
            var bytes = good
            bytes.replaceSubrange(offset..<(offset + text.utf8.count), with: Array(text.utf8))
            return bytes
        }
        func setting(_ offset: Int, _ byte: UInt8) -> [UInt8] {
            var bytes = good
            bytes[offset] = byte
            return bytes
        }
        return [
            Bad(label: "empty", bytes: [], error: .missingTrailer(offset: 0)),
            Bad(label: "old binary cpio", bytes: [0xC7, 0x71] + good, error: .badMagic(offset: 0)),
            Bad(label: "crc newc", bytes: replacing(0, "070702"), error: .badMagic(offset: 0)),
            Bad(label: "short garbage", bytes: Array("0707".utf8) + [0x41], error: .badMagic(offset: 0)),
            Bad(label: "short header", bytes: Array(good[0..<50]), error: .truncatedHeader(offset: 0)),
            Bad(label: "non-hex filesize", bytes: replacing(6 + 6 * 8, "0000000G"), error: .invalidHexDigit(offset: 54, field: "filesize")),
            Bad(label: "space in mode", bytes: replacing(6 + 8, " 00081A4"), error: .invalidHexDigit(offset: 14, field: "mode")),
            Bad(label: "namesize 0", bytes: replacing(6 + 11 * 8, "00000000"), error: .emptyName(offset: 0)),
            Bad(label: "name without NUL", bytes: replacing(6 + 11 * 8, "00000005"), error: .nameNotTerminated(offset: 114)),
            Bad(label: "huge name", bytes: replacing(6 + 11 * 8, "7FFFFFFF"), error: .truncatedName(offset: 110)),
            Bad(label: "huge data", bytes: replacing(6 + 6 * 8, "FFFFFFFF"), error: .truncatedData(offset: 116, name: "hello")),
            Bad(label: "bad UTF-8 name", bytes: setting(110, 0xFF), error: .invalidName(offset: 110)),
            Bad(label: "garbage after trailer", bytes: good + [0, 0, 0, 0, 0x37], error: .trailingGarbage(offset: 248)),
            Bad(label: "second archive after trailer", bytes: good + good, error: .trailingGarbage(offset: 244)),
            Bad(label: "no trailer", bytes: Array(good[0..<120]), error: .missingTrailer(offset: 120)),
        ]
    }

    @Test(arguments: badArchives)
    func rejects(_ bad: Bad) {
        #expect(throws: bad.error) { try Cpio.read(bad.bytes) }
    }

    @Test func lowercaseHexIsRead() throws {
        let lower = Array(String(decoding: Self.oneFile, as: UTF8.self).replacingOccurrences(of: "81A4", with: "81a4").utf8)
        #expect(try Cpio.read(lower).first?.mode == 0o100644)
    }

    @Test func errorText() {
        #expect(CpioError.badMagic(offset: 12).description == "cpio: no newc magic 070701 at offset 12")
    }

    // MARK: GNU cpio

    static func run(_ arguments: [String], stdin: URL) throws -> (status: Int32, output: Data) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.standardInput = try FileHandle(forReadingFrom: stdin)
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }

    static func temporaryFile(_ bytes: [UInt8]) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("imprint-cpio-\(UUID().uuidString).cpio")
        try Data(bytes).write(to: url)
        return url
    }

    @Test func gnuCpioListsOurArchive() throws {
        let url = try Self.temporaryFile(Cpio.write(Self.sample, padTo: 512))
        defer { try? FileManager.default.removeItem(at: url) }
        let listing = try Self.run(["cpio", "-t"], stdin: url)
        #expect(listing.status == 0)
        let names = String(decoding: listing.output, as: UTF8.self).split(separator: "\n").map(String.init)
        #expect(names == Self.sample.map(\.name))

        let content = try Self.run(["cpio", "-i", "--to-stdout", "etc/imprint/identity.json"], stdin: url)
        #expect(content.status == 0)
        #expect(String(decoding: content.output, as: UTF8.self) == #"{"version":1}"#)
    }

    @Test func readsGnuCpioArchive() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("imprint-cpio-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("sub"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data("alpha\n".utf8).write(to: directory.appendingPathComponent("sub/a.txt"))
        try FileManager.default.createSymbolicLink(atPath: directory.appendingPathComponent("link").path, withDestinationPath: "sub/a.txt")
        let list = directory.appendingPathComponent("list")
        try Data("sub\nsub/a.txt\nlink\n".utf8).write(to: list)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["cpio", "-o", "-H", "newc", "--quiet"]
        process.currentDirectoryURL = directory
        process.standardInput = try FileHandle(forReadingFrom: list)
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let archive = [UInt8](pipe.fileHandleForReading.readDataToEndOfFile())
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)

        let entries = try Cpio.read(archive)  // GNU cpio pads to 512 with zeros
        #expect(entries.map(\.name) == ["sub", "sub/a.txt", "link"])
        #expect(entries[0].mode & CpioEntry.FileType.mask == CpioEntry.FileType.directory)
        #expect(entries[1].data == Array("alpha\n".utf8))
        #expect(entries[2].mode & CpioEntry.FileType.mask == CpioEntry.FileType.symlink)
        #expect(entries[2].data == Array("sub/a.txt".utf8))
    }
}
