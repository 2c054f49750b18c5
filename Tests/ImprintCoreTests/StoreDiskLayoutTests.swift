import Testing

@testable import ImprintCore

@Suite("Disk layout for tar images")
struct StoreDiskLayoutTests {
    static func layout(_ specs: String...) throws -> DiskLayout {
        try DiskLayout(specs.map { (spec: String) throws(StoreManifestError) -> DiskLayout.Partition in try DiskLayout.partition(spec: spec) })
    }

    @Test("--part specs: sizes, file systems, mounts and the type they imply")
    func specs() throws {
        let esp = try DiskLayout.partition(spec: "esp:256M:vfat:/boot/efi")
        #expect(esp == DiskLayout.Partition(name: "esp", type: .efiSystem, sizeMiB: 256, filesystem: .vfat, mount: "/boot/efi"))
        #expect(try DiskLayout.partition(spec: "root:rest:ext4:/") == DiskLayout.Partition(name: "root", type: .linuxFilesystem, sizeMiB: nil, filesystem: .ext4, mount: "/"))
        #expect(try DiskLayout.partition(spec: "data:2G:ext4:/srv").sizeMiB == 2048)
        #expect(try DiskLayout.partition(spec: "data:2GiB:ext4").sizeMiB == 2048)
        #expect(try DiskLayout.partition(spec: "boot:512:vfat:/efi").type == .efiSystem)
        #expect(try DiskLayout.partition(spec: "bios:1M:none").type == GUID("21686148-6449-6E6F-744E-656564454649"))
        #expect(try DiskLayout.partition(spec: "scratch:64M:ext4").mount == nil)
        for bad in ["root", "root:rest", "root:0:ext4:/", "root:-5M:ext4:/", "root:lots:ext4:/", "root:rest:btrfs:/", "a:1:ext4:/:x"] {
            #expect(throws: StoreManifestError.self, "\(bad)") { try DiskLayout.partition(spec: bad) }
        }
    }

    @Test("validation: one root, clean unique mounts, rest last, a file system where mounted")
    func validation() throws {
        _ = try Self.layout("esp:8M:vfat:/boot/efi", "root:rest:ext4:/")
        let cases: [([String], String)] = [
            (["data:rest:ext4:/srv"], "no partition mounted at /"),
            (["root:rest:ext4:/", "esp:8M:vfat:/boot/efi"], "only the last partition"),
            (["root:8M:ext4:/", "root:rest:ext4:/srv"], "used twice"),
            (["a:8M:ext4:/", "b:rest:ext4:/"], "mounted twice"),
            (["a:8M:ext4:/boot/../etc", "b:rest:ext4:/"], "without ., .. or repeated /"),
            (["a:8M:ext4:boot", "b:rest:ext4:/"], "must be an absolute path"),
            (["a:8M:none:/boot", "b:rest:ext4:/"], "has no file system"),
            (["root:rest:vfat:/"], "the root (/) must be ext4"),
            (["\(String(repeating: "n", count: 37)):rest:ext4:/"], "1-36 printable"),
        ]
        for (specs, message) in cases {
            do {
                _ = try DiskLayout(try specs.map { (spec: String) throws(StoreManifestError) -> DiskLayout.Partition in try DiskLayout.partition(spec: spec) })
                Issue.record("\(specs) was accepted")
            } catch {
                #expect(error.description.contains(message), "\(specs): \(error.description)")
            }
        }
    }

    @Test("members go to the partition mounted deepest above them")
    func routes() throws {
        let layout = try Self.layout("esp:8M:vfat:/boot/efi", "boot:64M:ext4:/boot", "root:rest:ext4:/")
        #expect(layout.rootNumber == 3)
        #expect(layout.route("./etc/hostname") == .init(partition: 2, path: "etc/hostname"))
        #expect(layout.route("/etc//hostname") == .init(partition: 2, path: "etc/hostname"))
        #expect(layout.route("boot/vmlinuz") == .init(partition: 1, path: "vmlinuz"))
        #expect(layout.route("./boot/efi/EFI/BOOT/BOOTX64.EFI") == .init(partition: 0, path: "EFI/BOOT/BOOTX64.EFI"))
        #expect(layout.route("boot/efi/") == .init(partition: 0, path: ""))
        #expect(layout.route("boot/efifoo") == .init(partition: 1, path: "efifoo"))
        #expect(layout.route("./") == .init(partition: 2, path: ""))
        #expect(layout.route("bootstrap") == .init(partition: 2, path: "bootstrap"))
        #expect(layout.route("../etc/passwd") == nil)
        #expect(layout.route("etc/../../x") == nil)
        #expect(layout.route("etc/a\u{0}b") == nil)
        #expect(layout.mountPointsInRoot == ["boot", "boot/efi"])
    }

    @Test("the GPT: partitions in order on MiB boundaries, the rest to the last, GUIDs as given")
    func gpt() throws {
        let layout = try Self.layout("esp:8M:vfat:/boot/efi", "root:rest:ext4:/")
        let table = try layout.gpt(diskSize: 64 << 20) { GUID.derived(from: [UInt8](repeating: UInt8($0 + 1), count: 16)) }
        #expect(table.partitions.map(\.name) == ["esp", "root"])
        #expect(table.partitions[0].offset == 1 << 20 && table.partitions[0].size == 8 << 20)
        #expect(table.partitions[1].offset == 9 << 20 && table.partitions[1].offset + table.partitions[1].size == (64 << 20) - 33 * 512)
        #expect(table.partitions[1].unique == GUID.derived(from: [UInt8](repeating: 3, count: 16)))
        let parsed = try GPT.parse(disk: GPTFixture.reader(GPTFixture.disk(table)), diskSize: 64 << 20)
        #expect(parsed.partitions.map(\.type) == [.efiSystem, .linuxFilesystem])
        #expect(layout.minimumDiskBytes == 11 << 20)
        #expect(throws: GPTError.self) { try layout.gpt(diskSize: 9 << 20) { _ in .zero } }
    }

    @Test("the assignment carries the layout through JSON; the standard layout when none")
    func assignmentJSON() throws {
        var assignment = DeviceAssignment(mac: try MACAddress(parsing: "52:54:00:12:34:56"), profile: "p", imageName: "t",
                                          imageSha256: String(repeating: "a", count: 64))
        #expect(try DeviceAssignment.parse(assignment.serialized).layout == nil)
        assignment.layout = try Self.layout("esp:8M:vfat:/boot/efi", "swap:1G:none", "root:rest:ext4:/")
        #expect(assignment.serialized.contains("\"type\": \"swap\""))
        let parsed = try DeviceAssignment.parse(assignment.serialized)
        #expect(parsed.layout == assignment.layout)
        let hostile = assignment.serialized.replacingOccurrences(of: "\"mount\": \"/boot/efi\"", with: "\"mount\": \"/../etc\"")
        #expect(throws: StoreManifestError.self) { try DeviceAssignment.parse(hostile) }
        let unknown = assignment.serialized.replacingOccurrences(of: "\"filesystem\": \"vfat\"", with: "\"filesystem\": \"zfs\"")
        #expect(throws: StoreManifestError.self) { try DeviceAssignment.parse(unknown) }
        #expect(DiskLayout.standard.partitions.map(\.name) == ["esp", "root"] && DiskLayout.standard.rootNumber == 2)
        try DiskLayout.standard.validate()
    }
}
