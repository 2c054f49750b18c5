import Foundation
import ImprintCore
import Testing

/// The demo image boots by itself: `imprint image demo`, then QEMU under TCG with OVMF (UEFI) and the
/// image as its virtio disk, until the image's init powers the machine off.
@Suite(.serialized) struct DemoImageBootTests {
    @Test func bootsAndSaysHello() throws {
        let work = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let disk = try Self.buildDemo(into: work)

        let boot = try DemoQEMU.boot(disk: disk, work: work)
        #expect(boot.poweredOff, "QEMU did not power off by itself within \(DemoQEMU.timeout) s:\n\(boot.tail)")
        #expect(boot.lines.contains("hello from imprint-demo"), "no hello on the serial console:\n\(boot.tail)")
        #expect(boot.lines.contains("demo: no customization found"), "no customization line:\n\(boot.tail)")
        #expect(!boot.console.contains("Kernel panic"), "kernel panic:\n\(boot.tail)")
        print("demo image boot: \(String(format: "%.1f", boot.seconds)) s to power-off")
    }

    @Test func showsWhatWasCustomized() throws {
        let work = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let disk = try Self.buildDemo(into: work)
        // What the agent would write, written here with debugfs into the root partition.
        try DemoCustomizer.customize(disk: disk, work: work, files: [
            "/etc/hostname": "lab-01\n",
            "/etc/motd": "welcome to lab-01\nsecond line\n",
            "/etc/imprint/customized": "hostname lab-01\nfile /etc/motd\nseed /var/lib/cloud/seed/nocloud/user-data\n",
            "/var/lib/cloud/seed/nocloud/user-data": "#cloud-config\nhostname: lab-01\n",
            "/var/lib/cloud/seed/nocloud/meta-data": "instance-id: lab-01\n",
        ])

        let boot = try DemoQEMU.boot(disk: disk, work: work)
        #expect(boot.poweredOff, "QEMU did not power off by itself within \(DemoQEMU.timeout) s:\n\(boot.tail)")
        for line in [
            "hello from lab-01",
            "demo: customized: hostname lab-01",
            "demo: customized: file /etc/motd",
            "demo: file /etc/motd: welcome to lab-01",
            "demo: customized: seed /var/lib/cloud/seed/nocloud/user-data",
            "demo: seed meta-data: instance-id: lab-01",
            "demo: seed user-data: #cloud-config",
        ] {
            #expect(boot.lines.contains(line), "missing '\(line)' on the serial console:\n\(boot.tail)")
        }
        #expect(!boot.lines.contains("demo: no customization found"), "customization not seen")
        print("demo image boot (customized): \(String(format: "%.1f", boot.seconds)) s to power-off")
    }

    /// What the agent's `kexec` after-deploy action does, with QEMU's direct kernel boot in place of
    /// kexec: the root partition's `/boot/vmlinuz` and `/boot/initrd.img`, with the agent's `console=`
    /// arguments and `root=PARTUUID=<root's unique GUID> ro panic=-1`.
    @Test func bootsItsOwnKernelLikeAKexec() throws {
        let work = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let disk = try Self.buildDemo(into: work)
        let root = try DemoCustomizer.rootPartition(disk: disk)
        let rootFile = "\(work)/root.ext4"
        try DemoCustomizer.copyOut(disk: disk, partition: root, to: rootFile)
        for (path, name) in [("/boot/vmlinuz", "vmlinuz"), ("/boot/initrd.img", "initrd.img")] {
            let dump = Process()
            dump.executableURL = URL(fileURLWithPath: "/usr/sbin/debugfs")
            dump.arguments = ["-R", "dump \(path) \(work)/\(name)", rootFile]
            dump.standardOutput = FileHandle.nullDevice
            dump.standardError = FileHandle.nullDevice
            try dump.run()
            dump.waitUntilExit()
            let size = (try? FileManager.default.attributesOfItem(atPath: "\(work)/\(name)")[.size] as? Int) ?? 0
            try #require(dump.terminationStatus == 0 && size > 0, "no \(path) in the root partition")
        }
        let cmdline = "console=ttyS0 root=PARTUUID=\(root.unique.description) ro panic=-1"
        let boot = try DemoQEMU.boot(disk: disk, work: work, kernel: .init(vmlinuz: "\(work)/vmlinuz", initrd: "\(work)/initrd.img", cmdline: cmdline))
        #expect(boot.poweredOff, "QEMU did not power off by itself within \(DemoQEMU.timeout) s:\n\(boot.tail)")
        #expect(boot.console.contains("Kernel command line: \(cmdline)"), "not the kexec command line:\n\(boot.tail)")
        #expect(boot.lines.contains("hello from imprint-demo"), "no hello on the serial console:\n\(boot.tail)")
        #expect(boot.lines.contains("demo: no customization found"), "no customization line:\n\(boot.tail)")
        #expect(!boot.console.contains("Kernel panic"), "kernel panic:\n\(boot.tail)")
        print("demo image kexec-style boot: \(String(format: "%.1f", boot.seconds)) s to power-off")
    }

