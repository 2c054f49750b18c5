import ImprintCore

/// Which disk an assignment's image goes to, decided before a byte is written (pure).
public enum DiskChoice {
    /// The disk for `rule` among `disks`, never one in `excluded` (the medium the agent booted
    /// from), holding at least `imageBytes`; or the reason there is none.
    public static func choose(_ rule: DeviceAssignment.Disk, disks: [Disk], excluded: Set<String>, imageBytes: Int) -> Result<Disk, DeployFailure> {
        let listing = disks.isEmpty ? "none found" : disks.map {
            "\($0.name) \(humanSize($0.bytes))\($0.removable ? " removable" : "")\(excluded.contains($0.name) ? " (the boot medium)" : "")"
        }.joined(separator: ", ")
        let chosen: Disk
        switch rule {
        case .path(let path):
            let name = path.hasPrefix("/dev/") ? String(path.dropFirst(5)) : path
            guard let disk = disks.first(where: { $0.name == name }) else {
                return .failure(DeployFailure(.preflight, "the assignment's disk \(path) is not on this machine (disks: \(listing))",
                                              hint: "fix the assignment's disk, or check the profile drives this machine's disk controller", retryable: false))
            }
            chosen = disk
        case .largestNonRemovable:
            let candidates = disks.filter { !$0.removable && !excluded.contains($0.name) && $0.bytes > 0 }
            guard let disk = candidates.max(by: { $0.bytes < $1.bytes || ($0.bytes == $1.bytes && $0.name > $1.name) }) else {
                return .failure(DeployFailure(.preflight, "no non-removable disk to deploy to (disks: \(listing))",
                                              hint: "check the profile has the disk controller's driver (coldplug above lists what loaded)", retryable: false))
            }
            chosen = disk
        }
        if excluded.contains(chosen.name) {
            return .failure(DeployFailure(.preflight, "\(chosen.name) is the medium this agent booted from",
                                          hint: "name another disk in the assignment", retryable: false))
        }
        guard chosen.bytes >= imageBytes else {
            return .failure(DeployFailure(.preflight, "disk \(chosen.name) holds \(humanSize(chosen.bytes)) (\(chosen.bytes) bytes), the image needs \(humanSize(imageBytes)) (\(imageBytes) bytes)",
                                          hint: "assign a smaller image or give the machine a larger disk; nothing was written", retryable: false))
        }
        return .success(chosen)
    }

    /// Checks an image against a disk of `diskBytes` before writing: its size and its block map.
    public static func check(image: ImageDescriptor, diskBytes: Int, diskName: String) -> DeployFailure? {
        guard image.uncompressedSize <= diskBytes else {
            return DeployFailure(.preflight, "disk \(diskName) holds \(humanSize(diskBytes)) (\(diskBytes) bytes), the image needs \(humanSize(image.uncompressedSize)) (\(image.uncompressedSize) bytes)",
                                 hint: "assign a smaller image or give the machine a larger disk; nothing was written", retryable: false)
        }
        if let map = image.blockMap, let last = map.ranges.last {
            let end = last.offset + last.length
            if end > diskBytes || end > image.uncompressedSize || map.ranges.contains(where: { $0.offset < 0 || $0.length <= 0 }) {
                return DeployFailure(.preflight, "the image's block map reaches byte \(end), beyond the disk's \(diskBytes) or the image's \(image.uncompressedSize)",
                                     hint: "the image descriptor is damaged: re-add the image (imprint image add); nothing was written", retryable: false)
            }
        }
        return nil
    }
}

extension DiskChoice {
    /// Checks a `tar` image's layout against a disk of `diskBytes`: the GPT fits, and the
    /// partitions with a mounted file system hold at least the tar's size (a tree takes about
    /// its tar's bytes plus the file systems' own overhead).
    public static func checkTree(image: ImageDescriptor, layout: DiskLayout, diskBytes: Int, diskName: String) -> DeployFailure? {
        let table: GPTLayout
        do {
            table = try layout.gpt(diskSize: diskBytes) { _ in .zero }
        } catch {
            return DeployFailure(.preflight, "the layout does not fit disk \(diskName) (\(humanSize(diskBytes))): \(error)",
                                 hint: "the layout needs at least \(humanSize(layout.minimumDiskBytes)): give smaller partitions (--part) or a larger disk; nothing was written",
                                 retryable: false)
        }
        let room = zip(layout.partitions, table.partitions).filter { $0.0.mount != nil }.reduce(0) { $0 + $1.1.size }
        guard room >= image.uncompressedSize else {
            return DeployFailure(.preflight, "the layout's file systems on \(diskName) hold \(humanSize(room)), the tree of image \(image.name) is \(humanSize(image.uncompressedSize))",
                                 hint: "give the partitions more room (--part) or the machine a larger disk; nothing was written", retryable: false)
        }
        return nil
    }
}

/// `humanSize` for a signed byte count.
func humanSize(_ bytes: Int) -> String { humanSize(UInt64(max(0, bytes))) }
