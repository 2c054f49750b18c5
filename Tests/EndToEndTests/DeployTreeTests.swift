import Foundation
import Testing

/// Issue 5, `tar` images in host mode: the release agent lays out the GPT, makes the file systems
/// inside the disk file and fills them from the tar (docs/deploy.md "Tar images"); the result is
/// read back with sfdisk, debugfs and mtools.
@Suite(.serialized) struct DeployTreeTests {
    /// A tar (pax) of a small system: an ESP tree under boot/efi, a symlink, a hard link, a file
    /// owned by uid 1234 with mode 0600, 3 MiB of random bytes; `tool.bin` and `efi.bin` keep
    /// the random contents for comparison. `extra` adds python lines (hostile members).
    static func makeTree(extra: String = "", compress: String = "zstd -q -1 -c image.tar > image.blob") -> String {
        let script = """
            import tarfile, io, os
            t = tarfile.open('image.tar', 'w', format=tarfile.PAX_FORMAT)
            def add(name, kind=tarfile.REGTYPE, data=b'', mode=0o644, uid=0, gid=0, link=''):
                i = tarfile.TarInfo(name); i.type = kind; i.mode = mode; i.uid = uid; i.gid = gid; i.mtime = 1700000000; i.linkname = link
                if kind == tarfile.REGTYPE: i.size = len(data); t.addfile(i, io.BytesIO(data))
                else: t.addfile(i)
            tool = os.urandom(3 << 20); open('tool.bin', 'wb').write(tool)
            efi = b'MZ' + os.urandom(100000); open('efi.bin', 'wb').write(efi)
            add('./', tarfile.DIRTYPE, mode=0o755)
            for d in ['etc', 'usr', 'usr/bin', 'boot', 'boot/efi', 'boot/efi/EFI', 'boot/efi/EFI/BOOT']: add(d, tarfile.DIRTYPE, mode=0o755)
            add('srv', tarfile.DIRTYPE, mode=0o750, uid=1234, gid=1234)
            add('etc/hostname', data=b'imprint-tar\\n')
            add('usr/bin/tool', data=tool, mode=0o755)
            add('usr/bin/tool2', tarfile.LNKTYPE, link='usr/bin/tool')
            add('bin', tarfile.SYMTYPE, link='usr/bin', mode=0o777)
            add('srv/secret', data=b's3cret\\n', mode=0o600, uid=1234, gid=1234)
            add('boot/efi/EFI/BOOT/BOOTX64.EFI', data=efi, mode=0o755)
            \(extra)
            t.close()
            """
        return "cat > mktree.py <<'PY'\n\(script)\nPY\npython3 mktree.py && \(compress)"
    }

    static let layout = ["--part", "esp:8M:vfat:/boot/efi", "--part", "root:rest:ext4:/"]

