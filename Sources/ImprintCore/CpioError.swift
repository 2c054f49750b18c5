/// Why bytes could not be read as a newc cpio archive. Offsets are from the archive's start.
public enum CpioError: Error, Equatable, CustomStringConvertible {
    /// A header does not start with `070701`.
    case badMagic(offset: Int)
    /// The archive ends inside a 110-byte header.
    case truncatedHeader(offset: Int)
    /// A header field holds something other than 8 hex digits; `offset` is the field's.
    case invalidHexDigit(offset: Int, field: String)
    /// `namesize` is 0: there is not even the terminating NUL.
    case emptyName(offset: Int)
    /// The archive ends inside a name or its padding.
    case truncatedName(offset: Int)
    /// The name's last byte (at `offset`) is not NUL.
    case nameNotTerminated(offset: Int)
    /// The name is not valid UTF-8.
    case invalidName(offset: Int)
    /// The archive ends inside `name`'s data or its padding.
    case truncatedData(offset: Int, name: String)
    /// The bytes ran out before a `TRAILER!!!` entry.
    case missingTrailer(offset: Int)
    /// Something other than zero padding follows the trailer.
    case trailingGarbage(offset: Int)

    public var description: String {
        switch self {
        case .badMagic(let offset):
            return "cpio: no newc magic 070701 at offset \(offset)"
        case .truncatedHeader(let offset):
            return "cpio: archive ends inside the header at offset \(offset)"
        case .invalidHexDigit(let offset, let field):
            return "cpio: header field \(field) at offset \(offset) is not 8 hex digits"
        case .emptyName(let offset):
            return "cpio: header at offset \(offset) has namesize 0"
        case .truncatedName(let offset):
            return "cpio: archive ends inside the name at offset \(offset)"
        case .nameNotTerminated(let offset):
            return "cpio: name ending at offset \(offset) is not NUL-terminated"
        case .invalidName(let offset):
            return "cpio: name at offset \(offset) is not valid UTF-8"
        case .truncatedData(let offset, let name):
            return "cpio: archive ends inside the data of '\(name)' at offset \(offset)"
        case .missingTrailer(let offset):
            return "cpio: archive ends at offset \(offset) without a TRAILER!!! entry"
        case .trailingGarbage(let offset):
            return "cpio: non-zero bytes after the trailer at offset \(offset)"
        }
    }
}
