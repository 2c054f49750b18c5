extension GPT {
    /// One write of a table repair: `bytes` at byte `offset` of the disk.
    public struct Write: Equatable, Sendable {
        public var offset: Int
        public var bytes: [UInt8]
    }

    /// The writes that make the GPT of an image written to a larger disk whole again, as
    /// `sgdisk -e` does: the backup entries and header move to the disk's end, the primary header
    /// points at them and its last usable LBA grows to the new end, the old backup header is
    /// zeroed, and a plain protective MBR gets the new size. The partitions are untouched.
    /// Nil when there is nothing to do: no valid primary table, or its backup already at the end.
    public static func growToDisk(read: (_ offset: Int, _ count: Int) -> [UInt8]?, diskSize: Int, sectorSize: Int = 512) -> [Write]? {
        guard sectorSize == 512 || sectorSize == 4096, diskSize % sectorSize == 0 else { return nil }
        let totalSectors = UInt64(diskSize / sectorSize)
        guard let sector = read(sectorSize, sectorSize), case .success(var header) = GPTHeader.decode(sector),
              header.myLBA == 1, header.alternateLBA < totalSectors - 1, header.entrySize == UInt32(GPTHeader.entrySize) else { return nil }
        let entryBytes = Int(header.entryCount) * Int(header.entrySize)
        guard entryBytes > 0, entryBytes <= maxEntryArrayBytes, entryBytes % sectorSize == 0,
              let entries = read(Int(header.entriesLBA) * sectorSize, entryBytes), entries.count == entryBytes,
              CRC32.checksum(entries) == header.entriesCRC else { return nil }
        let entrySectors = UInt64(entryBytes / sectorSize)
        let oldBackup = header.alternateLBA
        let backupEntriesLBA = totalSectors - 1 - entrySectors
        guard backupEntriesLBA > header.lastUsableLBA else { return nil }

        header.alternateLBA = totalSectors - 1
        header.lastUsableLBA = backupEntriesLBA - 1
        var writes = [Write(offset: sectorSize, bytes: header.encoded(sectorSize: sectorSize))]
        var backup = header
        backup.myLBA = totalSectors - 1
        backup.alternateLBA = 1
        backup.entriesLBA = backupEntriesLBA
        writes.append(Write(offset: Int(backupEntriesLBA) * sectorSize, bytes: entries))
        writes.append(Write(offset: Int(totalSectors - 1) * sectorSize, bytes: backup.encoded(sectorSize: sectorSize)))
        if oldBackup > 1 && oldBackup < backupEntriesLBA {
            writes.append(Write(offset: Int(oldBackup) * sectorSize, bytes: [UInt8](repeating: 0, count: sectorSize)))
        }
        // A protective MBR with its one 0xEE entry (not a hybrid MBR) learns the new size.
        if let mbr = read(0, sectorSize), mbr.count == sectorSize, mbr[510] == 0x55, mbr[511] == 0xAA, mbr[446 + 4] == 0xEE,
           (1..<4).allSatisfy({ mbr[446 + $0 * 16 + 4] == 0 }) {
            var updated = mbr
            updated.putLittleEndian(UInt32(min(totalSectors - 1, 0xFFFF_FFFF)), at: 446 + 12)
            writes.append(Write(offset: 0, bytes: updated))
        }
        return writes
    }
}