    static func buildDemo(into work: String) throws -> String {
        let disk = "\(work)/demo.img"
        let built = try CLI.run(["image", "demo", "--out", disk])
        #expect(built.status == 0, "image demo failed: \(built.stderr)")
        #expect(built.stderr.contains("image demo: disk: "), "stage lines on stderr: \(built.stderr)")
        guard built.status == 0 else { throw SetupError("image demo failed: \(built.stderr)") }
        return disk
    }
}

/// Writes files into the demo disk's `root` partition: the partition is copied out, changed with
/// `debugfs -w` and copied back at its offset.
enum DemoCustomizer {
    /// The partition named `root`, as the agent finds it.
    static func rootPartition(disk: String) throws -> GPTPartition {
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: disk))
        defer { try? handle.close() }
        let size = Int(try handle.seekToEnd())
        let table = try GPT.parse(disk: { offset, count in
            guard (try? handle.seek(toOffset: UInt64(offset))) != nil, let data = try? handle.read(upToCount: count),
                  data.count == count else { return nil }
            return [UInt8](data)
        }, diskSize: size)
        guard let root = table.partition(named: "root") else { throw SetupError("no partition named root") }
        return root
    }

    /// The partition's bytes, written to `file`.
    static func copyOut(disk: String, partition: GPTPartition, to file: String) throws {
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: disk))
        defer { try? handle.close() }
        try handle.seek(toOffset: UInt64(partition.offset))
        try (try handle.read(upToCount: partition.size) ?? Data()).write(to: URL(fileURLWithPath: file))
    }

    static func customize(disk: String, work: String, files: [String: String]) throws {
        let root = try rootPartition(disk: disk)
        let rootFile = "\(work)/root.ext4"
        try copyOut(disk: disk, partition: root, to: rootFile)

        var commands = "rm /etc/hostname\n"
        var made: Set<String> = ["", "/etc"]
        for (index, (path, content)) in files.sorted(by: { $0.key < $1.key }).enumerated() {
            var parent = ""
            for part in path.split(separator: "/").dropLast() {
                parent += "/\(part)"
                if made.insert(parent).inserted { commands += "mkdir \(parent)\n" }
            }
            let source = "\(work)/file-\(index)"
            try Data(content.utf8).write(to: URL(fileURLWithPath: source))
            commands += "write \(source) \(path)\n"
        }
        let script = "\(work)/debugfs-commands"
        try Data(commands.utf8).write(to: URL(fileURLWithPath: script))
        let debugfs = Process()
        debugfs.executableURL = URL(fileURLWithPath: "/usr/sbin/debugfs")
        debugfs.arguments = ["-w", "-f", script, rootFile]
        debugfs.standardOutput = FileHandle.nullDevice
        debugfs.standardError = FileHandle.nullDevice
        try debugfs.run()
        debugfs.waitUntilExit()
        guard debugfs.terminationStatus == 0 else { throw SetupError("debugfs -w failed on \(rootFile)") }

        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: disk))
        defer { try? handle.close() }
        try handle.seek(toOffset: UInt64(root.offset))
        try handle.write(contentsOf: try Data(contentsOf: URL(fileURLWithPath: rootFile)))
    }
}

/// A QEMU machine with OVMF (UEFI) booting a raw disk as its virtio disk, serial console captured.
enum DemoQEMU {
    static let timeout: Double = 240
    static let firmware = "/usr/share/OVMF/OVMF_CODE.fd"
    static let variables = "/usr/share/OVMF/OVMF_VARS.fd"

    struct Boot {
        var console: String
        var seconds: Double
        var poweredOff: Bool
        /// Console lines without CR, surrounding blanks or OVMF's screen escapes.
        var lines: [String] {
            console.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        }
        var tail: String { lines.suffix(25).joined(separator: "\n") }
    }

    /// A kernel QEMU loads itself (`-kernel`, `-initrd`, `-append`), as kexec would, instead of the firmware's boot.
    struct Kernel {
        var vmlinuz: String
        var initrd: String
        var cmdline: String
    }

    static func boot(disk: String, work: String, kernel: Kernel? = nil) throws -> Boot {
        var arguments = ["-accel", "tcg", "-machine", "q35", "-m", "512", "-nographic", "-no-reboot", "-nic", "none"]
        if let kernel {
            arguments += ["-kernel", kernel.vmlinuz, "-initrd", kernel.initrd, "-append", kernel.cmdline]
        } else {
            // OVMF writes its boot entries into the variable store: each run gets a fresh copy.
            let vars = "\(work)/OVMF_VARS.fd"
            try? FileManager.default.removeItem(atPath: vars)
            try FileManager.default.copyItem(atPath: variables, toPath: vars)
            arguments += [
                "-drive", "if=pflash,format=raw,readonly=on,file=\(firmware)",
                "-drive", "if=pflash,format=raw,file=\(vars)",
            ]
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/qemu-system-x86_64")
        process.arguments = arguments + ["-drive", "file=\(disk),if=virtio,format=raw"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        process.standardInput = FileHandle.nullDevice
        let started = Date()
        try process.run()
        let killer = DispatchWorkItem { process.terminate() }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: killer)
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        killer.cancel()
        let seconds = Date().timeIntervalSince(started)
        let poweredOff = process.terminationReason == .exit && process.terminationStatus == 0 && seconds < timeout
        return Boot(console: String(decoding: data, as: UTF8.self), seconds: seconds, poweredOff: poweredOff)
    }
}
