/// Why bytes could not be read as an ELF file. Every case names the part of the file at fault.
public enum ELFError: Error, Equatable, CustomStringConvertible {
    /// The file does not start with `\x7FELF`.
    case notELF
    /// `EI_CLASS` is not 2 (ELF64); 1 is a 32-bit file.
    case unsupportedClass(UInt8)
    /// `EI_DATA` is not 1 (little-endian); 2 is big-endian.
    case unsupportedByteOrder(UInt8)
    /// `EI_VERSION` is not 1.
    case unsupportedVersion(UInt8)
    /// A table entry size in the header is smaller than the ELF64 structure it describes.
    case badEntrySize(what: String, size: Int)
    /// A structure the file points at reaches past the end of the file (or overflows).
    case outOfBounds(what: String, offset: UInt64, length: UInt64, fileSize: Int)
    /// An index (the section-name table, a `sh_name`, a string offset) points at nothing.
    case badIndex(what: String, index: UInt64)
    /// A string runs to the end of its table without a NUL.
    case unterminatedString(what: String, offset: UInt64)
    /// A string is not valid UTF-8.
    case invalidUTF8(what: String, offset: UInt64)
    /// A virtual address from the dynamic section lies in no `PT_LOAD` segment's file bytes.
    case unmappedAddress(what: String, address: UInt64)
    /// The dynamic section names strings but has no `DT_STRTAB`.
    case missingStringTable

    public var description: String {
        switch self {
        case .notELF:
            return "not an ELF file: the first 4 bytes are not 7F 45 4C 46"
        case .unsupportedClass(let value):
            return "unsupported ELF class \(value): only ELF64 (2) is read" + (value == 1 ? "; this is a 32-bit file" : "")
        case .unsupportedByteOrder(let value):
            return "unsupported ELF byte order \(value): only little-endian (1) is read" + (value == 2 ? "; this is big-endian" : "")
        case .unsupportedVersion(let value):
            return "unsupported ELF version \(value): expected 1"
        case .badEntrySize(let what, let size):
            return "ELF \(what) entry size \(size) is too small"
        case .outOfBounds(let what, let offset, let length, let fileSize):
            return "ELF \(what) at offset \(offset), \(length) bytes, lies outside the \(fileSize)-byte file"
        case .badIndex(let what, let index):
            return "ELF \(what) index \(index) is out of range"
        case .unterminatedString(let what, let offset):
            return "ELF \(what) string at offset \(offset) has no terminating NUL"
        case .invalidUTF8(let what, let offset):
            return "ELF \(what) string at offset \(offset) is not valid UTF-8"
        case .unmappedAddress(let what, let address):
            return "ELF \(what) address 0x\(String(address, radix: 16)) lies in no PT_LOAD segment"
        case .missingStringTable:
            return "ELF dynamic section has entries that name strings but no DT_STRTAB"
        }
    }
}
