import Testing

@testable import ImprintCore

@Suite("GPT parse")
struct GPTParseTests {
    @Test func roundTrip() throws {
        let layout = try GPT.layout(diskSize: 16 << 20, diskGUID: GPTFixture.diskGUID, partitions: [
            GPTPartitionSpec(name: "esp", type: .efiSystem, unique: GPTFixture.unique, size: 3 << 20, attributes: 1),
            GPTPartitionSpec(name: "rööt ✓", type: .linuxFilesystem, unique: GPTFixture.diskGUID, size: nil),
        ])
        let disk = GPTFixture.disk(layout)
        let table = try GPT.parse(disk: GPTFixture.reader(disk), diskSize: disk.count)
        #expect(table.partitions == layout.partitions, "what was written is read")
        #expect(table.diskGUID == GPTFixture.diskGUID, "disk GUID")
        #expect(!table.fromBackup, "primary used")
        #expect(table.partition(named: "rööt ✓")?.number == 2, "non-ASCII names survive UTF-16")
        #expect(table.partitions[0].attributes == 1, "attributes")
        #expect(table.firstUsableLBA == 34 && table.lastUsableLBA == 32768 - 34, "usable range")
    }

    @Test func roundTripWith4KSectors() throws {
        let layout = try GPT.layout(diskSize: 8 << 20, diskGUID: GPTFixture.diskGUID, partitions: [
            GPTPartitionSpec(name: "root", type: .linuxFilesystem, unique: GPTFixture.unique, size: nil),
        ], sectorSize: 4096)
        let disk = GPTFixture.disk(layout)
        let table = try GPT.parse(disk: GPTFixture.reader(disk), sectorSize: 4096, diskSize: disk.count)
        #expect(table.partitions == layout.partitions, "4 KiB sectors")
        #expect(table.partitions[0].offset == 1 << 20, "1 MiB is LBA 256")
        #expect(table.firstUsableLBA == 6, "MBR, header and 4 entry sectors")
    }

    @Test func badPrimaryHeaderCRCFallsBackToBackup() throws {
        var disk = GPTFixture.disk(try GPTFixture.layout())
        disk[512 + 40] ^= 0x01  // first usable LBA changes: the header CRC no longer matches
        let table = try GPT.parse(disk: GPTFixture.reader(disk), diskSize: disk.count)
        #expect(table.fromBackup, "backup used")
        #expect(table.partition(named: "root")?.offset == 1 << 20, "partition found through the backup")
    }

    @Test func badPrimaryEntriesFallBackToBackup() throws {
        var disk = GPTFixture.disk(try GPTFixture.layout())
        disk[1024 + 56] = UInt8(ascii: "R")  // the entry's name: the entry array CRC no longer matches
        let table = try GPT.parse(disk: GPTFixture.reader(disk), diskSize: disk.count)
        #expect(table.fromBackup, "backup used")
        #expect(table.partitions.first?.name == "root", "the backup's intact name")
    }

    @Test func wipedPrimaryFallsBackToBackup() throws {
        var disk = GPTFixture.disk(try GPTFixture.layout())
        disk.replaceSubrange(0..<34 * 512, with: [UInt8](repeating: 0, count: 34 * 512))
        let table = try GPT.parse(disk: GPTFixture.reader(disk), diskSize: disk.count)
        #expect(table.fromBackup && table.partitions.count == 1, "backup used")
    }

    @Test func bothCorruptIsAClearError() throws {
        var disk = GPTFixture.disk(try GPTFixture.layout())
        disk[512 + 40] ^= 0x01
        disk[disk.count - 512 + 40] ^= 0x01
        do {
            _ = try GPT.parse(disk: GPTFixture.reader(disk), diskSize: disk.count)
            Issue.record("a disk with two bad headers parsed")
        } catch {
            guard case let .noValidTable(primary, backup) = error else {
                Issue.record("wrong error \(error)")
                return
            }
            #expect(primary.contains("header at LBA 1 has a bad header CRC"), "primary reason: \(primary)")
            #expect(backup.contains("header at LBA 8191 has a bad header CRC"), "backup reason: \(backup)")
            #expect(error.description.hasPrefix("gpt: no valid partition table: primary header at LBA 1"), "\(error.description)")
        }
    }

    @Test func blankDiskHasNoTable() {
        let disk = [UInt8](repeating: 0, count: 1 << 20)
        #expect(throws: GPTError.noValidTable(primary: "header at LBA 1 has no \"EFI PART\" signature",
                                              backup: "header at LBA 2047 has no \"EFI PART\" signature"), "blank disk") {
            try GPT.parse(disk: GPTFixture.reader(disk), diskSize: disk.count)
        }
    }

    @Test func unreadableDiskSaysSo() {
        #expect(throws: GPTError.self, "reads fail") {
            try GPT.parse(disk: { _, _ in nil }, diskSize: 1 << 20)
        }
    }

    @Test func hugeEntryArrayIsRefused() throws {
        var disk = GPTFixture.disk(try GPTFixture.layout())
        // A header that claims 2^31 entries, with a correct header CRC so only the size check can catch it.
        var header = Array(disk[512..<1024])
        header.putLittleEndian(UInt32(1 << 31), at: 80)
        header.replaceSubrange(16..<20, with: [0, 0, 0, 0])
        header.putLittleEndian(CRC32.checksum(header[0..<92]), at: 16)
        disk.replaceSubrange(512..<1024, with: header)
        let table = try GPT.parse(disk: GPTFixture.reader(disk), diskSize: disk.count)
        #expect(table.fromBackup, "the oversized primary is skipped for the backup")
    }

    @Test func partitionBeyondTheDiskIsRefused() throws {
        // A table written for 8 MiB, read as if the disk were 4 MiB long (a truncated image): the
        // primary is intact, but its partition runs past the end.
        let layout = try GPT.layout(diskSize: 8 << 20, diskGUID: GPTFixture.diskGUID, partitions: [
            GPTPartitionSpec(name: "root", type: .linuxFilesystem, unique: GPTFixture.unique, size: nil),
        ])
        let disk = Array(GPTFixture.disk(layout)[0..<(4 << 20)])
        #expect(throws: GPTError.self, "partition beyond the disk") {
            try GPT.parse(disk: GPTFixture.reader(disk), diskSize: disk.count)
        }
    }
}
