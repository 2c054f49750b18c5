/// What the GPT fuzz target (`Fuzz/GPTParse.swift`) and the corpus replay test run on each input: the
/// bytes are a disk, read by `GPT.parse` with both sector sizes and a few disk sizes. It must never
/// trap, whatever the bytes, must read only inside the disk it was told of, and whatever it returns
/// must be safe to use as offsets into that disk.
public enum GPTFuzz {
    public static func run(_ bytes: [UInt8]) {
        for sectorSize in [512, 4096] {
            for diskSize in diskSizes(bytes, sectorSize: sectorSize) {
                check(bytes, sectorSize: sectorSize, diskSize: diskSize)
            }
        }
    }

    /// The input's own length; that rounded down to whole sectors; longer than the input (the backup's
    /// reads fail); and one the input picks with its last 8 bytes (huge, negative, anything).
    static func diskSizes(_ bytes: [UInt8], sectorSize: Int) -> [Int] {
        var sizes = [bytes.count, bytes.count / sectorSize * sectorSize, bytes.count + 3 * sectorSize]
        if bytes.count >= 8 {
            var picked: UInt64 = 0
            for byte in bytes.suffix(8) { picked = picked << 8 | UInt64(byte) }
            sizes.append(Int(truncatingIfNeeded: picked))
        }
        return sizes
    }

    static func check(_ bytes: [UInt8], sectorSize: Int, diskSize: Int) {
        let read = { (offset: Int, count: Int) -> [UInt8]? in
            precondition(offset >= 0 && count >= 0 && diskSize >= count && offset <= diskSize - count,
                         "read of \(count) bytes at \(offset) outside a disk of \(diskSize)")
            precondition(count <= max(sectorSize, GPT.maxEntryArrayBytes), "read of \(count) bytes: over the bound")
            guard count <= bytes.count, offset <= bytes.count - count else { return nil }
            return Array(bytes[offset..<offset + count])
        }
        guard let table = try? GPT.parse(disk: read, sectorSize: sectorSize, diskSize: diskSize) else { return }
        let totalSectors = UInt64(diskSize / sectorSize)
        precondition(table.sectorSize == sectorSize)
        precondition(table.firstUsableLBA <= table.lastUsableLBA && table.lastUsableLBA < totalSectors)
        var previous = 0
        for p in table.partitions {
            precondition(p.number > previous, "partition numbers ascend")
            previous = p.number
            precondition(p.firstLBA <= p.lastLBA && p.lastLBA < totalSectors)
            precondition(p.offset >= 0 && p.size > 0 && p.offset <= diskSize - p.size, "partition \(p.number) inside the disk")
            precondition(p.offset == Int(p.firstLBA) * sectorSize && p.size == Int(p.lastLBA - p.firstLBA + 1) * sectorSize)
            _ = table.partition(named: p.name)
        }
    }
}
