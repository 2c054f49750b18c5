import Foundation
import ImprintCore
import ImprintDigest
import Testing

@testable import ImprintBuilder

/// Boot media's pure pieces (GRUB script, volume ids, xorriso's arguments, ids) compared whole, and
/// media built from a stand-in profile in a fraction of a second each: reproducible, laid out as a
/// valid GPT disk with the files in place, and leaving nothing behind when refused or failing.
@Suite("Boot media")
struct MediaTests {
    static let mac = "52:54:00:12:34:56"

    // MARK: GRUB's embedded script

    @Test func deviceScriptGolden() {
        let config = GRUBConfig(label: "IMPRINT_525400123456", cmdline: "console=tty0 console=ttyS0",
                                initrds: ["/boot/initrd.img", "/boot/identity.cpio"])
        #expect(config.rendered == """
            serial --unit=0 --speed=9600
            terminal_input serial console
            terminal_output serial console
            search --no-floppy --set=root --label IMPRINT_525400123456
            linux ($root)/boot/vmlinuz 'console=tty0' 'console=ttyS0'
            initrd ($root)/boot/initrd.img ($root)/boot/identity.cpio
            boot

            """)
    }

    @Test func profileScriptWithoutSerialConsoleGolden() {
        // Words are single-quoted: GRUB's parser leaves $, ; and # in them alone.
        let config = GRUBConfig(label: "IMPRINT_QEMU_VIRTIO", cmdline: " console=tty0  quiet x=$a;b#c ", initrds: ["/boot/initrd.img"])
        #expect(config.rendered == """
            search --no-floppy --set=root --label IMPRINT_QEMU_VIRTIO
            linux ($root)/boot/vmlinuz 'console=tty0' 'quiet' 'x=$a;b#c'
            initrd ($root)/boot/initrd.img
            boot

            """)
    }

    @Test(arguments: [
        ("console=tty0 console=ttyS0", GRUBConfig.SerialPort(unit: 0, speed: 9600)),
        ("console=ttyS1,115200n8 console=tty0", GRUBConfig.SerialPort(unit: 1, speed: 115200)),
        ("quiet console=ttyS0,57600 console=ttyS1,9600", GRUBConfig.SerialPort(unit: 0, speed: 57600)),
        ("console=ttyS,115200 console=ttyS2", GRUBConfig.SerialPort(unit: 2, speed: 9600)),
    ])
    func serialConsoleFollowsTheKernel(_ cmdline: String, _ expected: GRUBConfig.SerialPort) {
        #expect(GRUBConfig.serialConsole(in: cmdline) == expected)
    }

    @Test(arguments: ["console=tty0", "", "quiet xconsole=ttyS0"])
    func noSerialConsole(_ cmdline: String) {
        #expect(GRUBConfig.serialConsole(in: cmdline) == nil)
    }

    @Test(arguments: [
        ("console=ttyS0 init=\"/bin/sh\"", true), ("a='b'", true), ("path=C:\\x", true), ("a\nb", true),
        ("console=tty0 console=ttyS0,115200n8 x=$y;z&w {b}", false), ("", false),
    ])
    func commandLinesGRUBWouldMangle(_ cmdline: String, _ refused: Bool) {
        #expect((GRUBConfig.problem(withCmdline: cmdline) != nil) == refused, "\(cmdline)")
    }

    // MARK: Layout

    @Test func volumeIDs() throws {
        #expect(BootMedium.label(for: .device(try MACAddress(parsing: Self.mac))) == "IMPRINT_525400123456")
        #expect(BootMedium.label(for: .profile("qemu-virtio")) == "IMPRINT_QEMU_VIRTIO")
        let long = BootMedium.label(for: .profile("a-very-long.profile_name-for-some-hardware"))
        #expect(long == "IMPRINT_A_VERY_LONG_PROFILE_NAME")
        #expect(long.count == 32)
    }

    @Test func xorrisoArgumentsGolden() throws {
        let guid = try #require(GUID("C12A7328-F81F-41D2-BA4B-00A0C93EC93B"))
        let layout = HybridLayout(label: "IMPRINT_525400123456", diskGUID: guid, files: [
            ISOFile(path: "boot/vmlinuz", source: "/s/boot/p/vmlinuz"),
            ISOFile(path: "boot/initrd.img", source: "/s/odd=name\\/initrd.img"),
            ISOFile(path: GRUBConfig.biosImagePath, source: "/w/eltorito.img"),
        ], hybridMBR: "/usr/lib/grub/i386-pc/boot_hybrid.img", appended: [.init(number: 2, type: "0xef", image: "/w/efi.img")])
        #expect(layout.xorrisoArguments(output: "/out/.a.iso.partial", epoch: BootMedium.epoch) == [
            "-as", "mkisofs", "-o", "/out/.a.iso.partial", "-r", "-V", "IMPRINT_525400123456",
            "--modification-date=2024010100000000", "--set_all_file_dates", "2024010100000000",
            "--gpt_disk_guid", "C12A7328-F81F-41D2-BA4B-00A0C93EC93B", "-no-pad", "-graft-points",
            "-b", "boot/grub/eltorito.img", "-no-emul-boot", "-boot-load-size", "4", "-boot-info-table", "--grub2-boot-info",
            "-c", "boot/grub/boot.cat", "--grub2-mbr", "/usr/lib/grub/i386-pc/boot_hybrid.img",
            "-append_partition", "2", "0xef", "/w/efi.img", "-appended_part_as_gpt",
            "-eltorito-alt-boot", "-e", "--interval:appended_partition_2:all::", "-no-emul-boot",
            "boot/vmlinuz=/s/boot/p/vmlinuz", "boot/initrd.img=/s/odd\\=name\\\\/initrd.img", "boot/grub/eltorito.img=/w/eltorito.img",
        ])
    }

    @Test func isoDates() {
        #expect(HybridLayout.isoDate(epoch: BootMedium.epoch) == "2024010100000000")
        #expect(HybridLayout.isoDate(epoch: 1_000_000_000) == "2001090901464000")
    }

    @Test func espSizes() {
        #expect(BootMedium.espSize(bootloader: 319_488) == 1 << 20)
        #expect(BootMedium.espSize(bootloader: 1 << 20) == 2 << 20)
    }

    @Test func idsFollowTheSeed() {
        let a = MediumIDs(seed: "a"), b = MediumIDs(seed: "b")
        #expect(a == MediumIDs(seed: "a"))
        #expect(a.diskGUID != b.diskGUID && a.fatSerial != b.fatSerial)
        #expect(a.fatSerial.count == 8 && a.fatSerial.allSatisfy(\.isHexDigit))
    }

    @Test func missingToolsAreNamedWithTheirPackages() throws {
        let work = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let missing = MediaTool.missing(path: [], grubRoot: work)
        #expect(missing == MediaTool.allCases)
        let message = MediaTool.missingError(missing).description
        #expect(message.hasPrefix("missing grub-mkimage, xorriso, mformat, mmd, mcopy, GRUB's i386-pc platform"), "\(message)")
        #expect(message.contains("install Debian's grub-efi-amd64-bin grub-pc-bin mtools xorriso"), "\(message)")
        #expect(MediaTool.missing() == [], "run scripts/bootstrap: the media tests need GRUB, xorriso and mtools")
    }

    // MARK: The lab's media boots

    @Test func labAttachesMediaFirstInTheBootOrder() {
        var machine = LabMachine.medium("/m/a,b.iso", attachment: .usb, firmware: .ovmf)
        machine.mac = "52:54:00:12:34:56"
        #expect(machine.arguments(initrd: "/w/initrd", disk: "/w/disk.img") == [
            "-accel", "tcg", "-nodefaults", "-display", "none", "-no-reboot", "-m", "1024", "-smp", "1", "-serial", "stdio",
            "-bios", "/usr/share/ovmf/OVMF.fd", "-device", "VGA",
            "-drive", "file=/m/a,,b.iso,if=none,id=medium0,format=raw,snapshot=on", "-device", "qemu-xhci,id=xhci0",
            "-device", "usb-storage,bus=xhci0.0,drive=medium0,bootindex=1",
            "-netdev", "user,id=net0", "-device", "virtio-net-pci,netdev=net0,mac=52:54:00:12:34:56,romfile=",
            "-drive", "file=/w/disk.img,if=none,id=disk0,format=raw", "-device", "virtio-blk-pci,drive=disk0",
        ])
        #expect(LabMachine.MediumAttachment.cdrom.arguments(path: "/m/a.iso", writable: true)
                == ["-drive", "file=/m/a.iso,if=none,id=medium0,format=raw,media=cdrom,readonly=on", "-device", "ide-cd,drive=medium0,bootindex=1"])
        #expect(LabMachine.MediumAttachment.disk.arguments(path: "/m/a.img", writable: true)
                == ["-drive", "file=/m/a.img,if=none,id=medium0,format=raw", "-device", "virtio-blk-pci,drive=medium0,bootindex=1"])
    }

    // MARK: Built from a stand-in profile

    /// A store with a stand-in profile, an image and device lab-01, and an empty output folder.
    static func ready(cmdline: String = "console=tty0 console=ttyS0") throws -> (StoreFixture, out: String) {
        let f = try StoreFixture()
        try f.fakeProfile(cmdline: cmdline)
        try f.rawImage()
        try f.store.addImage(file: "\(f.work)/disk.img", name: "disk")
        try f.store.addDevices([DeviceRequest(mac: mac, profile: "qemu-virtio", image: "disk", hostname: "lab-01")])
        let out = "\(f.work)/out"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        return (f, out)
    }

    static func medium(_ f: StoreFixture, _ subject: BootMedium.Subject, _ output: String, format: BootMedium.Format = .iso,
                       force: Bool = false) -> BootMedium {
        BootMedium(store: f.store, subject: subject, format: format, output: output, force: force)
    }

    static func files(_ folder: String) -> [String] { (try? FileManager.default.contentsOfDirectory(atPath: folder))?.sorted() ?? [] }

    @Test func sameInputsSameBytes() throws {
        let (f, out) = try Self.ready()
        defer { f.remove() }
        let device = BootMedium.Subject.device(try MACAddress(parsing: Self.mac))
        let first = try Self.medium(f, device, "\(out)/a.iso").build()
        // Other file times and another folder: still the same bytes.
        sleep(1)
        _ = utimes(f.store.identity(try MACAddress(parsing: Self.mac)), nil)
        let second = try Self.medium(f, device, "\(out)/b.iso").build()
        let usb = try Self.medium(f, device, "\(out)/c.img", format: .usb).build()
        let a = try f.bytes(first.path), b = try f.bytes(second.path)
        #expect(a == b, "two builds differ")
        #expect(try f.bytes(usb.path) == a, "the USB image is the same layout")
        #expect(first.label == "IMPRINT_525400123456" && first.hostname == "lab-01" && first.profile == "qemu-virtio")
        #expect(first.size == a.count && first.identitySize > 0 && first.espSize == 1 << 20)

        let profile = try Self.medium(f, .profile("qemu-virtio"), "\(out)/p.iso").build()
        #expect(profile.mac == nil && profile.identitySize == 0 && profile.label == "IMPRINT_QEMU_VIRTIO")
        #expect(try f.bytes(profile.path) != a)
        #expect(Self.files(out) == ["a.iso", "b.iso", "c.img", "p.iso"], "only the media: \(Self.files(out))")
    }

    @Test func aValidGPTDiskWithTheFilesInPlace() throws {
        let (f, out) = try Self.ready()
        defer { f.remove() }
        let mac = try MACAddress(parsing: Self.mac)
        let report = try Self.medium(f, .device(mac), "\(out)/a.iso").build()
        let bytes = try f.bytes(report.path)

        // Our GPT parser: partition 1 the ISO 9660 file system from 32 KiB, 2 the ESP right after it.
        let table = try GPT.parse(disk: { offset, count in
            offset + count <= bytes.count ? Array(bytes[offset..<offset + count]) : nil
        }, diskSize: bytes.count)
        #expect(!table.fromBackup, "primary GPT valid")
        #expect(table.partitions.count == 2)
        let esp = try #require(table.partitions.last)
        #expect(esp.type == .efiSystem && esp.size == report.espSize, "partition 2 is the ESP")
        #expect(table.partitions.first?.offset == 32 << 10)
        #expect(bytes[450] == 0xEE && bytes[510] == 0x55 && bytes[511] == 0xAA, "protective MBR")
        let sfdisk = try run("sfdisk", ["--verify", report.path])
        #expect(sfdisk.stdout.contains("No errors detected."), "sfdisk: \(sfdisk.stdout) \(sfdisk.stderr)")

        // The ESP holds GRUB's BOOTX64.EFI.
        let dir = try run("mdir", ["-b", "-i", "\(report.path)@@\(esp.offset)", "::/EFI/BOOT"])
        #expect(dir.stdout.contains("::/EFI/BOOT/BOOTX64.EFI"), "\(dir.stdout) \(dir.stderr)")

        // The ISO 9660 file system: the store's files, byte for byte, dated 2024-01-01.
        for (onISO, inStore) in [("/boot/vmlinuz", "\(f.store.profileDirectory("qemu-virtio"))/vmlinuz"),
                                 ("/boot/initrd.img", "\(f.store.profileDirectory("qemu-virtio"))/initrd.img")] {
            let copy = "\(f.work)/extracted"
            try? FileManager.default.removeItem(atPath: copy)
            let extract = try run("xorriso", ["-osirrox", "on", "-indev", report.path, "-extract", onISO, copy])
            #expect(extract.status == 0, "\(extract.stderr)")
            #expect(try f.bytes(copy) == (try f.bytes(inStore)), "\(onISO)")
        }
        // The identity: the store's, plus the medium's token, whose hash the store now keeps.
        let copy = "\(f.work)/identity.cpio"
        #expect(try run("xorriso", ["-osirrox", "on", "-indev", report.path, "-extract", "/boot/identity.cpio", copy]).status == 0)
        func identity(_ path: String) throws -> DeviceIdentity {
            let entries = try Cpio.read(try f.bytes(path))
            return try DeviceIdentity.parse(String(decoding: try #require(entries.last).data, as: UTF8.self))
        }
        var onMedium = try identity(copy)
        let token = try #require(onMedium.token)
        #expect(token.count == 64)
        let stored = String(decoding: try f.bytes(f.store.tokenHash(mac)), as: UTF8.self)
        #expect(stored == SHA256.hex(of: Array(token.utf8)) + "\n", "the store checks the medium's token")
        onMedium.token = nil
        #expect(onMedium == (try identity(f.store.identity(mac))), "otherwise the store's identity")
        let listing = try run("xorriso", ["-indev", report.path, "-find", "/", "-exec", "lsdl"])
        #expect(listing.stdout.contains("'/boot/grub/eltorito.img'"), "\(listing.stdout)")
        let entries = listing.stdout.split(separator: "\n").filter { $0.hasSuffix("'") && $0.contains(" '/") }
        #expect(entries.count == 8 && entries.allSatisfy { $0.contains(" Jan  1  2024 ") }, "every date fixed: \(listing.stdout)")
        let volume = try run("xorriso", ["-indev", report.path, "-pvd_info"])
        #expect(volume.stdout.contains("Volume Id    : IMPRINT_525400123456"), "\(volume.stdout)")
    }

    // MARK: Bad input: refused before any work, nothing left behind

    @Test func noSuchDevice() throws {
        let (f, out) = try Self.ready()
        defer { f.remove() }
        let error = #expect(throws: MediaError.self) {
            try Self.medium(f, .device(try MACAddress(parsing: "52:54:00:99:99:99")), "\(out)/a.iso").build()
        }
        #expect(error?.description.contains("no device 52:54:00:99:99:99 in \(f.store.root): add it first (imprint device add 52:54:00:99:99:99") == true,
                "\(String(describing: error))")
        #expect(Self.files(out).isEmpty)
    }

    @Test func profileNotBuilt() throws {
        let (f, out) = try Self.ready()
        defer { f.remove() }
        let error = #expect(throws: StoreError.self) { try Self.medium(f, .profile("nosuch"), "\(out)/a.iso").build() }
        #expect(error?.description.contains("profile 'nosuch' is not built") == true, "\(String(describing: error))")
        #expect(Self.files(out).isEmpty)
    }

    @Test func profileWithoutAServer() throws {
        let (f, out) = try Self.ready()
        defer { f.remove() }
        try f.fakeProfile("bare", server: nil)
        let error = #expect(throws: MediaError.self) { try Self.medium(f, .profile("bare"), "\(out)/a.iso").build() }
        #expect(error?.description.contains("profile 'bare' names no agent.server") == true, "\(String(describing: error))")
    }

    @Test func commandLineGRUBWouldMangle() throws {
        let (f, out) = try Self.ready(cmdline: "console=ttyS0 init=\"/bin/sh\"")
        defer { f.remove() }
        let error = #expect(throws: MediaError.self) { try Self.medium(f, .profile("qemu-virtio"), "\(out)/a.iso").build() }
        #expect(error?.description.contains("its kernel command line holds \"") == true, "\(String(describing: error))")
        #expect(Self.files(out).isEmpty)
    }

    @Test func existingOutputNeedsForce() throws {
        let (f, out) = try Self.ready()
        defer { f.remove() }
        let target = "\(out)/a.iso"
        try Data("keep".utf8).write(to: URL(fileURLWithPath: target))
        let error = #expect(throws: MediaError.self) { try Self.medium(f, .profile("qemu-virtio"), target).build() }
        #expect(error?.description == "\(target) exists: pass --force to replace it, or choose another --out")
        #expect(try f.bytes(target) == Array("keep".utf8))
        let report = try Self.medium(f, .profile("qemu-virtio"), target, force: true).build()
        let written = try f.bytes(target)
        #expect(report.size > 1 << 20 && written.count == report.size)
        #expect(try f.mode(target) == 0o644)
        #expect(Self.files(out) == ["a.iso"])
    }

    @Test func missingToolsRefusedBeforeAnyWork() throws {
        let (f, out) = try Self.ready()
        defer { f.remove() }
        var medium = Self.medium(f, .profile("qemu-virtio"), "\(out)/a.iso")
        medium.searchPath = []
        let error = #expect(throws: MediaError.self) { try medium.build() }
        #expect(error?.description.hasPrefix("missing grub-mkimage, xorriso, mformat, mmd, mcopy: install Debian's grub-pc-bin mtools xorriso") == true,
                "\(String(describing: error))")
        #expect(Self.files(out).isEmpty)
    }

    /// A tool failing midway (here a GRUB platform folder with no modules) leaves no file, partial or not.
    @Test func aFailingToolLeavesNothingBehind() throws {
        let (f, out) = try Self.ready()
        defer { f.remove() }
        let grub = "\(f.work)/grub"
        for (platform, marker) in [("i386-pc", "boot_hybrid.img"), ("x86_64-efi", "linux.mod")] {
            try FileManager.default.createDirectory(atPath: "\(grub)/\(platform)", withIntermediateDirectories: true)
            try Data(count: 512).write(to: URL(fileURLWithPath: "\(grub)/\(platform)/\(marker)"))
        }
        var medium = Self.medium(f, .device(try MACAddress(parsing: Self.mac)), "\(out)/a.iso")
        medium.grubRoot = grub
        let error = #expect(throws: MediaError.self) { try medium.build() }
        #expect(error?.description.hasPrefix("grub-mkimage failed to make GRUB's i386-pc image") == true, "\(String(describing: error))")
        #expect(Self.files(out).isEmpty, "left behind: \(Self.files(out))")
    }
}
