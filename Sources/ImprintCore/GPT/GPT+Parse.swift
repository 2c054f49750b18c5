extension GPT {
    /// The largest entry array read (the usual one is 16 KiB): bounds what a damaged header can make us read.
    static let maxEntryArrayBytes = 1 << 20

    /// Reads the table of a disk of `diskSize` bytes through `disk(offset, count)`, which returns
    /// exactly `count` bytes or nil. The primary header (LBA 1) and its entry array must pass their
    /// signature and CRC checks; otherwise the backup at the disk's last sector is used. When both
    /// fail the error says why each did.
    public static func parse(disk read: (_ offset: Int, _ count: Int) -> [UInt8]?, sectorSize: Int = 512,
                             diskSize: Int) throws(GPTError) -> GPTTable {
        guard sectorSize == 512 || sectorSize == 4096 else { throw .unsupportedSectorSize(sectorSize) }
        let totalSectors = UInt64(max(0, diskSize / sectorSize))
        guard totalSectors >= 3 else { throw .diskTooSmall(size: diskSize, needed: 3 * sectorSize) }

        let primaryProblem: Problem
        switch table(at: 1, read: read, sectorSize: sectorSize, totalSectors: totalSectors, fromBackup: false) {
        case .success(let table): return try checked(table, totalSectors: totalSectors)
        case .failure(let problem): primaryProblem = problem
        }
        switch table(at: totalSectors - 1, read: read, sectorSize: sectorSize, totalSectors: totalSectors, fromBackup: true) {
        case .success(let table): return try checked(table, totalSectors: totalSectors)
        case .failure(let problem): throw .noValidTable(primary: primaryProblem.reason, backup: problem.reason)
        }
    }

    struct Problem: Error { var reason: String }

    /// The header at `lba` and its entries, or why they are unusable.
    static func table(at lba: UInt64, read: (Int, Int) -> [UInt8]?, sectorSize: Int, totalSectors: UInt64,
                      fromBackup: Bool) -> Result<GPTTable, Problem> {
        let place = "header at LBA \(lba)"
        guard let sector = read(Int(lba) * sectorSize, sectorSize), sector.count == sectorSize else {
            return .failure(Problem(reason: "\(place) cannot be read"))
        }
        let header: GPTHeader
        switch GPTHeader.decode(sector) {
        case .success(let h): header = h
        case .failure(let problem): return .failure(Problem(reason: "\(place) \(problem)"))
        }
        guard header.myLBA == lba else {
            return .failure(Problem(reason: "\(place) says it is at LBA \(header.myLBA)"))
        }
        let entrySize = Int(header.entrySize), entryCount = Int(header.entryCount)
        guard entrySize >= GPTHeader.entrySize, entrySize % 8 == 0 else {
            return .failure(Problem(reason: "\(place) has an invalid entry size \(entrySize)"))
        }
        let arrayBytes = entrySize.multipliedReportingOverflow(by: entryCount)
        guard !arrayBytes.overflow, arrayBytes.partialValue <= maxEntryArrayBytes else {
            return .failure(Problem(reason: "\(place) declares an entry array of \(entryCount) x \(entrySize) bytes, over \(maxEntryArrayBytes)"))
        }
        let arraySectors = UInt64((arrayBytes.partialValue + sectorSize - 1) / sectorSize)
        guard header.entriesLBA >= 1, header.entriesLBA < totalSectors, totalSectors - header.entriesLBA >= arraySectors else {
            return .failure(Problem(reason: "\(place) puts its entry array at LBA \(header.entriesLBA), outside the disk"))
        }
        guard header.firstUsableLBA <= header.lastUsableLBA, header.lastUsableLBA < totalSectors else {
            return .failure(Problem(reason: "\(place) has usable LBAs \(header.firstUsableLBA)-\(header.lastUsableLBA) outside a disk of \(totalSectors) sectors"))
        }
        guard let entries = read(Int(header.entriesLBA) * sectorSize, arrayBytes.partialValue),
              entries.count == arrayBytes.partialValue else {
            return .failure(Problem(reason: "the entry array of the \(place) cannot be read"))
        }
        let computed = CRC32.checksum(entries)
        guard computed == header.entriesCRC else {
            return .failure(Problem(reason: "the entry array of the \(place) has a bad CRC (stored \(hex32(header.entriesCRC)), computed \(hex32(computed)))"))
        }
        var partitions: [GPTPartition] = []
        for index in 0..<entryCount {
            if let p = GPTEntry.decode(entries, at: index * entrySize, number: index + 1, sectorSize: sectorSize) {
                partitions.append(p)
            }
        }
        return .success(GPTTable(diskGUID: header.diskGUID, sectorSize: sectorSize, firstUsableLBA: header.firstUsableLBA,
                                 lastUsableLBA: header.lastUsableLBA, partitions: partitions, fromBackup: fromBackup))
    }

    /// Every partition inside the disk, first sector before last: so each offset and size is safe to use.
    static func checked(_ table: GPTTable, totalSectors: UInt64) throws(GPTError) -> GPTTable {
        for p in table.partitions {
            guard p.firstLBA <= p.lastLBA else {
                throw .invalidPartition(number: p.number, reason: "ends (LBA \(p.lastLBA)) before it starts (LBA \(p.firstLBA))")
            }
            guard p.lastLBA < totalSectors else {
                throw .invalidPartition(number: p.number, reason: "ends at LBA \(p.lastLBA), beyond the disk's \(totalSectors) sectors")
            }
        }
        return table
    }
}
