/// netascii (RFC 764, as RFC 1350 uses it) for files the server sends: a line feed goes out as CR LF
/// and a lone carriage return as CR NUL, so a client on any system rebuilds the file's lines.
public enum NetASCII {
    public static func encode(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + bytes.count / 16)
        for byte in bytes {
            switch byte {
            case 0x0A: out += [0x0D, 0x0A]
            case 0x0D: out += [0x0D, 0x00]
            default: out.append(byte)
            }
        }
        return out
    }
}
