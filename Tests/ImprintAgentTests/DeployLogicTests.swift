@testable import ImprintCore
import Testing

@testable import ImprintAgent

@Suite("Deploy decisions: disk choice, customization plan, kexec plan")
struct DeployLogicTests {
    static let disks = [
        Disk(name: "sda", bytes: 32 << 30, removable: true),
        Disk(name: "vda", bytes: 64 << 20, removable: false),
        Disk(name: "vdb", bytes: 128 << 20, removable: false),
    ]

    @Test("largest non-removable, never the boot medium, big enough")
    func chooseDisk() throws {
        #expect(try DiskChoice.choose(.largestNonRemovable, disks: Self.disks, excluded: [], imageBytes: 1 << 20).get().name == "vdb")
        #expect(try DiskChoice.choose(.largestNonRemovable, disks: Self.disks, excluded: ["vdb"], imageBytes: 1 << 20).get().name == "vda")
        #expect(try DiskChoice.choose(.path("/dev/vda"), disks: Self.disks, excluded: [], imageBytes: 1 << 20).get().name == "vda")
        guard case .failure(let small) = DiskChoice.choose(.largestNonRemovable, disks: Self.disks, excluded: [], imageBytes: 1 << 30) else {
            Issue.record("a 1 GiB image does not fit 128 MiB")
            return
        }
        #expect(small.what.contains("the image needs 1.0 GiB") && small.hint.contains("nothing was written"))
        guard case .failure(let missing) = DiskChoice.choose(.path("/dev/nvme0n1"), disks: Self.disks, excluded: [], imageBytes: 1) else {
            Issue.record("a missing disk is refused")
            return
        }
        #expect(missing.what.contains("not on this machine") && missing.what.contains("vda 64.0 MiB"))
        guard case .failure(let medium) = DiskChoice.choose(.path("vda"), disks: Self.disks, excluded: ["vda"], imageBytes: 1) else {
            Issue.record("the boot medium is refused")
            return
        }
        #expect(medium.what.contains("booted from"))
        guard case .failure(let none) = DiskChoice.choose(.largestNonRemovable, disks: [Self.disks[0]], excluded: [], imageBytes: 1) else {
            Issue.record("only a removable disk: refused")
            return
        }
        #expect(none.what.contains("no non-removable disk"))
    }

    @Test("an image's size and block map are checked against the disk")
    func checkImage() {
        var image = ImageDescriptor(name: "g", blob: String(repeating: "a", count: 64), uncompressedSha256: String(repeating: "b", count: 64),
                                    format: .raw, compression: .zstd, size: 10, uncompressedSize: 1 << 20,
                                    blockMap: BlockMap(blockSize: 65536, size: 1 << 20, ranges: [.init(offset: 0, length: 65536)]))
        #expect(DiskChoice.check(image: image, diskBytes: 2 << 20, diskName: "d") == nil)
        #expect(DiskChoice.check(image: image, diskBytes: 1 << 19, diskName: "d")?.what.contains("the image needs") == true)
        image.blockMap?.ranges.append(.init(offset: 3 << 20, length: 65536))
        #expect(DiskChoice.check(image: image, diskBytes: 2 << 20, diskName: "d")?.what.contains("block map reaches byte") == true)
    }

    @Test("a tar image's layout is checked against the disk: it fits, and its file systems hold the tree")
    func checkTree() throws {
        let image = ImageDescriptor(name: "t", blob: String(repeating: "a", count: 64), uncompressedSha256: String(repeating: "b", count: 64),
                                    format: .tar, compression: .zstd, size: 10, uncompressedSize: 20 << 20)
        let layout = try DiskLayout([DiskLayout.partition(spec: "esp:8M:vfat:/boot/efi"), DiskLayout.partition(spec: "root:rest:ext4:/")])
        #expect(DiskChoice.checkTree(image: image, layout: layout, diskBytes: 64 << 20, diskName: "d") == nil)
        // 32 MiB: the root gets 22 MiB less the backup table, the ESP 8 MiB: 30 MiB hold a 20 MiB tree.
        #expect(DiskChoice.checkTree(image: image, layout: layout, diskBytes: 32 << 20, diskName: "d") == nil)
        #expect(DiskChoice.checkTree(image: image, layout: layout, diskBytes: 20 << 20, diskName: "d")?.what.contains("the layout's file systems on d hold") == true)
        let failure = DiskChoice.checkTree(image: image, layout: layout, diskBytes: 9 << 20, diskName: "d")
        #expect(failure?.what.contains("the layout does not fit disk d") == true && failure?.hint.contains("nothing was written") == true)
        #expect(failure?.retryable == false)
    }

