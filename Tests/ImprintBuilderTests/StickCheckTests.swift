import Testing

@testable import ImprintBuilder

/// `imprint usb --device`'s decision from fixture `/sys/block` and `/proc/self/mounts` data.
@Suite("Stick check")
struct StickCheckTests {
    static let disks = [
        StickCheck.Disk(name: "nvme0n1", removable: false, bytes: 512 << 30, partitions: ["nvme0n1p1", "nvme0n1p2"], holders: ["dm-0"]),
        StickCheck.Disk(name: "sda", removable: false, bytes: 1 << 40, partitions: ["sda1"]),
        StickCheck.Disk(name: "sdb", removable: true, bytes: 16 << 30, partitions: ["sdb1"]),
        StickCheck.Disk(name: "sdc", removable: true, bytes: 0),
        StickCheck.Disk(name: "sdd", removable: true, bytes: 8 << 30),
        StickCheck.Disk(name: "vda", removable: false, bytes: 256 << 30),
    ]
    static let mounts = """
        proc /proc proc rw,relatime 0 0
        /dev/mapper/vg-root / ext4 rw,relatime 0 0
        /dev/nvme0n1p1 /boot/efi vfat rw 0 0
        /dev/sda1 /srv/data\\040disk ext4 rw 0 0
        /dev/sdb1 /media/user/STICK vfat rw,nosuid 0 0
        """
    static let swaps = "Filename\tType\tSize\tUsed\tPriority\n/dev/vda                                partition\t1048572\t0\t-2\n"
    static let names = ["/dev/mapper/vg-root": "dm-0"]

    static func problems(_ name: String) -> [StickCheck.Problem] {
        StickCheck.problems(name: name, disks: disks, mounts: mounts, swaps: swaps, deviceNames: names)
    }

    @Test func aFreeRemovableStickPasses() {
        #expect(Self.problems("sdd").isEmpty)
    }

    @Test func theSystemDiskIsRefusedEvenWithForce() {
        let problems = Self.problems("nvme0n1")
        #expect(problems == [.holdsTheSystem("nvme0n1", mountPoints: ["/", "/boot/efi"]), .notRemovable("nvme0n1")])
        #expect(StickCheck.refusals(problems, force: true) == [.holdsTheSystem("nvme0n1", mountPoints: ["/", "/boot/efi"])])
        // Swap is the running system too.
        #expect(Self.problems("vda") == [.holdsTheSystem("vda", mountPoints: ["[swap]"]), .notRemovable("vda")])
    }

    @Test func aMountedStickNeedsForce() {
        let problems = Self.problems("sdb")
        #expect(problems == [.mounted("sdb", mountPoints: ["/media/user/STICK"])])
        #expect(StickCheck.refusals(problems, force: false) == problems)
        #expect(StickCheck.refusals(problems, force: true).isEmpty)
    }

    @Test func aFixedDataDiskNeedsForce() {
        #expect(Self.problems("sda") == [.mounted("sda", mountPoints: ["/srv/data disk"]), .notRemovable("sda")])
        #expect(StickCheck.refusals(Self.problems("sda"), force: true).isEmpty)
    }

    @Test func partitionsUnknownDevicesAndEmptyDrivesAreRefused() {
        #expect(Self.problems("sdb1") == [.partition("sdb1", disk: "sdb")])
        #expect(Self.problems("sdz") == [.notADisk("/dev/sdz")])
        #expect(Self.problems("sdc") == [.noMedium("sdc")])
        for problem in [Self.problems("sdb1"), Self.problems("sdz"), Self.problems("sdc")].joined() {
            #expect(!problem.overridable)
        }
    }

    @Test func messagesSayWhatToDo() {
        #expect(StickCheck.Problem.mounted("sdb", mountPoints: ["/media/x"]).description == "/dev/sdb is mounted (/media/x): unmount it first (umount), or pass --force")
        #expect(StickCheck.Problem.holdsTheSystem("vda", mountPoints: ["/"]).description.contains("refused even with --force"))
    }

    /// This machine's own facts: whatever disk holds / is refused, with or without --force.
    @Test func thisMachinesRootDiskIsRefused() throws {
        let facts = StickCheck.Facts.gather()
        var rootNames: Set<String> = []
        for line in facts.mounts.split(separator: "\n") {
            let fields: [Substring] = line.split(separator: " ")
            if fields.count > 1 && fields[1] == "/" { rootNames.insert(StickCheck.kernelName(String(fields[0]), facts.deviceNames)) }
        }
        let rootDisk = facts.disks.first { disk in
            !rootNames.isDisjoint(with: [disk.name] + disk.partitions + disk.holders)
        }
        guard let rootDisk else { return }  // / on an overlay or network file system: no disk holds it
        let refusals = StickCheck.refusals(facts.problems(name: rootDisk.name), force: true)
        #expect(refusals.contains { if case .holdsTheSystem = $0 { return true } else { return false } }, "\(refusals)")
    }
}
