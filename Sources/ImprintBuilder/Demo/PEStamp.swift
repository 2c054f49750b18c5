import Foundation

/// objcopy writes the current time into a PE file's COFF header (binutils 2.40 ignores
/// SOURCE_DATE_EPOCH there and has no option against it), so the UKI would differ per build.
/// This pins the time stamp and recomputes the optional header's checksum to match.
enum PEStamp {
    /// Sets the COFF `TimeDateStamp` of the PE file at `path` to `timestamp` and refreshes `CheckSum`.
    static func pin(_ path: String, timestamp: UInt32 = 0) throws {
        guard let data = FileManager.default.contents(atPath: path) else { throw DemoError("cannot read \(path)") }
        var bytes = [UInt8](data)
        guard bytes.count >= 0x40 else { throw DemoError("\(path) is not a PE file: too short") }
        let pe = Int(le32(bytes, 0x3C))
        // "PE\0\0", a 20-byte COFF header, then the optional header whose CheckSum is at offset 64.
        guard pe >= 0x40, pe + 24 + 68 <= bytes.count, Array(bytes[pe..<pe + 4]) == [0x50, 0x45, 0, 0] else {
            throw DemoError("\(path) is not a PE file: no PE signature")
        }
        put32(&bytes, pe + 8, timestamp)
        let checksumOffset = pe + 24 + 64
        put32(&bytes, checksumOffset, checksum(bytes, skipping: checksumOffset))
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    /// The PE image checksum: 16-bit one's-complement-style sum of the file with the checksum
    /// field taken as zero, plus the file's length.
    static func checksum(_ bytes: [UInt8], skipping field: Int) -> UInt32 {
        var sum: UInt64 = 0
        var index = 0
        while index < bytes.count {
            if index >= field && index < field + 4 { index += 2; continue }
            let low = UInt64(bytes[index])
            let high = index + 1 < bytes.count ? UInt64(bytes[index + 1]) : 0
            sum += low | high << 8
            sum = (sum & 0xFFFF) + (sum >> 16)
            index += 2
        }
        sum = (sum & 0xFFFF) + (sum >> 16)
        return UInt32(truncatingIfNeeded: sum + UInt64(bytes.count))
    }

    private static func le32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
    }

    private static func put32(_ bytes: inout [UInt8], _ at: Int, _ value: UInt32) {
        for i in 0..<4 { bytes[at + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
    }
}