    @Test("the customization plan: hostname, files, seed, and the record of them")
    func plan() throws {
        let mac = try MACAddress(parsing: "52:54:00:12:34:56")
        var assignment = DeviceAssignment(mac: mac, profile: "p", imageName: "g", imageSha256: String(repeating: "c", count: 64), hostname: "lab-01",
                                          files: [.init(path: "/etc/motd", mode: 0o600, content: Array("hi\n".utf8))])
        assignment.cloudInit = .init(userData: "#cloud-config\n")
        let plan = CustomizationPlan.make(assignment)
        #expect(plan.items.map(\.path) == ["/etc/hostname", "/etc/motd", "/var/lib/cloud/seed/nocloud/meta-data",
                                           "/var/lib/cloud/seed/nocloud/user-data", "/etc/imprint/customized"])
        #expect(plan.items[0].content == Array("lab-01\n".utf8))
        #expect(plan.items[1].mode == 0o600)
        #expect(String(decoding: plan.items[2].content, as: UTF8.self) == "instance-id: iid-52-54-00-12-34-56-cccccccccccc\nlocal-hostname: lab-01\n")
        #expect(String(decoding: plan.items[4].content, as: UTF8.self)
            == "hostname lab-01\nfile /etc/motd\nseed /var/lib/cloud/seed/nocloud/meta-data\nseed /var/lib/cloud/seed/nocloud/user-data\n")
        let empty = DeviceAssignment(mac: mac, profile: "p", imageName: "g", imageSha256: "c")
        #expect(CustomizationPlan.make(empty).isEmpty)
    }

    @Test("the partition: the assignment's number, else root, else the first Linux filesystem")
    func partition() throws {
        func part(_ number: Int, _ name: String, _ type: GUID) -> GPTPartition {
            GPTPartition(number: number, type: type, unique: .zero, firstLBA: UInt64(number) * 2048, lastLBA: UInt64(number) * 2048 + 2047, name: name)
        }
        let table = GPTTable(diskGUID: .zero, sectorSize: 512, firstUsableLBA: 34, lastUsableLBA: 100_000,
                             partitions: [part(1, "esp", .efiSystem), part(2, "data", .linuxFilesystem), part(3, "root", .linuxFilesystem)], fromBackup: false)
        #expect(try CustomizationPlan.partition(in: table, number: nil).get().number == 3)
        #expect(try CustomizationPlan.partition(in: table, number: 2).get().number == 2)
        guard case .failure = CustomizationPlan.partition(in: table, number: 9) else { Issue.record("partition 9 does not exist"); return }
        var noRoot = table
        noRoot.partitions.removeLast()
        #expect(try CustomizationPlan.partition(in: noRoot, number: nil).get().number == 2)
        #expect(CustomizationPlan.partitionDevice(disk: "/dev/vda", number: 2) == "/dev/vda2")
        #expect(CustomizationPlan.partitionDevice(disk: "/dev/nvme0n1", number: 2) == "/dev/nvme0n1p2")
    }

    @Test("kexec: consoles kept, root by PARTUUID; links resolved inside the root")
    func kexec() throws {
        let guid = try #require(GUID("0FC63DAF-8483-4772-8E79-3D69D8477DE4"))
        #expect(KexecPlan.commandLine(agentCommandLine: "console=tty0 console=ttyS0 quiet imprint.mode=deploy\n", rootPartition: guid)
            == "console=tty0 console=ttyS0 root=PARTUUID=0fc63daf-8483-4772-8e79-3d69d8477de4 ro panic=-1")
        let links = ["/boot/vmlinuz": "vmlinuz-6.1", "/vmlinuz": "/boot/vmlinuz", "/up": "../../../etc", "/a": "/b", "/b": "/a"]
        #expect(KexecPlan.resolve("/boot/vmlinuz", readLink: { links[$0] }) == "/boot/vmlinuz-6.1")
        #expect(KexecPlan.resolve("/vmlinuz", readLink: { links[$0] }) == "/boot/vmlinuz-6.1")
        #expect(KexecPlan.resolve("/up/passwd", readLink: { links[$0] }) == "/etc/passwd", "never above the root")
        #expect(KexecPlan.resolve("/a", readLink: { links[$0] }) == nil, "a loop is refused")
    }
}
