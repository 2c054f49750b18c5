import CArchive
import Foundation
import ImprintCore
import Testing

@testable import ImprintBuilder

/// The ustar writer three ways: one header field by field, the bytes GNU tar writes for the same
/// tree, and a round trip through libarchive's reader.
@Suite struct TarArchiveWriterTests {
    static let epoch = 1_704_067_200

    static func text(_ block: [UInt8], _ offset: Int, _ count: Int) -> String {
        String(decoding: block[offset..<offset + count], as: UTF8.self)
    }

    @Test func headerFieldByField() throws {
        let block = try TarArchiveWriter.header(for: .init(path: "etc/hostname", mode: 0o644, content: .bytes([])), size: 13, mtime: Self.epoch)
        #expect(block.count == 512)
        #expect(Self.text(block, 0, 13) == "etc/hostname\0", "name, NUL-filled to 100 bytes")
        #expect(block[13..<100].allSatisfy { $0 == 0 })
        #expect(Self.text(block, 100, 8) == "0000644\0", "mode: 7 octal digits and NUL")
        #expect(Self.text(block, 108, 8) == "0000000\0", "uid 0")
        #expect(Self.text(block, 116, 8) == "0000000\0", "gid 0")
        #expect(Self.text(block, 124, 12) == "00000000015\0", "size 13: 11 octal digits and NUL")
        #expect(Self.text(block, 136, 12) == "14544400200\0", "mtime 1704067200 (2024-01-01T00:00:00Z)")
        #expect(Self.text(block, 156, 1) == "0", "typeflag: regular file")
        #expect(block[157..<257].allSatisfy { $0 == 0 }, "no link name")
        #expect(Self.text(block, 257, 8) == "ustar\u{0}00", "magic and version")
        #expect(Self.text(block, 265, 5) == "root\0", "uname")
        #expect(Self.text(block, 297, 5) == "root\0", "gname")
        #expect(Self.text(block, 329, 16) == "0000000\u{0}0000000\u{0}", "devmajor, devminor")
        #expect(block[345..<512].allSatisfy { $0 == 0 }, "no prefix")
        // Checksum: six octal digits, NUL, space; the sum of the header with the field as eight spaces.
        #expect(block[154] == 0 && block[155] == UInt8(ascii: " "))
        var blank = block
        for i in 148..<156 { blank[i] = UInt8(ascii: " ") }
        #expect(Int(Self.text(block, 148, 6), radix: 8) == blank.reduce(0) { $0 + Int($1) }, "checksum")
    }

    @Test func kindsOfEntry() throws {
        let dir = try TarArchiveWriter.header(for: .init(path: "boot/efi", mode: 0o755, content: .directory), size: 0, mtime: 0)
        #expect(Self.text(dir, 0, 10) == "boot/efi/\0" && Self.text(dir, 156, 1) == "5", "a folder: trailing slash, type 5")
        let link = try TarArchiveWriter.header(for: .init(path: "sbin/poweroff", mode: 0o755, content: .symlink(target: "/bin/busybox")), size: 0, mtime: 0)
        #expect(Self.text(link, 156, 14) == "2/bin/busybox\0" && Self.text(link, 100, 8) == "0000777\0", "a symlink: type 2, target, mode 0777")
        let console = try TarArchiveWriter.header(for: .init(path: "dev/console", mode: 0o600, content: .characterDevice(major: 5, minor: 1)), size: 0, mtime: 0)
        #expect(Self.text(console, 156, 1) == "3" && Self.text(console, 329, 16) == "0000005\u{0}0000001\u{0}", "a character device 5:1")
        let tmp = try TarArchiveWriter.header(for: .init(path: "tmp", mode: 0o1777, content: .directory), size: 0, mtime: 0)
        #expect(Self.text(tmp, 100, 8) == "0001777\0", "the sticky bit is kept")
    }

