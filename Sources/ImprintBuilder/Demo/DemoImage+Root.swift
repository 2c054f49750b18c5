import Foundation

extension DemoImage {
    /// The root filesystem: busybox with its applet links, `/etc/hostname`, `/sbin/init`, and the UKI's
    /// kernel and initrd as `/boot/vmlinuz` and `/boot/initrd.img` (for an agent that kexecs the deployed
    /// system), made with `mkfs.ext4 -d` on a partition-sized file, then every inode's owner and times
    /// pinned with `debugfs` (mkfs copies them from the staging tree, whose change times differ per build).
    func buildRoot(_ inputs: Inputs, initrd: String, ids: DemoIDs, into work: String) throws -> BuiltPartition {
        let staging = "\(work)/root"
        let busybox = inputs.busybox.path("bin/busybox")
        let paths = try stageRoot(busybox: busybox, kernel: inputs.kernel.vmlinuz, initrd: initrd, at: staging)
        let size = Self.rootSize(contentSize: try [busybox, inputs.kernel.vmlinuz, initrd].reduce(0) { $0 + (try FileManagerSize.size(of: $1)) })
        let image = "\(work)/root.img"
        try Self.makeFile(image, size: size)
        try DemoTool.mkfsExt4.run([
            "-q", "-F", "-t", "ext4", "-b", "4096", "-I", "256", "-i", "16384", "-L", "root", "-U", ids.ext4UUID,
            "-E", "root_owner=0:0,hash_seed=\(ids.ext4HashSeed)", "-d", staging, image,
        ], environment: Self.toolEnvironment, what: "make the root filesystem")

        // Owner root and the fixed epoch on every inode, whoever built it and whenever.
        var commands = ""
        for path in ["/", "/lost+found"] + paths.map({ "/" + $0 }) {
            for field in ["uid 0", "gid 0", "atime @\(Self.epoch)", "ctime @\(Self.epoch)", "mtime @\(Self.epoch)", "crtime @\(Self.epoch)"] {
                commands += "sif \"\(path)\" \(field)\n"
            }
        }
        let script = "\(work)/debugfs-pin"
        try Data(commands.utf8).write(to: URL(fileURLWithPath: script))
        let pinned = try DemoTool.debugfs.run(["-w", "-f", script, image], environment: Self.toolEnvironment, what: "pin owners and times in the root filesystem")
        // debugfs reports a failed command on stderr but still exits 0.
        let problems = pinned.stderr.split(separator: "\n").filter { !$0.hasPrefix("debugfs ") }
        guard problems.isEmpty else { throw DemoError("debugfs could not pin the root filesystem: \(problems.prefix(3).joined(separator: "; "))") }
        return BuiltPartition(path: image, size: size)
    }

    /// The root partition's size for `contentSize` bytes of files: those, the journal (4 MiB up to
    /// 128 MiB), about 4 MiB for what the agent writes and the inode tables (one 256-byte inode per
    /// 16 KiB, `-i 16384`: 1/64 of the size), in whole MiB (20 MiB with Debian 12's kernel).
    static func rootSize(contentSize: Int) -> Int {
        let data = contentSize + (4 << 20) + (4 << 20)
        return wholeMiB(data + data / 63)
    }

    /// Writes the root tree under `staging`; returns every path in it, relative.
    func stageRoot(busybox: String, kernel: String, initrd: String, at staging: String) throws -> [String] {
        let fm = FileManager.default
        var paths: [String] = []
        func directory(_ path: String, mode: Int = 0o755) throws {
            try fm.createDirectory(atPath: "\(staging)/\(path)", withIntermediateDirectories: true)
            try fm.setAttributes([.posixPermissions: mode], ofItemAtPath: "\(staging)/\(path)")
            paths.append(path)
        }
        func file(_ path: String, _ contents: Data, mode: Int) throws {
            guard fm.createFile(atPath: "\(staging)/\(path)", contents: contents, attributes: [.posixPermissions: mode]) else {
                throw DemoError("cannot write \(staging)/\(path)")
            }
            try fm.setAttributes([.posixPermissions: mode], ofItemAtPath: "\(staging)/\(path)")
            paths.append(path)
        }

        try fm.createDirectory(atPath: staging, withIntermediateDirectories: true)
        try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: staging)
        for dir in ["bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "boot", "dev", "proc", "sys", "run", "root", "mnt"] {
            try directory(dir)
        }
        try directory("tmp", mode: 0o1777)
        guard let binary = fm.contents(atPath: busybox) else { throw DemoError("cannot read \(busybox)") }
        try file("bin/busybox", binary, mode: 0o755)
        try file("sbin/init", Data(DemoScripts.rootInit.utf8), mode: 0o755)
        try file("etc/hostname", Data("\(Self.hostname)\n".utf8), mode: 0o644)
        try file("etc/os-release", Data(Self.osRelease.utf8), mode: 0o644)
        // The same bytes as the UKI's .linux and .initrd, plain files: an agent can kexec them.
        for (path, source) in [("boot/vmlinuz", kernel), ("boot/initrd.img", initrd)] {
            guard let data = fm.contents(atPath: source) else { throw DemoError("cannot read \(source)") }
            try file(path, data, mode: 0o644)
        }

        // busybox-static is a static x86-64 binary: it runs here and lists its own applets.
        let listed = try ImprintBuilder.run(busybox, ["--list-full"])
        guard listed.status == 0 else { throw DemoError("\(busybox) --list-full failed: \(listed.lastErrorLine)") }
        for applet in listed.stdout.split(separator: "\n").map(String.init).sorted() {
            // /sbin/init is the demo's script; linuxrc is for initrds.
            guard !applet.isEmpty, !applet.contains(".."), !paths.contains(applet), applet != "linuxrc" else { continue }
            let parent = (applet as NSString).deletingLastPathComponent
            if !parent.isEmpty, !paths.contains(parent) { try directory(parent) }
            try fm.createSymbolicLink(atPath: "\(staging)/\(applet)", withDestinationPath: "/bin/busybox")
            paths.append(applet)
        }
        return paths
    }
}