    /// Runs a shell command in the lab's folder; its stdout.
    static func output(_ lab: DeployHostTests.Lab, _ command: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        process.currentDirectoryURL = URL(fileURLWithPath: lab.work)
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// (start byte, size) of each partition, from sfdisk's JSON, with its name and type.
    static func partitions(_ lab: DeployHostTests.Lab) throws -> [(name: String, type: String, offset: Int, size: Int)] {
        let json = try output(lab, "sfdisk -J disk.img")
        guard let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
              let table = object["partitiontable"] as? [String: Any], let list = table["partitions"] as? [[String: Any]] else { return [] }
        return list.map { ($0["name"] as? String ?? "", $0["type"] as? String ?? "", ($0["start"] as? Int ?? 0) * 512, ($0["size"] as? Int ?? 0) * 512) }
    }

    @Test func deploysATarTreeOntoTheAssignmentsLayout() throws {
        let lab = try DeployHostTests.Lab(makeImage: Self.makeTree(), deviceOptions: Self.layout)
        defer { lab.finish() }
        #expect(lab.storeText("images/golden.json").contains("\"format\": \"tar\""))
        #expect(lab.storeText("devices/\(DeployHostTests.macPath)/assignment.json").contains("\"mount\": \"/boot/efi\""))
        let disk = try lab.disk(mib: 64)
        try lab.store.shell("mkdir -p tmp")
        let result = try DeployHostTests.agent(["--disk", disk, "--identity", lab.identity], environment: ["TMPDIR": "\(lab.work)/tmp"])
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("tar members"), "\(result.stdout)")
        #expect(lab.storeText("reports/\(DeployHostTests.macPath)/status.json").contains("\"phase\": \"done\""))
        #expect(try Self.output(lab, "ls -A tmp").isEmpty, "the staging folder is removed")

        let parts = try Self.partitions(lab)
        #expect(parts.map(\.name) == ["esp", "root"], "\(parts)")
        guard parts.count == 2 else { return }
        #expect(parts[0].type == "C12A7328-F81F-11D2-BA4B-00A0C93EC93B" && parts[1].type == "0FC63DAF-8483-4772-8E79-3D69D8477DE4", "\(parts)")
        #expect(parts[0].offset == 1 << 20 && parts[0].size == 8 << 20, "\(parts)")
        #expect(parts[1].offset + parts[1].size == (64 << 20) - 33 * 512, "the root takes the rest: \(parts)")

        // The root: ext4, labelled, with the tree, the customization and a mount point for the ESP.
        try lab.store.shell("dd if=disk.img of=root.ext4 bs=1M skip=\(parts[1].offset >> 20) count=\(parts[1].size >> 20) status=none")
        #expect(try Self.output(lab, "dumpe2fs -h root.ext4 2>/dev/null | grep 'volume name'").contains("root"))
        #expect(try Self.output(lab, "debugfs -R 'cat /etc/hostname' root.ext4 2>/dev/null") == "lab-01\n", "customized")
        #expect(try Self.output(lab, "debugfs -R 'cat /etc/imprint/customized' root.ext4 2>/dev/null").contains("hostname lab-01"))
        try lab.store.shell("debugfs -R 'dump /usr/bin/tool tool.out' root.ext4 2>/dev/null")
        #expect(lab.file("tool.out") == lab.file("tool.bin") && lab.file("tool.bin").count == 3 << 20, "3 MiB of data intact")
        let secret = try Self.output(lab, "debugfs -R 'stat /srv/secret' root.ext4 2>/dev/null")
        #expect(secret.contains("Mode:  0600") && secret.contains("User:  1234"), "owner and mode kept: \(secret)")
        #expect(try Self.output(lab, "debugfs -R 'stat /usr/bin/tool2' root.ext4 2>/dev/null").contains("Links: 2"), "a hard link")
        #expect(try Self.output(lab, "debugfs -R 'stat /bin' root.ext4 2>/dev/null").contains("Fast link dest: \"usr/bin\""), "a symlink")
        let efiDir = try Self.output(lab, "debugfs -R 'ls /boot/efi' root.ext4 2>/dev/null")
        #expect(!efiDir.contains("EFI"), "boot/efi's tree went to the ESP, not the root: \(efiDir)")

        // The ESP: FAT, labelled ESP, holding boot/efi's tree.
        try lab.store.shell("MTOOLS_SKIP_CHECK=1 mcopy -n -i disk.img@@\(parts[0].offset) ::/EFI/BOOT/BOOTX64.EFI efi.out")
        #expect(lab.file("efi.out") == lab.file("efi.bin") && lab.file("efi.bin").count > 100_000)
        #expect(try Self.output(lab, "MTOOLS_SKIP_CHECK=1 minfo -i disk.img@@\(parts[0].offset) ::").contains("disk label=\"ESP "))
    }

