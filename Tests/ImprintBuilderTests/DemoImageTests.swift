import Foundation
import ImprintCore
import Testing

@testable import ImprintBuilder

/// Builds the demo disk (Debian kernel, busybox-static and systemd-boot-efi through apt, cached) and
/// reads it back with the GPT parser, sfdisk, mtools and debugfs.
@Suite(.serialized) struct DemoImageTests {
    static func build(_ path: String, format: DemoImage.Format = .raw) throws -> DemoImage.Report {
        let recipe = try Recipe.load(path: "\(TestPaths.packageRoot)/recipes/qemu-virtio.yaml")
        return try DemoImage(recipe: recipe, output: path, format: format, log: { _ in }).build()
    }

    static func tool(_ name: String, _ arguments: [String]) throws -> ProcessOutput {
        let out = try run(name, arguments)
        #expect(out.status == 0, "\(name) \(arguments.joined(separator: " ")): \(out.stderr)")
        return out
    }

    @Test func diskLayoutAndContents() throws {
        let work = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let disk = "\(work)/demo.img"
        let report = try Self.build(disk)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: disk)))
        #expect(bytes.count == report.diskSize, "report size")
        #expect(report.diskSize <= 64 << 20, "small: \(report.diskSize) bytes")
        #expect(!FileManager.default.fileExists(atPath: disk + ".partial"), "no staging file left")

        // Our parser.
        let table = try GPT.parse(disk: { offset, count in
            offset + count <= bytes.count ? Array(bytes[offset..<offset + count]) : nil
        }, diskSize: bytes.count)
        #expect(!table.fromBackup, "primary table valid")
        #expect(table.partitions.map(\.name) == ["esp", "root"], "partition names")
        #expect(table.partitions.map(\.type) == [.efiSystem, .linuxFilesystem], "partition types")
        #expect(table.partitions.allSatisfy { $0.offset % (1 << 20) == 0 }, "1 MiB aligned")
        let esp = try #require(table.partition(named: "esp"))
        let root = try #require(table.partition(named: "root"))

        // sfdisk.
        let listed = try JSONValue.parse(try Self.tool("sfdisk", ["--json", disk]).stdout)
        let parts = listed["partitiontable"]?["partitions"]?.arrayValue ?? []
        #expect(parts.compactMap { $0["name"]?.stringValue } == ["esp", "root"], "sfdisk sees both partitions")
        #expect(parts.first?["start"]?.intValue == esp.offset / 512, "sfdisk's esp start")
        #expect(parts.first?["type"]?.stringValue == GUID.efiSystem.description, "sfdisk's esp type")
        #expect(try Self.tool("sfdisk", ["--verify", disk]).stdout.contains("No errors detected."), "sfdisk --verify")

        // The ESP: FAT with the UKI, read in place.
        let dir = try Self.tool("mdir", ["-b", "-i", "\(disk)@@\(esp.offset)", "::/EFI/BOOT"]).stdout
        #expect(dir.contains("::/EFI/BOOT/BOOTX64.EFI"), "EFI/BOOT/BOOTX64.EFI on the ESP: \(dir)")
        let info = try Self.tool("minfo", ["-i", "\(disk)@@\(esp.offset)", "::"]).stdout
        #expect(info.contains("disk type=\"FAT16"), "the ESP is FAT16: \(info)")
        let uki = "\(work)/BOOTX64.EFI"
        _ = try Self.tool("mcopy", ["-i", "\(disk)@@\(esp.offset)", "::/EFI/BOOT/BOOTX64.EFI", uki])
        let sections = try Self.tool("objdump", ["-h", uki]).stdout
        for name in [".osrel", ".cmdline", ".linux", ".initrd"] {
            #expect(sections.contains(" \(name) "), "UKI section \(name)")
        }
        _ = try Self.tool("objcopy", ["-O", "binary", "--only-section=.cmdline", uki, "\(work)/cmdline"])
        #expect(try String(contentsOfFile: "\(work)/cmdline", encoding: .utf8) == DemoImage.cmdline, "UKI command line")

        // The root: ext4 with the init and the hostname, read from the partition's bytes.
        let rootFile = "\(work)/root.img"
        try Data(bytes[root.offset..<root.offset + root.size]).write(to: URL(fileURLWithPath: rootFile))
        #expect(try Self.tool("debugfs", ["-R", "cat /etc/hostname", rootFile]).stdout == "imprint-demo\n", "/etc/hostname")
        let initScript = try Self.tool("debugfs", ["-R", "cat /sbin/init", rootFile]).stdout
        #expect(initScript.hasPrefix("#!/bin/sh\n") && initScript.contains("say \"hello from $name\""), "/sbin/init is the demo script")
        #expect(try Self.tool("debugfs", ["-R", "stat /sbin/poweroff", rootFile]).stdout.contains("Fast link dest: \"/bin/busybox\""),
                "busybox applet links")
        _ = try Self.tool("e2fsck", ["-fn", rootFile])
        #expect(report.rootSize == root.size, "report's root size")

        // /boot/vmlinuz and /boot/initrd.img, for an agent that kexecs the deployed root: plain files,
        // 0644, the same bytes as the UKI's .linux and .initrd.
        for (path, section) in [("/boot/vmlinuz", ".linux"), ("/boot/initrd.img", ".initrd")] {
            let stat = try Self.tool("debugfs", ["-R", "stat \(path)", rootFile]).stdout
            #expect(stat.contains("Type: regular") && stat.contains("Mode:  0644"), "\(path) is a plain 0644 file: \(stat.prefix(200))")
            let name = (path as NSString).lastPathComponent
            _ = try Self.tool("debugfs", ["-R", "dump \(path) \(work)/root-\(name)", rootFile])
            _ = try Self.tool("objcopy", ["-O", "binary", "--only-section=\(section)", uki, "\(work)/uki-\(name)"])
            let fromRoot = FileManager.default.contents(atPath: "\(work)/root-\(name)")
            let fromUKI = FileManager.default.contents(atPath: "\(work)/uki-\(name)")
            #expect(fromRoot != nil && (fromRoot?.count ?? 0) > 1 << 20 && fromRoot == fromUKI,
                    "\(path) (\(fromRoot?.count ?? -1) bytes) is the UKI's \(section) (\(fromUKI?.count ?? -1) bytes)")
        }
        #expect(FileManager.default.contents(atPath: "\(work)/root-initrd.img")?.count == report.initrdSize, "the initrd the build made")
        // Still room for what the agent writes: at least 2 MiB of 4 KiB blocks.
        let header = try Self.tool("dumpe2fs", ["-h", rootFile]).stdout
        let free = header.split(separator: "\n").first { $0.hasPrefix("Free blocks:") }
            .flatMap { Int($0.split(separator: " ").last ?? "") } ?? 0
        #expect(free >= 512, "free blocks in the root: \(free)")

        // The initrd's modules, in load order: each after what it needs.
        let order = report.modules
        func before(_ a: String, _ b: String) -> Bool {
            guard let i = order.firstIndex(of: a), let j = order.firstIndex(of: b) else { return false }
            return i < j
        }
        #expect(before("virtio_ring", "virtio") && before("virtio", "virtio_pci") && before("virtio_pci_modern_dev", "virtio_pci"),
                "virtio_pci after its dependencies: \(order)")
        #expect(order.contains("virtio_blk"), "virtio_blk: \(order)")
        #expect(before("jbd2", "ext4") && before("mbcache", "ext4") && before("crc32c_generic", "ext4"),
                "ext4 after its dependencies and crc32c: \(order)")
    }

    @Test func sameInputsGiveTheSameBytes() throws {
        let work = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        _ = try Self.build("\(work)/a.img")
        _ = try Self.build("\(work)/b.img")
        let a = FileManager.default.contents(atPath: "\(work)/a.img")
        let b = FileManager.default.contents(atPath: "\(work)/b.img")
        #expect(a != nil && a == b, "two builds differ")
    }

    /// `--format tar`: the raw image's root tree, file for file, plus the UKI under boot/efi/, every
    /// entry owned by root at the epoch; the same bytes twice; imported as a `tar` image.
    @Test func tarHoldsTheRootTreeAndTheUKI() throws {
        let work = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let report = try Self.build("\(work)/a.tar", format: .tar)
        _ = try Self.build("\(work)/b.tar", format: .tar)
        let a = try #require(FileManager.default.contents(atPath: "\(work)/a.tar"))
        #expect(a == FileManager.default.contents(atPath: "\(work)/b.tar"), "two tar builds differ")
        #expect(report.format == .tar && report.size == a.count && a.count % 10_240 == 0, "report size \(report.size), file \(a.count)")
        #expect(!FileManager.default.fileExists(atPath: "\(work)/a.tar.partial"), "no staging file left")

        // Read back with libarchive.
        var entries: [String: ArchiveReader.Entry] = [:]
        var order: [String] = []
        var data: [String: [UInt8]] = [:]
        let reader = try ArchiveReader(path: "\(work)/a.tar", formats: .tar)
        while let entry = try reader.next() {
            // Directories carry a trailing slash, as GNU tar writes them.
            let path = entry.isDirectory && entry.path.hasSuffix("/") ? String(entry.path.dropLast()) : entry.path
            entries[path] = entry
            order.append(path)
            if entry.isRegularFile { data[path] = try reader.readData() }
        }
        #expect(report.entries == order.count, "report's entry count")
        #expect(order == order.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }, "entries not sorted")
        #expect(Set(order).count == order.count, "an entry twice")
        #expect(order.allSatisfy { !$0.hasPrefix("/") && !$0.hasPrefix("./") && !$0.isEmpty }, "relative names")
        #expect(entries.values.allSatisfy { $0.uid == 0 && $0.gid == 0 && $0.uname == "root" && $0.gname == "root" }, "owner root")
        #expect(entries.values.allSatisfy { $0.mtime == DemoImage.epoch }, "every mtime the epoch")
        #expect(entries.values.allSatisfy { $0.isRegularFile || $0.isDirectory || $0.symlink != nil }, "files, folders and symlinks only")

        func expectFile(_ path: String, mode: UInt32) {
            #expect(entries[path]?.isRegularFile == true && entries[path]?.mode == mode,
                    "\(path): \(entries[path].map { "type \(String($0.type, radix: 8)) mode \(String($0.mode, radix: 8))" } ?? "missing")")
        }
        expectFile("sbin/init", mode: 0o755)
        expectFile("bin/busybox", mode: 0o755)
        expectFile("etc/hostname", mode: 0o644)
        expectFile("boot/vmlinuz", mode: 0o644)
        expectFile("boot/initrd.img", mode: 0o644)
        expectFile("boot/efi/EFI/BOOT/BOOTX64.EFI", mode: 0o644)
        for dir in ["boot", "boot/efi", "boot/efi/EFI", "boot/efi/EFI/BOOT", "etc", "sbin"] {
            #expect(entries[dir]?.isDirectory == true && entries[dir]?.mode == 0o755, "\(dir)/ is a 0755 folder")
        }
        #expect(entries["tmp"]?.isDirectory == true && entries["tmp"]?.mode == 0o1777, "tmp/ is 1777")
        #expect(entries["sbin/poweroff"]?.symlink == "/bin/busybox", "busybox applet links stay symlinks")
        #expect(entries["lost+found"] == nil, "lost+found is the agent's mke2fs's")
        #expect(data["etc/hostname"] == Array("imprint-demo\n".utf8))
        #expect(data["sbin/init"].map { String(decoding: $0, as: UTF8.self).hasPrefix("#!/bin/sh\n") } == true, "the demo init")
        #expect(data["boot/initrd.img"]?.count == report.initrdSize, "the initrd the build made")
        let uki = try #require(data["boot/efi/EFI/BOOT/BOOTX64.EFI"])
        #expect(uki.starts(with: Array("MZ".utf8)) && uki.count == report.ukiSize, "the UKI: \(uki.count) bytes")

        // The raw image of the same inputs: the same UKI on its ESP, the same tree in its root.
        let disk = "\(work)/demo.img"
        _ = try Self.build(disk)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: disk)))
        let table = try GPT.parse(disk: { offset, count in
            offset + count <= bytes.count ? Array(bytes[offset..<offset + count]) : nil
        }, diskSize: bytes.count)
        let esp = try #require(table.partition(named: "esp"))
        let root = try #require(table.partition(named: "root"))
        _ = try Self.tool("mcopy", ["-i", "\(disk)@@\(esp.offset)", "::/EFI/BOOT/BOOTX64.EFI", "\(work)/raw-uki"])
        #expect(FileManager.default.contents(atPath: "\(work)/raw-uki") == Data(uki), "the raw ESP's UKI")
        let rootFile = "\(work)/root.img"
        try Data(bytes[root.offset..<root.offset + root.size]).write(to: URL(fileURLWithPath: rootFile))
        try FileManager.default.createDirectory(atPath: "\(work)/rootfs", withIntermediateDirectories: false)
        _ = try Self.tool("debugfs", ["-R", "rdump / \(work)/rootfs", rootFile])
        let fromExt4 = try DemoImage.treeEntries("\(work)/rootfs").filter { $0.path != "lost+found" }
        let tarRoot = order.filter { $0 != DemoImage.espMountPoint && !$0.hasPrefix(DemoImage.espMountPoint + "/") }
        #expect(fromExt4.map(\.path).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) } == tarRoot, "the same paths as the ext4 root")
        for item in fromExt4 {
            let entry = entries[item.path]
            switch item.content {
            case .directory:
                // debugfs rdump leaves out the sticky bit; the ext4 inode has it (tmp: 01777, checked above).
                #expect(entry?.isDirectory == true && entry.map { $0.mode & 0o777 } == item.mode & 0o777, "\(item.path)/")
            case let .file(source):
                #expect(entry?.isRegularFile == true && entry?.mode == item.mode, "\(item.path) mode")
                #expect(data[item.path].map { Data($0) } == FileManager.default.contents(atPath: source), "\(item.path) bytes")
            case let .symlink(target):
                #expect(entry?.symlink == target, "\(item.path) -> \(target)")
            default:
                Issue.record("\(item.path): unexpected kind in the ext4 root")
            }
        }

        // The store takes it as a tar image.
        let store = Store(unchecked: "\(work)/store")
        let added = try store.addImage(file: "\(work)/a.tar", name: "t")
        #expect(added.descriptor.format == .tar, "imported as \(added.descriptor.format)")
        #expect(added.descriptor.uncompressedSize == a.count)
    }

    @Test func stubSectionsEndFromObjdump() {
        let text = """

            x/linuxx64.efi.stub:     file format pei-x86-64

            Sections:
            Idx Name          Size      VMA               LMA               File off  Algn
              0 .text         0000bff0  0000000000004000  0000000000004000  00000400  2**4
                              CONTENTS, ALLOC, LOAD, READONLY, CODE
              6 .sbat         000000e2  0000000000019000  0000000000019000  00011000  2**2
                              CONTENTS, ALLOC, LOAD, READONLY, DATA
              7 .sdmagic      00000034  0000000000019100  0000000000019100  00011200  2**2
                              CONTENTS, ALLOC, LOAD, READONLY, DATA
            """
        #expect(DemoImage.sectionsEnd(objdumpHeaders: text) == 0x19134, "end of .sdmagic")
        #expect(DemoImage.sectionsEnd(objdumpHeaders: "no sections") == nil, "nothing to find")
    }

    @Test func initrdInitLoadsInOrderAndTreatsSoftdepsAsOptional() {
        let script = DemoScripts.initrdInit(modules: ["crc32c_generic", "crc32c_intel", "ext4"], optional: ["crc32c_generic", "crc32c_intel"])
        #expect(script.contains("for m in crc32c_generic crc32c_intel ext4; do"), "load order kept")
        #expect(script.contains("case \" crc32c_generic crc32c_intel \" in"), "optional modules fail quietly")
        #expect(script.contains("grep -qx PARTNAME=root"), "finds the root by GPT name")
        #expect(script.hasSuffix("exec switch_root /newroot /sbin/init\n"), "switches root last")
    }

    @Test func peChecksumMatchesObjcopys() throws {
        // objcopy fills in CheckSum itself: recomputing it over its output must give the same value.
        let work = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let stub = try DebianPackage(name: "systemd-boot-efi", cache: Cache(), log: { _ in })
            .fetch { $0.hasSuffix("/linuxx64.efi.stub") }.path("usr/lib/systemd/boot/efi/linuxx64.efi.stub")
        try Data("ID=test\n".utf8).write(to: URL(fileURLWithPath: "\(work)/osrel"))
        _ = try Self.tool("objcopy", ["--add-section", ".osrel=\(work)/osrel", "--change-section-vma", ".osrel=0x20000", stub, "\(work)/t.efi"])
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(work)/t.efi")))
        let pe = Int(bytes[0x3C]) | Int(bytes[0x3D]) << 8
        let field = pe + 24 + 64
        let stored = UInt32(bytes[field]) | UInt32(bytes[field + 1]) << 8 | UInt32(bytes[field + 2]) << 16 | UInt32(bytes[field + 3]) << 24
        #expect(PEStamp.checksum(bytes, skipping: field) == stored, "same checksum as objcopy")
        try PEStamp.pin("\(work)/t.efi", timestamp: 0)
        #expect(try Self.tool("objdump", ["-p", "\(work)/t.efi"]).stdout.contains("Time/Date\t\tThu Jan  1 00:00:00 1970"), "time stamp pinned")
    }

    @Test func missingToolNamesItsPackage() {
        #expect(DemoTool.mformat.hint.contains("mtools"), "mformat comes with mtools")
        #expect(DemoTool.mkfsExt4.hint.contains("e2fsprogs"), "mkfs.ext4 comes with e2fsprogs")
        #expect(DemoTool.objcopy.hint.contains("binutils"), "objcopy comes with binutils")
    }

    @Test func aTarNeedsOnlyBinutils() {
        // The tar form makes no file systems: only the UKI's objcopy and objdump.
        #expect(DemoTool.required(for: .tar) == [.objcopy, .objdump])
        #expect(DemoTool.required(for: .raw) == DemoTool.allCases)
    }
}
