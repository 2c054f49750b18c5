/// The newc (`070701`) cpio format, as the Linux kernel unpacks initrds.
///
/// Each member is a 110-byte ASCII header (the magic and 13 fields of 8 uppercase hex digits),
/// its NUL-terminated name padded so header plus name is a multiple of 4, and its data padded
/// to 4. A member named `TRAILER!!!` ends the archive.
public enum Cpio {
    static let magic = Array("070701".utf8)
    static let trailerName = "TRAILER!!!"
    static let headerSize = 110
    static let fieldNames = [
        "ino", "mode", "uid", "gid", "nlink", "mtime", "filesize",
        "devmajor", "devminor", "rdevmajor", "rdevminor", "namesize", "check",
    ]

    /// The archive of `entries`, in order, then the trailer, zero-padded to a multiple of
    /// `padTo` bytes (values below 1 count as 1; concatenated initrds need 4).
    ///
    /// Entries with `ino` 0 are numbered 1, 2, ... in order, skipping numbers other entries
    /// already use; the header's `check` is always 0. The same entries always give the same
    /// bytes. Each entry's data must be under 4 GiB, as the format's size field is 32 bits.
    public static func write(_ entries: [CpioEntry], padTo: Int = 4) -> [UInt8] {
        var out: [UInt8] = []
        let used = Set(entries.map(\.ino))
        var nextIno: UInt32 = 1
        for var entry in entries {
            if entry.ino == 0 {
                while used.contains(nextIno) { nextIno += 1 }
                entry.ino = nextIno
                nextIno += 1
            }
            append(entry, to: &out)
        }
        append(CpioEntry(name: trailerName, mode: 0, nlink: 1), to: &out)
        let unit = max(padTo, 1)
        if out.count % unit != 0 {
            out += [UInt8](repeating: 0, count: unit - out.count % unit)
        }
        return out
    }

    private static func append(_ entry: CpioEntry, to out: inout [UInt8]) {
        precondition(entry.data.count <= Int(UInt32.max), "cpio newc cannot hold a member of 4 GiB or more")
        let name = Array(entry.name.utf8) + [0]
        let fields: [UInt32] = [
            entry.ino, entry.mode, entry.uid, entry.gid, entry.nlink, entry.mtime,
            UInt32(entry.data.count), entry.devMajor, entry.devMinor, entry.rdevMajor, entry.rdevMinor,
            UInt32(name.count), 0,
        ]
        out += magic
        for field in fields { out += hex8(field) }
        out += name
        pad(&out)
        out += entry.data
        pad(&out)
    }

    private static func pad(_ out: inout [UInt8]) {
        while out.count % 4 != 0 { out.append(0) }
    }

    private static func hex8(_ value: UInt32) -> [UInt8] {
        let digits = Array("0123456789ABCDEF".utf8)
        return (0..<8).reversed().map { digits[Int((value >> (UInt32($0) * 4)) & 0xF)] }
    }

    /// The entries of a newc archive, without the trailer.
    ///
    /// Strict: a wrong magic, a short header, name or data, a non-hex field, or a name without
    /// its NUL each throw a ``CpioError`` with the offset. Reading stops at `TRAILER!!!`; only
    /// zero bytes may follow it. The `check` field is not verified (newc leaves it 0).
    public static func read(_ bytes: [UInt8]) throws(CpioError) -> [CpioEntry] {
        var entries: [CpioEntry] = []
        var offset = 0
        while true {
            guard offset < bytes.count else { throw .missingTrailer(offset: offset) }
            guard bytes.count - offset >= headerSize else {
                // Report a wrong magic before a short header: it says more.
                let available = min(magic.count, bytes.count - offset)
                if !bytes[offset..<(offset + available)].elementsEqual(magic.prefix(available)) {
                    throw .badMagic(offset: offset)
                }
                throw .truncatedHeader(offset: offset)
            }
            guard bytes[offset..<(offset + 6)].elementsEqual(magic) else { throw .badMagic(offset: offset) }

            var fields: [UInt32] = []
            for (index, field) in fieldNames.enumerated() {
                let start = offset + 6 + index * 8
                guard let value = parseHex8(bytes[start..<(start + 8)]) else {
                    throw .invalidHexDigit(offset: start, field: field)
                }
                fields.append(value)
            }
            let fileSize = Int(fields[6])
            let nameSize = Int(fields[11])

            let nameStart = offset + headerSize
            guard nameSize > 0 else { throw .emptyName(offset: offset) }
            let nameEnd = nameStart + nameSize
            let dataStart = align4(nameEnd)
            guard dataStart <= bytes.count else { throw .truncatedName(offset: nameStart) }
            guard bytes[nameEnd - 1] == 0 else { throw .nameNotTerminated(offset: nameEnd - 1) }
            let nameBytes = bytes[nameStart..<(nameEnd - 1)]
            let name = String(decoding: nameBytes, as: UTF8.self)
            guard name.utf8.elementsEqual(nameBytes) else { throw .invalidName(offset: nameStart) }

            let dataEnd = dataStart + fileSize
            let next = align4(dataEnd)
            guard next <= bytes.count else { throw .truncatedData(offset: dataStart, name: name) }

            if name == trailerName {
                if let garbage = bytes[next...].firstIndex(where: { $0 != 0 }) {
                    throw .trailingGarbage(offset: garbage)
                }
                return entries
            }
            entries.append(CpioEntry(
                name: name, mode: fields[1], uid: fields[2], gid: fields[3], nlink: fields[4],
                mtime: fields[5], ino: fields[0], devMajor: fields[7], devMinor: fields[8],
                rdevMajor: fields[9], rdevMinor: fields[10], data: Array(bytes[dataStart..<dataEnd])))
            offset = next
        }
    }

    private static func align4(_ value: Int) -> Int {
        (value + 3) & ~3
    }

    private static func parseHex8(_ digits: ArraySlice<UInt8>) -> UInt32? {
        var value: UInt32 = 0
        for digit in digits {
            let nibble: UInt8
            switch digit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = digit - UInt8(ascii: "0")
            case UInt8(ascii: "A")...UInt8(ascii: "F"): nibble = digit - UInt8(ascii: "A") + 10
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = digit - UInt8(ascii: "a") + 10
            default: return nil
            }
            value = value << 4 | UInt32(nibble)
        }
        return value
    }
}