    @Test func longPathsUseThePrefixOrFail() throws {
        let folder = String(repeating: "d", count: 120)
        let split = try TarArchiveWriter.header(for: .init(path: "\(folder)/file", mode: 0o644, content: .bytes([])), size: 0, mtime: 0)
        #expect(Self.text(split, 0, 5) == "file\0" && Self.text(split, 345, 121) == folder + "\0", "name after the last usable slash, folder in the prefix")
        #expect(throws: ArchiveError.self) {
            try TarArchiveWriter.header(for: .init(path: String(repeating: "n", count: 101), mode: 0o644, content: .bytes([])), size: 0, mtime: 0)
        }
        #expect(throws: ArchiveError.self) {
            try TarArchiveWriter.header(for: .init(path: "l", mode: 0o777, content: .symlink(target: String(repeating: "t", count: 101))), size: 0, mtime: 0)
        }
        #expect(throws: ArchiveError.self) {
            try TarArchiveWriter.header(for: .init(path: "/etc/hostname", mode: 0o644, content: .bytes([])), size: 0, mtime: 0)
        }
        #expect(throws: ArchiveError.self) {
            try TarArchiveWriter.header(for: .init(path: "big", mode: 0o644, content: .bytes([])), size: 1 << 33, mtime: 0)
        }
    }

    /// A tree on disk, written by this writer and by GNU tar with every time, owner and order pinned:
    /// the same bytes.
    @Test func sameBytesAsGNUTar() throws {
        let work = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let tree = "\(work)/tree"
        let fm = FileManager.default
        // Over 100 bytes: the folder splits as usr + its name, the file as the folder + empty.
        let long = "usr/" + String(repeating: "l", count: 98)
        for (dir, mode) in [("etc", 0o755), ("sbin", 0o755), ("tmp", 0o1777), ("usr", 0o755), (long, 0o700)] {
            try fm.createDirectory(atPath: "\(tree)/\(dir)", withIntermediateDirectories: true)
            try fm.setAttributes([.posixPermissions: mode], ofItemAtPath: "\(tree)/\(dir)")
        }
        for (file, mode, contents) in [("etc/hostname", 0o644, "imprint-demo\n"), ("sbin/init", 0o755, "#!/bin/sh\n"), ("\(long)/empty", 0o600, ""),
                                       ("etc/block", 0o644, String(repeating: "x", count: 512))] {
            try Data(contents.utf8).write(to: URL(fileURLWithPath: "\(tree)/\(file)"))
            try fm.setAttributes([.posixPermissions: mode], ofItemAtPath: "\(tree)/\(file)")
        }
        try fm.createSymbolicLink(atPath: "\(tree)/sbin/poweroff", withDestinationPath: "/bin/busybox")

        let entries = try DemoImage.treeEntries(tree)
        let ours = "\(work)/ours.tar"
        let result = try TarArchiveWriter.write(entries, to: ours, mtime: Self.epoch) { [UInt8](try Data(contentsOf: URL(fileURLWithPath: $0))) }
        let written = try FileManagerSize.size(of: ours)
        #expect(result.entries == 10 && result.size == written && result.size % 10_240 == 0, "\(result)")

        let gnu = try run("tar", ["--format=ustar", "--sort=name", "--mtime=@\(Self.epoch)", "--owner=root:0", "--group=root:0",
                                  "-C", tree, "-cf", "\(work)/gnu.tar", "etc", "sbin", "tmp", "usr"])
        #expect(gnu.status == 0, "GNU tar: \(gnu.stderr)")
        let a = try Data(contentsOf: URL(fileURLWithPath: ours)), b = try Data(contentsOf: URL(fileURLWithPath: "\(work)/gnu.tar"))
        let firstDifference = zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset
        #expect(a == b, "differs from GNU tar at byte \(firstDifference.map(String.init) ?? "(length \(a.count) vs \(b.count))")")
    }

    @Test func readBackThroughLibarchive() throws {
        let work = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let path = "\(work)/t.tar"
        let payload = (0..<1500).map { UInt8($0 % 251) }
        _ = try TarArchiveWriter.write([
            .init(path: "sbin/init", mode: 0o755, content: .bytes(payload)),
            .init(path: "dev/console", mode: 0o600, content: .characterDevice(major: 5, minor: 1)),
            .init(path: "sbin", mode: 0o755, content: .directory),
            .init(path: "bin/sh", mode: 0o777, content: .symlink(target: "busybox")),
        ], to: path, mtime: Self.epoch) { _ in [] }
        #expect(ImageFormat.detect(Array(try Data(contentsOf: URL(fileURLWithPath: path)).prefix(512))) == .tar, "the store sees a tar")

        let reader = try ArchiveReader(path: path, formats: .tar)
        var seen: [String] = []
        while let entry = try reader.next() {
            seen.append(entry.path)
            #expect(entry.uid == 0 && entry.gid == 0 && entry.uname == "root" && entry.gname == "root" && entry.mtime == Self.epoch, "\(entry.path)")
            switch entry.path {
            case "sbin/init":
                let data = try reader.readData()
                #expect(entry.isRegularFile && entry.mode == 0o755 && data == payload)
            case "dev/console": #expect(entry.type == imprint_ae_ifchr && entry.mode == 0o600)
            case "sbin/": #expect(entry.isDirectory && entry.mode == 0o755)
            case "bin/sh": #expect(entry.symlink == "busybox")
            default: Issue.record("unexpected \(entry.path)")
            }
        }
        #expect(seen == ["bin/sh", "dev/console", "sbin/", "sbin/init"], "sorted by path")
    }
}
