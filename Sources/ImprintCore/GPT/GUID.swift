/// A GUID (UUID) as GPT stores it. Held in the order its canonical text reads
/// (`C12A7328-F81F-11D2-BA4B-00A0C93EC93B` is `C1 2A 73 28 F8 1F ...`); on disk the first three
/// groups are little-endian (``diskBytes``), the last two as written.
public struct GUID: Hashable, Sendable, CustomStringConvertible {
    /// The 16 bytes in text order.
    public let bytes: [UInt8]

    /// A GUID from its 16 bytes in text order; nil unless there are exactly 16.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    /// Parses `XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX` (hex digits in either case); nil for anything else.
    public init?(_ text: String) {
        let utf8 = Array(text.utf8)
        guard utf8.count == 36 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(16)
        var high: UInt8?
        for (index, char) in utf8.enumerated() {
            if index == 8 || index == 13 || index == 18 || index == 23 {
                guard char == UInt8(ascii: "-") else { return nil }
                continue
            }
            guard let nibble = Self.hexValue(char) else { return nil }
            if let h = high {
                out.append(h << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        bytes = out
    }

    /// A GUID from the 16 bytes GPT stores (the first three groups little-endian).
    public init(diskBytes: some Collection<UInt8>) {
        var d = Array(diskBytes.prefix(16))
        d += [UInt8](repeating: 0, count: 16 - d.count)
        bytes = [d[3], d[2], d[1], d[0], d[5], d[4], d[7], d[6]] + d[8..<16]
    }

    /// The 16 bytes GPT stores: the first three groups byte-swapped.
    public var diskBytes: [UInt8] {
        let b = bytes
        return [b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6]] + b[8..<16]
    }

    /// The all-zero GUID, which marks an unused partition entry.
    public static let zero = GUID(checkedBytes: [UInt8](repeating: 0, count: 16))

    public var isZero: Bool { bytes.allSatisfy { $0 == 0 } }

    /// Upper-case canonical text, as sfdisk and the UEFI specification print it.
    public var description: String {
        let digits = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for (index, byte) in bytes.enumerated() {
            if index == 4 || index == 6 || index == 8 || index == 10 { out.append(UInt8(ascii: "-")) }
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// A version-4-shaped GUID from 16 or more bytes of a digest: reproducible where a random one is not.
    public static func derived(from digest: some Collection<UInt8>) -> GUID {
        var b = Array(digest.prefix(16))
        b += [UInt8](repeating: 0, count: 16 - b.count)
        b[6] = (b[6] & 0x0F) | 0x40  // version 4
        b[8] = (b[8] & 0x3F) | 0x80  // RFC 4122 variant
        return GUID(checkedBytes: b)
    }

    private init(checkedBytes: [UInt8]) { bytes = checkedBytes }

    private static func hexValue(_ char: UInt8) -> UInt8? {
        switch char {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return char - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return char - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return char - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

extension GUID {
    /// EFI System partition (the ESP).
    public static let efiSystem = GUID(checkedBytes: [0xC1, 0x2A, 0x73, 0x28, 0xF8, 0x1F, 0x11, 0xD2,
                                                      0xBA, 0x4B, 0x00, 0xA0, 0xC9, 0x3E, 0xC9, 0x3B])
    /// Linux filesystem data.
    public static let linuxFilesystem = GUID(checkedBytes: [0x0F, 0xC6, 0x3D, 0xAF, 0x84, 0x83, 0x47, 0x72,
                                                            0x8E, 0x79, 0x3D, 0x69, 0xD8, 0x47, 0x7D, 0xE4])
}
