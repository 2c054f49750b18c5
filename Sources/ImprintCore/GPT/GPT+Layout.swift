/// GUID partition tables: ``layout(diskSize:diskGUID:partitions:sectorSize:)`` writes one,
/// ``parse(disk:sectorSize:diskSize:)`` reads one.
public enum GPT {
    /// Partitions start on 1 MiB boundaries, as fdisk, sfdisk and parted place them.
    public static let alignment = 1 << 20

    /// The table for a disk of `diskSize` bytes holding `partitions` in order, each starting on a
    /// 1 MiB boundary: a protective MBR, the primary header and a 128-entry array at the start,
    /// the backup array and header at the end. Every GUID is passed in, so the same arguments
    /// always give the same bytes.
    public static func layout(diskSize: Int, diskGUID: GUID, partitions specs: [GPTPartitionSpec],
                              sectorSize: Int = 512) throws(GPTError) -> GPTLayout {
        guard sectorSize == 512 || sectorSize == 4096 else { throw .unsupportedSectorSize(sectorSize) }
        guard specs.count <= GPTHeader.entryCount else {
            throw .invalidSpec("\(specs.count) partitions; a table holds at most \(GPTHeader.entryCount)")
        }
        let entryBytes = GPTHeader.entryCount * GPTHeader.entrySize
        let entrySectors = entryBytes / sectorSize
        let alignSectors = UInt64(alignment / sectorSize)
        // The smallest disk: the head, one aligned MiB per partition, the tail.
        let needed = alignment * (1 + specs.count) + (entrySectors + 1) * sectorSize
        guard diskSize % sectorSize == 0, diskSize >= needed else { throw .diskTooSmall(size: diskSize, needed: needed) }
        let totalSectors = UInt64(diskSize / sectorSize)
        let firstUsable = UInt64(2 + entrySectors)
        let lastUsable = totalSectors - 2 - UInt64(entrySectors)

        var partitions: [GPTPartition] = []
        var cursor = firstUsable
        for (index, spec) in specs.enumerated() {
            guard spec.name.utf16.count <= GPTEntry.nameUnits else {
                throw .invalidSpec("partition name '\(spec.name)' is longer than \(GPTEntry.nameUnits) UTF-16 units")
            }
            guard !spec.type.isZero else { throw .invalidSpec("partition \(index + 1) has the zero type GUID, which marks an unused entry") }
            let start = (cursor + alignSectors - 1) / alignSectors * alignSectors
            let last: UInt64
            if let size = spec.size {
                guard size > 0 else { throw .invalidSpec("partition \(index + 1) ('\(spec.name)') has size \(size)") }
                let sectors = (UInt64(size) + UInt64(alignment) - 1) / UInt64(alignment) * alignSectors
                last = start + sectors - 1
            } else {
                guard index == specs.count - 1 else {
                    throw .invalidSpec("only the last partition may take the rest of the disk (partition \(index + 1), '\(spec.name)')")
                }
                last = lastUsable
            }
            guard start <= lastUsable, last <= lastUsable else {
                throw .partitionsDoNotFit(needed: Int((last + 1) * UInt64(sectorSize)) + (entrySectors + 1) * sectorSize,
                                          available: diskSize)
            }
            partitions.append(GPTPartition(number: index + 1, type: spec.type, unique: spec.unique, firstLBA: start,
                                           lastLBA: last, attributes: spec.attributes, name: spec.name, sectorSize: sectorSize))
            cursor = last + 1
        }

        var entries = [UInt8](repeating: 0, count: entryBytes)
        for (index, partition) in partitions.enumerated() {
            entries.replaceSubrange(index * GPTHeader.entrySize..<(index + 1) * GPTHeader.entrySize, with: GPTEntry.encode(partition))
        }
        let entriesCRC = CRC32.checksum(entries)
        let backupEntriesLBA = totalSectors - 1 - UInt64(entrySectors)
        var header = GPTHeader(myLBA: 1, alternateLBA: totalSectors - 1, firstUsableLBA: firstUsable, lastUsableLBA: lastUsable,
                               diskGUID: diskGUID, entriesLBA: 2, entryCount: UInt32(GPTHeader.entryCount),
                               entrySize: UInt32(GPTHeader.entrySize), entriesCRC: entriesCRC)
        let head = protectiveMBR(totalSectors: totalSectors, sectorSize: sectorSize) + header.encoded(sectorSize: sectorSize) + entries
        header.myLBA = totalSectors - 1
        header.alternateLBA = 1
        header.entriesLBA = backupEntriesLBA
        let tail = entries + header.encoded(sectorSize: sectorSize)
        return GPTLayout(diskSize: diskSize, head: head, tail: tail, tailOffset: Int(backupEntriesLBA) * sectorSize,
                         partitions: partitions)
    }

    /// LBA 0: one MBR partition of type 0xEE covering the disk (up to 2^32 - 1 sectors), so MBR-only
    /// tools see the disk as in use.
    static func protectiveMBR(totalSectors: UInt64, sectorSize: Int) -> [UInt8] {
        var mbr = [UInt8](repeating: 0, count: sectorSize)
        let entry = 446
        mbr[entry + 0] = 0x00                                   // not bootable
        mbr.replaceSubrange(entry + 1..<entry + 4, with: [0x00, 0x02, 0x00])  // CHS of LBA 1
        mbr[entry + 4] = 0xEE                                   // GPT protective
        mbr.replaceSubrange(entry + 5..<entry + 8, with: [0xFF, 0xFF, 0xFF])  // CHS: beyond reach
        mbr.putLittleEndian(UInt32(1), at: entry + 8)           // starting LBA
        mbr.putLittleEndian(UInt32(min(totalSectors - 1, 0xFFFF_FFFF)), at: entry + 12)
        mbr[510] = 0x55
        mbr[511] = 0xAA
        return mbr
    }
}
