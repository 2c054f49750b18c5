/// Why a GUID partition table could not be written or read.
public enum GPTError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Only 512 and 4096-byte sectors are handled.
    case unsupportedSectorSize(Int)
    /// The disk is too small for the table, or its size is not a whole number of sectors.
    case diskTooSmall(size: Int, needed: Int)
    /// The partitions asked for do not fit between the first and last usable sectors.
    case partitionsDoNotFit(needed: Int, available: Int)
    /// A partition spec is unusable (no size where one is needed, a name too long, ...).
    case invalidSpec(String)
    /// Neither the primary nor the backup table is usable; each says why.
    case noValidTable(primary: String, backup: String)
    /// The table is intact but a partition entry points outside the usable area.
    case invalidPartition(number: Int, reason: String)

    public var description: String {
        switch self {
        case .unsupportedSectorSize(let size):
            return "gpt: sector size \(size) is not supported (512 or 4096)"
        case .diskTooSmall(let size, let needed):
            return "gpt: a disk of \(size) bytes is too small or not a whole number of sectors (needs at least \(needed))"
        case .partitionsDoNotFit(let needed, let available):
            return "gpt: the partitions need \(needed) bytes but the disk has \(available) usable"
        case .invalidSpec(let reason):
            return "gpt: \(reason)"
        case .noValidTable(let primary, let backup):
            return "gpt: no valid partition table: primary \(primary); backup \(backup)"
        case .invalidPartition(let number, let reason):
            return "gpt: partition \(number) \(reason)"
        }
    }
}
