import Testing

@testable import ImprintCore

/// Shared fixture: a 4 MiB disk with one 1 MiB Linux partition named `root`.
enum GPTFixture {
    static let diskSize = 4 << 20
    static let diskGUID = GUID("01234567-89AB-CDEF-0123-456789ABCDEF")!
    static let unique = GUID("AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE")!

    static func layout() throws -> GPTLayout {
        try GPT.layout(diskSize: diskSize, diskGUID: diskGUID,
                       partitions: [GPTPartitionSpec(name: "root", type: .linuxFilesystem, unique: unique, size: 1 << 20)])
    }

    /// The disk as bytes: head at 0, tail at the end.
    static func disk(_ layout: GPTLayout) -> [UInt8] {
        var disk = [UInt8](repeating: 0, count: layout.diskSize)
        disk.replaceSubrange(0..<layout.head.count, with: layout.head)
        disk.replaceSubrange(layout.tailOffset..<layout.tailOffset + layout.tail.count, with: layout.tail)
        return disk
    }

    static func reader(_ disk: [UInt8]) -> (Int, Int) -> [UInt8]? {
        { offset, count in
            guard offset >= 0, count >= 0, offset + count <= disk.count else { return nil }
            return Array(disk[offset..<offset + count])
        }
    }

    static func hex(_ text: String) -> [UInt8] {
        let digits = Array(text.filter { !$0.isWhitespace }.utf8)
        return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(decoding: digits[$0..<$0 + 2], as: UTF8.self), radix: 16)! }
    }
}

@Suite("GPT layout")
struct GPTLayoutTests {
    /// The primary header of the fixture, field by field (CRCs from Python's zlib.crc32).
    static let primaryHeader = GPTFixture.hex(
        "4546492050415254"                       // signature "EFI PART"
            + "00000100"                         // revision 1.0
            + "5c000000"                         // header size 92
            + "24460168"                         // header CRC32 0x68014624, over these 92 bytes with this field zero
            + "00000000"                         // reserved
            + "0100000000000000"                 // my LBA 1
            + "ff1f000000000000"                 // alternate LBA 8191: the disk's last sector
            + "2200000000000000"                 // first usable LBA 34: after MBR, header and 32 entry sectors
            + "de1f000000000000"                 // last usable LBA 8158: before the 32 backup entry sectors and header
            + "67452301ab89efcd0123456789abcdef" // disk GUID 01234567-89AB-CDEF-0123-456789ABCDEF, mixed-endian
            + "0200000000000000"                 // entry array LBA 2
            + "80000000"                         // 128 entries
            + "80000000"                         // of 128 bytes
            + "5b7ebf7b")                        // entry array CRC32 0x7BBF7E5B

    /// The fixture's one entry.
    static let rootEntry = GPTFixture.hex(
        "af3dc60f83847247 8e793d69d8477de4"      // type 0FC63DAF-8483-4772-8E79-3D69D8477DE4, Linux filesystem
            + "aaaaaaaabbbbccccddddeeeeeeeeeeee" // unique AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE
            + "0008000000000000"                 // first LBA 2048: 1 MiB
            + "ff0f000000000000"                 // last LBA 4095, inclusive: 1 MiB long
            + "0000000000000000"                 // attributes
            + "72006f006f007400")                // name "root", UTF-16LE, zero-padded to 72 bytes

    @Test func primaryHeaderMatchesVector() throws {
        let layout = try GPTFixture.layout()
        #expect(Array(layout.head[512..<604]) == Self.primaryHeader, "primary header bytes")
        #expect(layout.head[604..<1024].allSatisfy { $0 == 0 }, "rest of the header sector is zero")
        #expect(layout.head.count == 34 * 512, "MBR, header and 32 entry sectors")
    }

    @Test func entryMatchesVector() throws {
        let layout = try GPTFixture.layout()
        #expect(Array(layout.head[1024..<1024 + Self.rootEntry.count]) == Self.rootEntry, "entry 1 bytes")
        #expect(layout.head[1024 + Self.rootEntry.count..<34 * 512].allSatisfy { $0 == 0 }, "unused entries are zero")
    }

    @Test func protectiveMBR() throws {
        let mbr = Array(try GPTFixture.layout().head[0..<512])
        #expect(mbr[446 + 4] == 0xEE, "partition type 0xEE")
        #expect(Array(mbr[454..<462]) == [1, 0, 0, 0, 0xFF, 0x1F, 0, 0], "starts at LBA 1, covers 8191 sectors")
        #expect(mbr[510] == 0x55 && mbr[511] == 0xAA, "boot signature")
    }

    @Test func backupHeaderPointsBack() throws {
        let layout = try GPTFixture.layout()
        #expect(layout.tailOffset == 8159 * 512, "backup entries right before the last sector")
        #expect(layout.tail.count == 33 * 512, "32 entry sectors and the header")
        #expect(Array(layout.tail[0..<16384]) == Array(layout.head[1024..<1024 + 16384]), "same entries as the primary")
        let header = Array(layout.tail[16384..<16384 + 92])
        #expect(Array(header[16..<20]) == [0x74, 0x72, 0x6D, 0x17], "backup header CRC 0x176D7274")
        #expect(Array(header[24..<40]) == [0xFF, 0x1F, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0], "my LBA 8191, alternate 1")
        #expect(Array(header[72..<80]) == [0xDF, 0x1F, 0, 0, 0, 0, 0, 0], "entries at LBA 8159")
    }

    @Test func partitionsAreMiBAlignedAndLastTakesTheRest() throws {
        let layout = try GPT.layout(diskSize: 8 << 20, diskGUID: GPTFixture.diskGUID, partitions: [
            GPTPartitionSpec(name: "esp", type: .efiSystem, unique: GPTFixture.unique, size: 1000),
            GPTPartitionSpec(name: "root", type: .linuxFilesystem, unique: GPTFixture.diskGUID, size: nil),
        ])
        #expect(layout.partitions.map(\.offset) == [1 << 20, 2 << 20], "1 MiB aligned")
        #expect(layout.partitions[0].size == 1 << 20, "sizes round up to 1 MiB")
        #expect(layout.partitions[1].lastLBA == 16384 - 34, "the last one ends at the last usable LBA")
    }

    @Test func rejectsWhatDoesNotFit() {
        #expect(throws: GPTError.self, "three MiB do not fit in four with the table") {
            try GPT.layout(diskSize: 4 << 20, diskGUID: GPTFixture.diskGUID,
                           partitions: [GPTPartitionSpec(name: "big", type: .linuxFilesystem, unique: GPTFixture.unique, size: 3 << 20)])
        }
        #expect(throws: GPTError.self, "a name over 36 UTF-16 units") {
            try GPT.layout(diskSize: 4 << 20, diskGUID: GPTFixture.diskGUID,
                           partitions: [GPTPartitionSpec(name: String(repeating: "x", count: 37), type: .linuxFilesystem,
                                                         unique: GPTFixture.unique, size: 1 << 20)])
        }
        #expect(throws: GPTError.self, "a disk that is not whole sectors") {
            try GPT.layout(diskSize: (4 << 20) + 1, diskGUID: GPTFixture.diskGUID, partitions: [])
        }
    }
}
