import ImprintCore

/// What customization writes into the deployed system, decided from the assignment alone (pure).
public struct CustomizationPlan: Equatable, Sendable {
    public struct Item: Equatable, Sendable {
        /// Absolute path in the deployed system.
        public var path: String
        public var mode: UInt32
        public var content: [UInt8]
        /// Its line in `/etc/imprint/customized`: `hostname lab-01`, `file /etc/motd`, `seed ...`.
        public var note: String
    }

    /// Where NoCloud looks for a seed on the root file system.
    public static let seedDirectory = "/var/lib/cloud/seed/nocloud"
    /// The list of what was written, one line each, for the deployed system (and the demo image) to show.
    public static let recordPath = "/etc/imprint/customized"

    public var items: [Item]

    public var isEmpty: Bool { items.isEmpty }

    /// Hostname, the assignment's files, the NoCloud seed, then the record of all three.
    public static func make(_ assignment: DeviceAssignment) -> CustomizationPlan {
        var items: [Item] = []
        if let hostname = assignment.hostname, !hostname.isEmpty {
            items.append(Item(path: "/etc/hostname", mode: 0o644, content: Array((hostname + "\n").utf8), note: "hostname \(hostname)"))
        }
        for file in assignment.files {
            items.append(Item(path: file.path, mode: file.mode, content: file.content, note: "file \(file.path)"))
        }
        if let seed = assignment.cloudInit {
            let instance = "iid-\(assignment.mac.hyphenated)-\(assignment.imageSha256.prefix(12))"
            let metaData = seed.metaData ?? "instance-id: \(instance)\nlocal-hostname: \(assignment.hostname ?? assignment.mac.hyphenated)\n"
            items.append(Item(path: seedDirectory + "/meta-data", mode: 0o644, content: Array(metaData.utf8), note: "seed \(seedDirectory)/meta-data"))
            // NoCloud needs user-data present, even empty.
            let userData = seed.userData ?? "#cloud-config\n{}\n"
            items.append(Item(path: seedDirectory + "/user-data", mode: 0o600, content: Array(userData.utf8), note: "seed \(seedDirectory)/user-data"))
        }
        guard !items.isEmpty else { return CustomizationPlan(items: []) }
        let record = items.map(\.note).joined(separator: "\n") + "\n"
        items.append(Item(path: recordPath, mode: 0o644, content: Array(record.utf8), note: "record \(recordPath)"))
        return CustomizationPlan(items: items)
    }

    /// The partition to customize: the assignment's number, else the one named `root`, else the
    /// first Linux filesystem partition; nil with the reason when none fits.
    public static func partition(in table: GPTTable, number: Int?) -> Result<GPTPartition, DeployFailure> {
        if let number {
            guard let found = table.partitions.first(where: { $0.number == number }) else {
                return .failure(DeployFailure(.customize, "the assignment names partition \(number); the image's table has \(table.partitions.map { String($0.number) }.joined(separator: ", "))",
                                              hint: "fix the assignment's \"partition\"", retryable: false))
            }
            return .success(found)
        }
        if let root = table.partition(named: "root") { return .success(root) }
        if let linux = table.partitions.first(where: { $0.type == .linuxFilesystem }) { return .success(linux) }
        return .failure(DeployFailure(.customize, "the image has no partition named root and no Linux filesystem partition",
                                      hint: "name one in the assignment (\"partition\")", retryable: false))
    }

    /// `/dev/vda` 2 -> `/dev/vda2`; `/dev/nvme0n1` 2 -> `/dev/nvme0n1p2` (a name ending in a digit takes `p`).
    public static func partitionDevice(disk: String, number: Int) -> String {
        guard let last = disk.last, last.isNumber else { return "\(disk)\(number)" }
        return "\(disk)p\(number)"
    }
}
