import Foundation

extension StickCheck {
    /// What this machine's `/sys/block`, `/proc/self/mounts` and `/proc/swaps` say (the I/O around
    /// the pure ``problems(name:disks:mounts:swaps:deviceNames:)``).
    public struct Facts {
        public var disks: [Disk]
        public var mounts: String
        public var swaps: String
        public var deviceNames: [String: String]

        public static func gather(sys: String = "/sys/block", proc: String = "/proc") -> Facts {
            var disks: [Disk] = []
            var names: [String: String] = [:]
            for name in FileIO.list(sys).sorted() {
                let base = "\(sys)/\(name)"
                let partitions = FileIO.list(base).filter { $0.hasPrefix(name) && FileIO.exists("\(base)/\($0)/partition") }.sorted()
                var holders = FileIO.list("\(base)/holders")
                for partition in partitions { holders += FileIO.list("\(base)/\(partition)/holders") }
                let sectors = Int(read("\(base)/size") ?? "") ?? 0
                disks.append(Disk(name: name, removable: read("\(base)/removable") == "1", bytes: sectors * 512,
                                  partitions: partitions, holders: holders.sorted()))
                if let mapped = read("\(base)/dm/name") { names["/dev/mapper/\(mapped)"] = name }
            }
            return Facts(disks: disks, mounts: FileIO.readText("\(proc)/self/mounts") ?? "", swaps: FileIO.readText("\(proc)/swaps") ?? "",
                         deviceNames: names)
        }

        private static func read(_ path: String) -> String? {
            FileIO.readText(path)?.trimmingCharacters(in: .whitespacesAndNewlines)
        }

        public func problems(name: String) -> [Problem] {
            StickCheck.problems(name: name, disks: disks, mounts: mounts, swaps: swaps, deviceNames: deviceNames)
        }
    }
}
