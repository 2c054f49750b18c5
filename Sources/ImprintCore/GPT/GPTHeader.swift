/// The 92 bytes of a GPT header (UEFI 2.10 section 5.3.2), little-endian, at the start of its sector.
struct GPTHeader: Equatable {
    static let signature: [UInt8] = Array("EFI PART".utf8)
    static let revision: UInt32 = 0x0001_0000
    static let size = 92
    /// The only entry geometry the writer uses: 128 entries of 128 bytes (16 KiB).
    static let entryCount = 128
    static let entrySize = 128

    var myLBA: UInt64
    var alternateLBA: UInt64
    var firstUsableLBA: UInt64
    var lastUsableLBA: UInt64
    var diskGUID: GUID
    var entriesLBA: UInt64
    var entryCount: UInt32
    var entrySize: UInt32
    var entriesCRC: UInt32

    /// One sector: the header with its CRC filled in, then zeros.
    func encoded(sectorSize: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: sectorSize)
        out.replaceSubrange(0..<8, with: Self.signature)
        out.putLittleEndian(Self.revision, at: 8)
        out.putLittleEndian(UInt32(Self.size), at: 12)
        // 16: header CRC, computed last; 20: reserved, zero.
        out.putLittleEndian(myLBA, at: 24)
        out.putLittleEndian(alternateLBA, at: 32)
        out.putLittleEndian(firstUsableLBA, at: 40)
        out.putLittleEndian(lastUsableLBA, at: 48)
        out.replaceSubrange(56..<72, with: diskGUID.diskBytes)
        out.putLittleEndian(entriesLBA, at: 72)
        out.putLittleEndian(entryCount, at: 80)
        out.putLittleEndian(entrySize, at: 84)
        out.putLittleEndian(entriesCRC, at: 88)
        out.putLittleEndian(CRC32.checksum(out[0..<Self.size]), at: 16)
        return out
    }

    /// The header in `sector`, or why it is not a valid one.
    static func decode(_ sector: [UInt8]) -> Result<GPTHeader, HeaderProblem> {
        guard sector.count >= size, Array(sector[0..<8]) == signature else { return .failure(.noSignature) }
        let headerSize = Int(sector.littleEndian32(at: 12))
        guard headerSize >= size, headerSize <= sector.count else { return .failure(.badHeaderSize(headerSize)) }
        var copy = Array(sector[0..<headerSize])
        copy.replaceSubrange(16..<20, with: [0, 0, 0, 0])
        let stored = sector.littleEndian32(at: 16)
        let computed = CRC32.checksum(copy)
        guard stored == computed else { return .failure(.badHeaderCRC(stored: stored, computed: computed)) }
        return .success(GPTHeader(
            myLBA: sector.littleEndian64(at: 24), alternateLBA: sector.littleEndian64(at: 32),
            firstUsableLBA: sector.littleEndian64(at: 40), lastUsableLBA: sector.littleEndian64(at: 48),
            diskGUID: GUID(diskBytes: sector[56..<72]), entriesLBA: sector.littleEndian64(at: 72),
            entryCount: sector.littleEndian32(at: 80), entrySize: sector.littleEndian32(at: 84), entriesCRC: sector.littleEndian32(at: 88)))
    }

    enum HeaderProblem: Error, Equatable, CustomStringConvertible {
        case noSignature
        case badHeaderSize(Int)
        case badHeaderCRC(stored: UInt32, computed: UInt32)

        var description: String {
            switch self {
            case .noSignature: return "has no \"EFI PART\" signature"
            case .badHeaderSize(let size): return "has an invalid header size \(size)"
            case .badHeaderCRC(let stored, let computed):
                return "has a bad header CRC (stored \(hex32(stored)), computed \(hex32(computed)))"
            }
        }
    }
}

/// One 128-byte partition entry (UEFI 2.10 section 5.3.3).
enum GPTEntry {
    /// 36 UTF-16 code units.
    static let nameUnits = 36

    static func encode(_ p: GPTPartition) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: GPTHeader.entrySize)
        out.replaceSubrange(0..<16, with: p.type.diskBytes)
        out.replaceSubrange(16..<32, with: p.unique.diskBytes)
        out.putLittleEndian(p.firstLBA, at: 32)
        out.putLittleEndian(p.lastLBA, at: 40)
        out.putLittleEndian(p.attributes, at: 48)
        for (index, unit) in p.name.utf16.prefix(nameUnits).enumerated() {
            out.putLittleEndian(unit, at: 56 + 2 * index)
        }
        return out
    }

    /// The entry at `offset`, or nil for an unused one (zero type GUID).
    static func decode(_ bytes: [UInt8], at offset: Int, number: Int, sectorSize: Int) -> GPTPartition? {
        let type = GUID(diskBytes: bytes[offset..<offset + 16])
        guard !type.isZero else { return nil }
        var units: [UInt16] = []
        for index in 0..<nameUnits {
            let unit = bytes.littleEndian16(at: offset + 56 + 2 * index)
            if unit == 0 { break }
            units.append(unit)
        }
        return GPTPartition(
            number: number, type: type, unique: GUID(diskBytes: bytes[offset + 16..<offset + 32]),
            firstLBA: bytes.littleEndian64(at: offset + 32), lastLBA: bytes.littleEndian64(at: offset + 40),
            attributes: bytes.littleEndian64(at: offset + 48), name: String(decoding: units, as: UTF16.self),
            sectorSize: sectorSize)
    }
}

func hex32(_ value: UInt32) -> String {
    let digits = String(value, radix: 16, uppercase: false)
    return "0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
}

extension Array where Element == UInt8 {
    mutating func putLittleEndian<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        for index in 0..<MemoryLayout<T>.size {
            self[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * index))
        }
    }

    func littleEndian16(at offset: Int) -> UInt16 { readLittleEndian(at: offset) }
    func littleEndian32(at offset: Int) -> UInt32 { readLittleEndian(at: offset) }
    func littleEndian64(at offset: Int) -> UInt64 { readLittleEndian(at: offset) }

    private func readLittleEndian<T: FixedWidthInteger>(at offset: Int) -> T {
        var value: T = 0
        for index in 0..<MemoryLayout<T>.size {
            value |= T(self[offset + index]) << (8 * index)
        }
        return value
    }
}
