/// One used entry of a partition table.
public struct GPTPartition: Equatable, Sendable {
    /// 1-based position in the entry array (`/dev/vda2` is number 2).
    public var number: Int
    public var type: GUID
    public var unique: GUID
    public var firstLBA: UInt64
    /// Inclusive.
    public var lastLBA: UInt64
    /// Bit 0 required, 1 no block-IO protocol, 2 legacy BIOS bootable, 48-63 type-specific.
    public var attributes: UInt64
    public var name: String
    /// Byte offset from the disk's start.
    public var offset: Int
    /// Length in bytes.
    public var size: Int

    public init(number: Int, type: GUID, unique: GUID, firstLBA: UInt64, lastLBA: UInt64, attributes: UInt64 = 0,
                name: String, sectorSize: Int = 512) {
        self.number = number
        self.type = type
        self.unique = unique
        self.firstLBA = firstLBA
        self.lastLBA = lastLBA
        self.attributes = attributes
        self.name = name
        offset = Int(truncatingIfNeeded: firstLBA) &* sectorSize
        size = Int(truncatingIfNeeded: lastLBA &- firstLBA &+ 1) &* sectorSize
    }
}

/// A partition to lay out.
public struct GPTPartitionSpec: Equatable, Sendable {
    /// At most 36 UTF-16 code units.
    public var name: String
    public var type: GUID
    public var unique: GUID
    /// Bytes, rounded up to the alignment; nil for the last partition takes the rest of the disk.
    public var size: Int?
    public var attributes: UInt64

    public init(name: String, type: GUID, unique: GUID, size: Int?, attributes: UInt64 = 0) {
        self.name = name
        self.type = type
        self.unique = unique
        self.size = size
        self.attributes = attributes
    }
}

/// A table read from a disk.
public struct GPTTable: Equatable, Sendable {
    public var diskGUID: GUID
    public var sectorSize: Int
    public var firstUsableLBA: UInt64
    public var lastUsableLBA: UInt64
    /// The used entries, in entry order.
    public var partitions: [GPTPartition]
    /// True when the primary table was damaged and this one came from the backup at the disk's end.
    public var fromBackup: Bool

    /// The first partition with this name, if any.
    public func partition(named name: String) -> GPTPartition? {
        partitions.first { $0.name == name }
    }
}

/// A table to write: the bytes for the disk's first and last sectors, and where each partition goes.
public struct GPTLayout: Equatable, Sendable {
    public var diskSize: Int
    /// Protective MBR, primary header and entry array: write at offset 0.
    public var head: [UInt8]
    /// Backup entry array and backup header: write at ``tailOffset``, ending at the disk's end.
    public var tail: [UInt8]
    public var tailOffset: Int
    public var partitions: [GPTPartition]
}
