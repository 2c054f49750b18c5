/// How an image file is compressed, told by its first bytes.
public enum Compression: String, CaseIterable, Sendable {
    case none, zstd, xz, gzip

    /// The most bytes ``detect(_:)`` looks at.
    public static let magicLength = 6

    /// The compression whose magic number `prefix` starts with: zstd `28 B5 2F FD`,
    /// xz `FD 37 7A 58 5A 00`, gzip `1F 8B`; anything else, or too few bytes, is `none`.
    public static func detect<Bytes: Collection<UInt8>>(_ prefix: Bytes) -> Compression {
        let head = Array(prefix.prefix(magicLength))
        if head.starts(with: [0x28, 0xB5, 0x2F, 0xFD]) { return .zstd }
        if head.starts(with: [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00]) { return .xz }
        if head.starts(with: [0x1F, 0x8B]) { return .gzip }
        return .none
    }
}

/// What an image holds once uncompressed.
public enum ImageFormat: String, CaseIterable, Sendable {
    /// A whole disk, written from offset 0.
    case raw
    /// A file tree (POSIX tar), unpacked onto a partition layout.
    case tar

    /// The offset of a ustar header's magic (`ustar`) in the first 512 bytes of a tar archive.
    public static let ustarMagicOffset = 257

    /// `tar` when `prefix` (the first bytes of the uncompressed stream) holds `ustar` at offset
    /// 257, as POSIX and GNU tar both write; `raw` otherwise.
    public static func detect<Bytes: Collection<UInt8>>(_ prefix: Bytes) -> ImageFormat {
        let head = Array(prefix.prefix(ustarMagicOffset + 5))
        guard head.count == ustarMagicOffset + 5 else { return .raw }
        return head[ustarMagicOffset...].elementsEqual("ustar".utf8) ? .tar : .raw
    }
}
