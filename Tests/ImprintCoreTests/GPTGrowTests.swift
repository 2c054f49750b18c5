import Testing

@testable import ImprintCore

@Suite("GPT grown to a larger disk")
struct GPTGrowTests {
    static func image() throws -> (bytes: [UInt8], layout: GPTLayout) {
        let guid = try #require(GUID("11111111-2222-3333-4444-555555555555"))
        let layout = try GPT.layout(diskSize: 4 << 20, diskGUID: guid, partitions: [
            GPTPartitionSpec(name: "esp", type: .efiSystem, unique: guid, size: 1 << 20),
            GPTPartitionSpec(name: "root", type: .linuxFilesystem, unique: guid, size: nil),
        ])
        var bytes = [UInt8](repeating: 0, count: 4 << 20)
        bytes.replaceSubrange(0..<layout.head.count, with: layout.head)
        bytes.replaceSubrange(layout.tailOffset..<(layout.tailOffset + layout.tail.count), with: layout.tail)
        return (bytes, layout)
    }

    @Test("an image's table on a disk twice its size: backup at the new end, partitions unchanged")
    func grows() throws {
        let (image, layout) = try Self.image()
        var disk = image + [UInt8](repeating: 0, count: 4 << 20)
        let read: (Int, Int) -> [UInt8]? = { offset, count in offset + count <= disk.count ? Array(disk[offset..<offset + count]) : nil }
        let writes = try #require(GPT.growToDisk(read: read, diskSize: disk.count))
        for write in writes { disk.replaceSubrange(write.offset..<(write.offset + write.bytes.count), with: write.bytes) }
        let reader: (Int, Int) -> [UInt8]? = { offset, count in offset + count <= disk.count ? Array(disk[offset..<offset + count]) : nil }
        let table = try GPT.parse(disk: reader, diskSize: disk.count)
        #expect(!table.fromBackup)
        #expect(table.partitions == layout.partitions, "the partitions stay where they were")
        #expect(table.lastUsableLBA == UInt64(disk.count / 512) - 34, "the usable space reaches the new end")
        // The backup alone, at the new end, is a valid table too.
        disk.replaceSubrange(512..<1024, with: [UInt8](repeating: 0, count: 512))
        let backup = try GPT.parse(disk: reader, diskSize: disk.count)
        #expect(backup.fromBackup && backup.partitions == layout.partitions)
        #expect(disk[446 + 12..<446 + 16].elementsEqual([0xFF, 0x3F, 0x00, 0x00]), "the protective MBR covers 16383 sectors")
        // Done once, there is nothing more to do.
        #expect(GPT.growToDisk(read: reader, diskSize: disk.count) == nil)
    }

    @Test("nothing to do: same size, no table")
    func nothing() throws {
        let (image, _) = try Self.image()
        #expect(GPT.growToDisk(read: { Array(image[$0..<min(image.count, $0 + $1)]) }, diskSize: image.count) == nil)
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        #expect(GPT.growToDisk(read: { Array(zeros[$0..<min(zeros.count, $0 + $1)]) }, diskSize: 8 << 20) == nil)
    }
}
