/// Bounds-checked little-endian reads over the bytes of an ELF file.
///
/// Every offset and length an ELF file gives is checked here, with overflow, before it is used,
/// so a hostile file can only produce an ``ELFError``.
struct ELFBytes {
    let bytes: [UInt8]

    var count: Int { bytes.count }

    /// The byte range `[offset, offset + length)`, or `.outOfBounds` naming `what`.
    func range(_ what: String, offset: UInt64, length: UInt64) throws(ELFError) -> Range<Int> {
        let (end, overflow) = offset.addingReportingOverflow(length)
        guard !overflow, end <= UInt64(bytes.count) else {
            throw .outOfBounds(what: what, offset: offset, length: length, fileSize: bytes.count)
        }
        return Int(offset)..<Int(end)
    }

    /// The byte range of a table of `count` entries of `entrySize` bytes at `offset`.
    func table(_ what: String, offset: UInt64, count: UInt64, entrySize: UInt64) throws(ELFError) -> Range<Int> {
        let (length, overflow) = count.multipliedReportingOverflow(by: entrySize)
        guard !overflow else {
            throw .outOfBounds(what: what, offset: offset, length: UInt64.max, fileSize: bytes.count)
        }
        return try range(what, offset: offset, length: length)
    }

    // The readers below take offsets already proven in range by `range` or `table`.

    func u16(_ at: Int) -> UInt16 {
        UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8
    }

    func u32(_ at: Int) -> UInt32 {
        UInt32(u16(at)) | UInt32(u16(at + 2)) << 16
    }

    func u64(_ at: Int) -> UInt64 {
        UInt64(u32(at)) | UInt64(u32(at + 4)) << 32
    }

    /// The NUL-terminated UTF-8 string starting `offset` bytes into `table`.
    func string(_ what: String, in table: Range<Int>, at offset: UInt64) throws(ELFError) -> String {
        guard offset < UInt64(table.count) else {
            throw .badIndex(what: "\(what) string", index: offset)
        }
        let start = table.lowerBound + Int(offset)
        guard let end = bytes[start..<table.upperBound].firstIndex(of: 0) else {
            throw .unterminatedString(what: what, offset: UInt64(start))
        }
        let raw = bytes[start..<end]
        let text = String(decoding: raw, as: UTF8.self)
        // Decoding replaces bad sequences with U+FFFD, so a changed round trip means bad UTF-8.
        guard text.utf8.elementsEqual(raw) else {
            throw .invalidUTF8(what: what, offset: UInt64(start))
        }
        return text
    }
}
