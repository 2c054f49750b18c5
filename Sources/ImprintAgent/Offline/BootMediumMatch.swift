/// Which disks are the medium the agent booted from (docs/media.md "The boot medium is never a
/// target"), decided from bytes read off each disk (pure). Every imprint medium is an ISO 9660 image
/// (hybrid: also a GPT disk), its volume id is the one GRUB searched for, and the medium passes it to
/// the kernel as `imprint.medium=<volume id>`: a disk whose primary volume descriptor carries that id
/// is the medium, whatever its bus, size or removable flag.
public enum BootMediumMatch {
    /// Byte offset of the ISO 9660 primary volume descriptor: sector 16 of 2048 bytes.
    public static let descriptorOffset = 32_768
    /// Bytes to read there: the descriptor's type, `CD001`, version and volume id fit in 72.
    public static let descriptorLength = 72

    /// The volume id of the primary volume descriptor in `bytes` (read at ``descriptorOffset``),
    /// trailing spaces removed; nil when the bytes are no such descriptor.
    public static func volumeID(descriptor bytes: [UInt8]) -> String? {
        // Type 1 (primary), "CD001", version 1; the volume id is bytes 40..<72, space-padded a-characters.
        guard bytes.count >= 72, bytes[0] == 1, Array(bytes[1..<6]) == Array("CD001".utf8), bytes[6] == 1 else { return nil }
        var id = Array(bytes[40..<72])
        while let last = id.last, last == 0x20 || last == 0 { id.removeLast() }
        guard !id.isEmpty, id.allSatisfy({ $0 >= 0x20 && $0 < 0x7f }) else { return nil }
        return String(decoding: id, as: UTF8.self)
    }

    /// The names of the disks to leave alone: those whose volume id is `medium`. `volumeIDs` maps each
    /// disk's name to what ``volumeID(descriptor:)`` found on it (nil: none, or unreadable).
    public static func excluded(medium: String?, volumeIDs: [String: String?]) -> Set<String> {
        guard let medium, !medium.isEmpty else { return [] }
        return Set(volumeIDs.compactMap { name, id in id == medium ? name : nil })
    }
}