    @Test func aMemberLeadingOutOfTheTreeIsRefused() throws {
        let hostile = "add('../escape', data=b'x')"
        let lab = try DeployHostTests.Lab(makeImage: Self.makeTree(extra: hostile), deviceOptions: Self.layout)
        defer { lab.finish() }
        let disk = try lab.disk(mib: 64)
        try lab.store.shell("mkdir -p tmp/inner")
        let result = try DeployHostTests.agent(["--disk", disk, "--identity", lab.identity], environment: ["TMPDIR": "\(lab.work)/tmp/inner"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("leads outside the tree"), "\(result.stderr)")
        #expect(try Self.output(lab, "find tmp -mindepth 1 -not -name inner").isEmpty, "nothing written beside the staging folder, which is gone")
        let status = lab.storeText("reports/\(DeployHostTests.macPath)/status.json")
        #expect(status.contains("\"phase\": \"failed\"") && !status.contains("\"done\""), "\(status)")
    }

    @Test func aCorruptTarBlobIsADigestMismatchAndNeverDone() throws {
        let lab = try DeployHostTests.Lab(makeImage: Self.makeTree(), deviceOptions: Self.layout)
        defer { lab.finish() }
        let descriptor = lab.storeText("images/golden.json")
        guard let range = descriptor.range(of: "\"blob\": \"") else { Issue.record("no blob in \(descriptor)"); return }
        let blob = String(descriptor[range.upperBound...].prefix(64))
        try lab.store.shell("printf 'XYZ' | dd of=store/blobs/sha256/\(blob) bs=1 seek=200000 conv=notrunc status=none")
        let result = try DeployHostTests.agent(["--disk", try lab.disk(mib: 64), "--identity", lab.identity])
        #expect(result.status == 1)
        #expect(result.stderr.contains("digest mismatch"), "\(result.stderr)")
        let status = lab.storeText("reports/\(DeployHostTests.macPath)/status.json")
        #expect(status.contains("\"phase\": \"failed\"") && !status.contains("\"done\""), "\(status)")
    }

    @Test func aLayoutLargerThanTheDiskIsRefusedBeforeWriting() throws {
        let lab = try DeployHostTests.Lab(makeImage: Self.makeTree(), deviceOptions: ["--part", "esp:64M:vfat:/boot/efi", "--part", "root:rest:ext4:/"])
        defer { lab.finish() }
        let disk = try lab.disk(mib: 32)
        try lab.store.shell("printf 'untouched' | dd of=disk.img conv=notrunc status=none")
        let before = lab.file("disk.img")
        let result = try DeployHostTests.agent(["--disk", disk, "--identity", lab.identity])
        #expect(result.status == 1)
        #expect(result.stderr.contains("the layout does not fit") && result.stderr.contains("nothing was written"), "\(result.stderr)")
        #expect(lab.file("disk.img") == before, "not a byte of the disk changed")
    }

    @Test func aTreeLargerThanItsPartitionsIsRefusedBeforeWriting() throws {
        // 3 MiB of tree onto a 2 MiB root.
        let lab = try DeployHostTests.Lab(makeImage: Self.makeTree(), deviceOptions: ["--part", "esp:1M:vfat:/boot/efi", "--part", "root:rest:ext4:/"])
        defer { lab.finish() }
        let disk = try lab.disk(mib: 4)
        let result = try DeployHostTests.agent(["--disk", disk, "--identity", lab.identity])
        #expect(result.status == 1)
        #expect(result.stderr.contains("the layout's file systems") && result.stderr.contains("nothing was written"), "\(result.stderr)")
    }

    @Test func partOptionsAreCheckedByDeviceAdd() throws {
        let store = try CLIStore()
        defer { store.remove() }
        try store.fakeProfile()
        try store.shell("head -c 1048576 /dev/urandom > raw.img && \(Self.makeTree(compress: "true"))")
        _ = try CLI.run(["image", "add", "\(store.work)/raw.img", "--name", "raw", "--store", store.path])
        _ = try CLI.run(["image", "add", "\(store.work)/image.tar", "--name", "tree", "--store", store.path])
        let base = ["device", "add", DeployHostTests.mac, "--profile", "qemu-virtio", "--server", "http://127.0.0.1:1", "--store", store.path]
        let raw = try CLI.run(base + ["--image", "raw", "--part", "root:rest:ext4:/"])
        #expect(raw.status != 0 && raw.stderr.contains("--part applies to tar images only"), "\(raw.stderr)")
        let noRoot = try CLI.run(base + ["--image", "tree", "--part", "data:rest:ext4:/srv"])
        #expect(noRoot.status != 0 && noRoot.stderr.contains("no partition mounted at /"), "\(noRoot.stderr)")
        let badSize = try CLI.run(base + ["--image", "tree", "--part", "root:lots:ext4:/"])
        #expect(badSize.status != 0 && badSize.stderr.contains("size lots"), "\(badSize.stderr)")
        let restFirst = try CLI.run(base + ["--image", "tree", "--part", "root:rest:ext4:/", "--part", "esp:8M:vfat:/boot/efi"])
        #expect(restFirst.status != 0 && restFirst.stderr.contains("only the last partition"), "\(restFirst.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(store.path)/devices/\(DeployHostTests.macPath)"), "no device was added")
        let good = try CLI.run(base + ["--image", "tree", "--part", "esp:8M:vfat:/boot/efi", "--part", "root:rest:ext4:/"])
        #expect(good.status == 0, "\(good.stderr)")
    }
}
