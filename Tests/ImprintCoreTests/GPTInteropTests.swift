import Foundation
import Testing

@testable import ImprintCore

/// util-linux's sfdisk reads what the writer writes, and the parser reads what sfdisk writes.
@Suite("GPT interop with sfdisk")
struct GPTInteropTests {
    static let script = """
        label: gpt
        label-id: 01234567-89AB-CDEF-0123-456789ABCDEF
        unit: sectors
        start=2048, size=4096, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE, name="esp"
        start=6144, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=11111111-2222-3333-4444-555555555555, name="root"

        """

    @Test func sfdiskReadsOurTable() throws {
        let layout = try GPT.layout(diskSize: 16 << 20, diskGUID: GPTFixture.diskGUID, partitions: [
            GPTPartitionSpec(name: "esp", type: .efiSystem, unique: GPTFixture.unique, size: 2 << 20),
            GPTPartitionSpec(name: "root", type: .linuxFilesystem, unique: GUID("11111111-2222-3333-4444-555555555555")!, size: nil),
        ])
        let file = try Self.temporaryFile()
        defer { try? FileManager.default.removeItem(atPath: file) }
        try Data(GPTFixture.disk(layout)).write(to: URL(fileURLWithPath: file))

        let verify = try Self.sfdisk(["--verify", file])
        #expect(verify.status == 0 && verify.stdout.contains("No errors detected."), "sfdisk --verify: \(verify.stdout) \(verify.stderr)")
        let listed = try Self.sfdisk(["--json", file])
        #expect(listed.status == 0, "sfdisk --json: \(listed.stderr)")
        let json = try JSONValue.parse(listed.stdout)
        let table = try #require(json["partitiontable"])
        #expect(table["label"]?.stringValue == "gpt", "a GPT")
        #expect(table["id"]?.stringValue == "01234567-89AB-CDEF-0123-456789ABCDEF", "disk GUID")
        #expect(table["firstlba"]?.intValue == 34 && table["lastlba"]?.intValue == 32734, "usable range")
        let parts = try #require(table["partitions"]?.arrayValue)
        #expect(parts.count == 2, "two partitions")
        #expect(parts[0]["start"]?.intValue == 2048 && parts[0]["size"]?.intValue == 4096, "esp place")
        #expect(parts[0]["type"]?.stringValue == "C12A7328-F81F-11D2-BA4B-00A0C93EC93B", "esp type")
        #expect(parts[0]["uuid"]?.stringValue == "AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE", "esp GUID")
        #expect(parts[0]["name"]?.stringValue == "esp", "esp name")
        #expect(parts[1]["start"]?.intValue == 6144 && parts[1]["size"]?.intValue == 32734 - 6144 + 1, "root place")
        #expect(parts[1]["type"]?.stringValue == "0FC63DAF-8483-4772-8E79-3D69D8477DE4", "root type")
        #expect(parts[1]["name"]?.stringValue == "root", "root name")
    }

    @Test func weReadSfdisksTable() throws {
        let file = try Self.temporaryFile()
        defer { try? FileManager.default.removeItem(atPath: file) }
        try Data(count: 16 << 20).write(to: URL(fileURLWithPath: file))
        let made = try Self.sfdisk(["-q", file], input: Self.script)
        #expect(made.status == 0, "sfdisk: \(made.stderr)")

        let disk = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
        let table = try GPT.parse(disk: GPTFixture.reader(disk), diskSize: disk.count)
        #expect(!table.fromBackup, "primary valid")
        #expect(table.diskGUID == GPTFixture.diskGUID, "disk GUID")
        #expect(table.partitions.map(\.number) == [1, 2], "numbers")
        #expect(table.partitions.map(\.name) == ["esp", "root"], "names")
        #expect(table.partitions[0].type == .efiSystem && table.partitions[1].type == .linuxFilesystem, "types")
        #expect(table.partitions[0].unique == GPTFixture.unique, "unique GUID")
        #expect(table.partitions[0].firstLBA == 2048 && table.partitions[0].lastLBA == 6143, "esp LBAs")
        #expect(table.partitions[1].offset == 6144 * 512, "root offset")
        #expect(table.partitions[1].size == 12 << 20, "sfdisk ends the last partition on a MiB boundary")

        // Damage sfdisk's primary: the backup it wrote is read instead.
        var damaged = disk
        damaged[512 + 24] ^= 0xFF
        let fallback = try GPT.parse(disk: GPTFixture.reader(damaged), diskSize: damaged.count)
        #expect(fallback.fromBackup && fallback.partitions == table.partitions, "sfdisk's backup table")
    }

    static func temporaryFile() throws -> String {
        NSTemporaryDirectory() + "/imprint-gpt-\(UUID().uuidString).img"
    }

    static func sfdisk(_ arguments: [String], input: String? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/sfdisk")
        process.arguments = arguments
        let out = Pipe(), err = Pipe(), stdin = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = stdin
        try process.run()
        stdin.fileHandleForWriting.write(Data((input ?? "").utf8))
        try stdin.fileHandleForWriting.close()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
    }
}
