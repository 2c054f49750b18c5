import Glibc
import ImprintCore

/// Reads each disk's ISO 9660 descriptor to find the boot medium (``BootMediumMatch``).
enum BootMediumProbe {
    /// The names of the disks that are the medium `imprint.medium=` names; empty without one.
    static func excluded(_ context: AgentContext) -> Set<String> {
        guard let medium = context.commandLine.medium else { return [] }
        let disks = Inventory.gather(from: context.fs).disks
        var ids: [String: String?] = [:]
        for disk in disks { ids[disk.name] = volumeID(device: "/dev/" + disk.name) }
        let found = BootMediumMatch.excluded(medium: medium, volumeIDs: ids)
        if found.isEmpty {
            context.log.warning("boot medium \(medium): on none of the disks (\(disks.map(\.name).joined(separator: ", "))); a CD is not a disk target anyway")
        } else {
            context.log.info("boot medium \(medium): \(found.sorted().joined(separator: ", ")), never a deploy target")
        }
        return found
    }

    /// The volume id on `device`, or nil (no ISO 9660 there, or the device cannot be read).
    static func volumeID(device: String) -> String? {
        let fd = open(device, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: BootMediumMatch.descriptorLength)
        let count = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(BootMediumMatch.descriptorOffset)) }
        guard count == bytes.count else { return nil }
        return BootMediumMatch.volumeID(descriptor: bytes)
    }
}
