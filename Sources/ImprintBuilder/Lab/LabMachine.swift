import Foundation
import ImprintCore

/// A QEMU lab machine under TCG with a NIC and a disk (virtio unless told), booted directly from a kernel, from
/// the network or from a boot medium, its serial console copied to a sink line by line (DESIGN section 10 has
/// the platform facts behind each flag).
public struct LabMachine: Sendable {
    public var kernel: String
    /// Initrds in order; concatenated (each padded to 4 bytes) into one, as the kernel expects.
    public var initrds: [String]
    public var cmdline: String
    public var mac: String = "52:54:00:12:34:56"
    /// A raw disk image; nil gives the machine a blank 64 MiB disk for the run.
    public var disk: String?
    public var memoryMiB = 1024
    public var timeoutSeconds: Double = 180
    /// How the machine boots: the kernel directly, or from the network through the NIC's iPXE ROM.
    public var boot: Boot = .kernel
    public var firmware: Firmware = .seabios
    public var nic: NIC = .virtio
    public var diskBus: DiskBus = .virtio
    /// With `.pxe`: the NIC boots before the disk (a machine to capture, whose disk boots a system).
    public var networkFirst = false
    /// When set, the run ends successfully as soon as a console line contains this text, and QEMU is
    /// stopped: for guests that would otherwise run on (an agent retrying an unreachable server).
    public var until: String?
    /// The guest's clock at power-on (QEMU `-rtc base=`: `2001-01-01` or `2001-01-01T12:00:00`, UTC);
    /// nil: the host's time.
    public var clock: String?

    /// The network card QEMU emulates (each has an iPXE ROM in Debian's ipxe-qemu).
    public enum NIC: String, Equatable, Sendable, CaseIterable {
        case virtio, e1000, e1000e
        /// No network card at all (`-nic none`): a machine that boots and deploys from an offline stick.
        case none

        var device: String {
            switch self {
            case .virtio: return "virtio-net-pci"
            case .e1000: return "e1000"
            case .e1000e: return "e1000e"
            case .none: return ""
            }
        }
    }

    /// The NIC's `-netdev`/`-device` pair (user networking) with `options` on the device, or `-nic none`.
    func nicArguments(_ options: String) -> [String] {
        guard nic != .none else { return ["-nic", "none"] }
        return ["-netdev", "user,id=net0", "-device", "\(nic.device),netdev=net0,mac=\(mac)\(options)"]
    }

    /// How the disk is attached: virtio-blk, AHCI (ICH9 SATA), NVMe, or a SCSI disk on virtio-scsi.
    public enum DiskBus: String, Equatable, Sendable, CaseIterable {
        case virtio, ahci, nvme, scsi

        /// The `-device` arguments for drive `disk0`; `bootIndex` on the device the firmware boots from.
        func devices(bootIndex: Int?) -> [String] {
            let boot = bootIndex.map { ",bootindex=\($0)" } ?? ""
            switch self {
            case .virtio: return ["-device", "virtio-blk-pci,drive=disk0\(boot)"]
            case .ahci: return ["-device", "ich9-ahci,id=ahci0", "-device", "ide-hd,drive=disk0,bus=ahci0.0\(boot)"]
            case .nvme: return ["-device", "nvme,drive=disk0,serial=imprint0\(boot)"]
            case .scsi: return ["-device", "virtio-scsi-pci,id=scsi0", "-device", "scsi-hd,drive=disk0,bus=scsi0.0\(boot)"]
            }
        }
    }

    public enum Boot: Equatable, Sendable {
        /// `-kernel`/`-initrd`, `-no-reboot`: the run ends at the guest's first reboot or power off.
        case kernel
        /// PXE with QEMU user networking handing iPXE `bootfile` (an http:// or tftp:// URL). The disk
        /// boots first and the NIC second, and a reboot is a reboot: a blank disk falls through to the
        /// network, a deployed one boots (DESIGN section 10). The run ends when the guest powers off.
        case pxe(bootfile: String)
        /// A boot medium (an imprint ISO or USB image) attached as `attachment`, which the firmware boots
        /// first (`bootindex=1`: SeaBIOS gives its one hard-disk slot to the first disk otherwise). A
        /// `writable` medium takes the guest's writes, as a real stick does; otherwise they go to a
        /// throwaway overlay (a CD is always read-only). The run ends at the guest's first reboot or power off.
        case medium(path: String, attachment: MediumAttachment, writable: Bool)
    }

    /// How a boot medium is attached.
    public enum MediumAttachment: String, Equatable, Sendable, CaseIterable {
        /// An IDE CD-ROM drive (`-cdrom`).
        case cdrom
        /// A virtio-blk disk.
        case disk
        /// A USB stick on an xHCI controller (`-device qemu-xhci -device usb-storage`).
        case usb

        /// The `-drive` and `-device` arguments for `path`.
        func arguments(path: String, writable: Bool) -> [String] {
            let drive = "file=\(path),if=none,id=medium0,format=raw"
            switch self {
            case .cdrom:
                return ["-drive", "\(drive),media=cdrom,readonly=on", "-device", "ide-cd,drive=medium0,bootindex=1"]
            case .disk:
                return ["-drive", drive + (writable ? "" : ",snapshot=on"), "-device", "virtio-blk-pci,drive=medium0,bootindex=1"]
            case .usb:
                return ["-drive", drive + (writable ? "" : ",snapshot=on"), "-device", "qemu-xhci,id=xhci0",
                        "-device", "usb-storage,bus=xhci0.0,drive=medium0,bootindex=1"]
            }
        }
    }

    public enum Firmware: String, Equatable, Sendable {
        case seabios
        /// Debian's OVMF (UEFI).
        case ovmf
    }

    public init(kernel: String, initrds: [String], cmdline: String) {
        self.kernel = kernel
        self.initrds = initrds
        self.cmdline = cmdline
    }

    /// A machine that boots from a medium (no kernel of its own).
    public static func medium(_ path: String, attachment: MediumAttachment, writable: Bool = false, firmware: Firmware) -> LabMachine {
        var machine = LabMachine(kernel: "", initrds: [], cmdline: "")
        machine.boot = .medium(path: path, attachment: attachment, writable: writable)
        machine.firmware = firmware
        return machine
    }

    /// A machine that boots from the network (no kernel of its own).
    public static func pxe(bootfile: String, firmware: Firmware) -> LabMachine {
        var machine = LabMachine(kernel: "", initrds: [], cmdline: "")
        machine.boot = .pxe(bootfile: bootfile)
        machine.firmware = firmware
        return machine
    }

    public struct Outcome: Sendable {
        public var exitStatus: Int32
        public var console: String
        public var seconds: Double
        /// Whether the run ended because a line contained ``LabMachine/until``.
        public var sawUntil: Bool
    }

    public enum LabError: Error, CustomStringConvertible {
        /// No power off (or no line with `awaiting`, when set) within the time allowed.
        case timeout(seconds: Double, awaiting: String?, lastLines: String)
        /// The guest stopped before a console line contained the awaited text.
        case untilNotSeen(text: String, lastLines: String)
        case kernelPanic(line: String)
        case qemuFailed(status: Int32, lastLines: String)
        case setup(String)

        public var description: String {
            switch self {
            case let .timeout(seconds, awaiting, last):
                let what = awaiting.map { "print '\($0)'" } ?? "power off"
                return "the lab machine did not \(what) within \(Int(seconds)) s; last console lines:\n\(last)\nraise --timeout if it is only slow"
            case let .untilNotSeen(text, last):
                return "the guest stopped before printing '\(text)'; last console lines:\n\(last)"
            case let .kernelPanic(line):
                return "the guest kernel panicked: \(line)\nthe agent or a driver failed before the agent could report; see the console above"
            case let .qemuFailed(status, last):
                return "qemu exited with status \(status):\n\(last)"
            case let .setup(message):
                return message
            }
        }
    }

    /// The QEMU command line (without the executable).
    public func arguments(initrd: String, disk: String) -> [String] {
        var arguments = ["-accel", "tcg", "-nodefaults", "-display", "none"]
        if let clock { arguments += ["-rtc", "base=\(clock)"] }
        switch boot {
        case .pxe(let bootfile):
            arguments += ["-m", "\(memoryMiB)", "-smp", "1", "-serial", "stdio"]
            if firmware == .ovmf { arguments += ["-bios", "/usr/share/ovmf/OVMF.fd"] }
            return arguments + [
                "-netdev", "user,id=net0,bootfile=\(bootfile)",
                "-device", "\(nic.device),netdev=net0,mac=\(mac),bootindex=\(networkFirst ? 1 : 2)",
                "-drive", "file=\(disk),if=none,id=disk0,format=raw",
            ] + diskBus.devices(bootIndex: networkFirst ? 2 : 1)
        case let .medium(path, attachment, writable):
            arguments += ["-no-reboot", "-m", "\(memoryMiB)", "-smp", "1", "-serial", "stdio"]
            if firmware == .ovmf { arguments += ["-bios", "/usr/share/ovmf/OVMF.fd"] }
            // A display adapter, so the medium's screen console has a frame buffer to use (UEFI: GOP).
            arguments += ["-device", "VGA"]
            // QEMU's option syntax doubles a comma inside a value.
            arguments += attachment.arguments(path: path.replacingOccurrences(of: ",", with: ",,"), writable: writable)
            // romfile= skips the NIC's iPXE ROM: the medium boots.
            return arguments + nicArguments(",romfile=") + [
                "-drive", "file=\(disk),if=none,id=disk0,format=raw",
            ] + diskBus.devices(bootIndex: nil)
        case .kernel:
            var append = cmdline
            // panic=-1 with -no-reboot turns a kernel panic into a QEMU exit instead of a hang.
            if !append.split(separator: " ").contains(where: { $0.hasPrefix("panic=") }) { append += " panic=-1" }
            arguments += ["-no-reboot", "-m", "\(memoryMiB)", "-smp", "1", "-serial", "stdio"]
            if firmware == .ovmf { arguments += ["-bios", "/usr/share/ovmf/OVMF.fd"] }
            return arguments + [
                "-kernel", kernel, "-initrd", initrd, "-append", append,
                // romfile= skips the NIC's iPXE ROM: this is a direct kernel boot.
            ] + nicArguments(",romfile=") + [
                "-drive", "file=\(disk),if=none,id=disk0,format=raw",
            ] + diskBus.devices(bootIndex: nil)
        }
    }

    /// Boots the machine and waits for it to power off, or for a line containing ``until``; `sink` gets each
    /// console line as it arrives.
    public func run(sink: @escaping @Sendable (String) -> Void) throws -> Outcome {
        let fm = FileManager.default
        guard let qemu = which("qemu-system-x86_64") else {
            throw LabError.setup("qemu-system-x86_64 not found: run scripts/bootstrap (Debian package qemu-system-x86)")
        }
        for file in (boot == .kernel ? [kernel] + initrds : []) where !fm.isReadableFile(atPath: file) {
            throw LabError.setup("cannot read \(file): build the profile first (imprint build RECIPE)")
        }
        if case let .medium(path, _, _) = boot, !fm.isReadableFile(atPath: path) {
            throw LabError.setup("cannot read the boot medium \(path): make it first (imprint iso MAC --out FILE, or imprint usb)")
        }
        let work = NSTemporaryDirectory() + "imprint-lab-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try fm.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? fm.removeItem(atPath: work) }

        let initrd = "\(work)/initrd"
        if firmware == .ovmf && !fm.isReadableFile(atPath: "/usr/share/ovmf/OVMF.fd") {
            throw LabError.setup("no /usr/share/ovmf/OVMF.fd: run scripts/bootstrap (Debian package ovmf)")
        }
        var joined = Data()
        for file in initrds {
            guard var data = fm.contents(atPath: file) else { throw LabError.setup("cannot read \(file)") }
            data.append(Data(count: (4 - data.count % 4) % 4))
            joined.append(data)
        }
        try joined.write(to: URL(fileURLWithPath: initrd))
        let diskPath: String
        if let disk { diskPath = disk } else {
            diskPath = "\(work)/disk.img"
            guard fm.createFile(atPath: diskPath, contents: nil) else { throw LabError.setup("cannot create \(diskPath)") }
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: diskPath))
            try handle.truncate(atOffset: 64 << 20)
            try handle.close()
        }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: qemu)
        process.arguments = arguments(initrd: initrd, disk: diskPath)
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        process.standardInput = FileHandle.nullDevice
        let started = Date()
        try Self.spawnWithSignalsUnblocked(process)

        let timedOut = LockedFlag()
        let deadline = DispatchWorkItem {
            timedOut.set()
            Self.stop(process)
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeoutSeconds, execute: deadline)

        var console = ""
        var pending = Data()
        var panicLine: String?
        var sawUntil = false
        let handle = out.fileHandleForReading
        while true {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            pending.append(chunk)
            while let newline = pending.firstIndex(of: 0x0A) {
                let lineData = pending[pending.startIndex..<newline]
                pending.removeSubrange(pending.startIndex...newline)
                var line = String(decoding: lineData, as: UTF8.self)
                if line.hasSuffix("\r") { line.removeLast() }
                console += line + "\n"
                sink(line)
                if panicLine == nil, line.contains("Kernel panic") { panicLine = line }
                if let until, !sawUntil, line.contains(until) {
                    sawUntil = true
                    Self.stop(process)
                }
            }
        }
        if !pending.isEmpty {
            let line = String(decoding: pending, as: UTF8.self)
            console += line
            sink(line)
        }
        process.waitUntilExit()
        deadline.cancel()
        let seconds = Date().timeIntervalSince(started)
        let tail = console.split(separator: "\n").suffix(15).joined(separator: "\n")
        if let panicLine { throw LabError.kernelPanic(line: panicLine) }
        if sawUntil { return Outcome(exitStatus: process.terminationStatus, console: console, seconds: seconds, sawUntil: true) }
        if timedOut.value { throw LabError.timeout(seconds: timeoutSeconds, awaiting: until, lastLines: tail) }
        guard process.terminationStatus == 0 else { throw LabError.qemuFailed(status: process.terminationStatus, lastLines: tail) }
        if let until { throw LabError.untilNotSeen(text: until, lastLines: tail) }
        return Outcome(exitStatus: process.terminationStatus, console: console, seconds: seconds, sawUntil: false)
    }
}

extension LabMachine {
    /// Whether `text` is a `--clock` QEMU takes: `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SS` (UTC).
    public static func isClock(_ text: String) -> Bool {
        switch text.count {
        case 10: UTCTime.parse(text + "T00:00:00Z") != nil
        case 19: UTCTime.parse(text + "Z") != nil
        default: false
        }
    }

    /// Starts `process` with no signal blocked. A child inherits the mask of the thread that spawns it,
    /// and this may run on a dispatch worker (the CLI's main is async), which blocks nearly every signal:
    /// a QEMU started from there ignores SIGTERM, so neither a timeout nor `until` could stop it.
    static func spawnWithSignalsUnblocked(_ process: Process) throws {
        var none = sigset_t(), saved = sigset_t()
        sigemptyset(&none)
        pthread_sigmask(SIG_SETMASK, &none, &saved)
        defer { pthread_sigmask(SIG_SETMASK, &saved, nil) }
        try process.run()
    }

    /// SIGTERM (QEMU quits cleanly), then SIGKILL if it is still running 5 s later.
    static func stop(_ process: Process) {
        process.terminate()
        let pid = process.processIdentifier
        DispatchQueue.global().asyncAfter(deadline: .now() + 5) {
            if process.isRunning { kill(pid, SIGKILL) }
        }
    }
}

/// A flag set from one thread and read from another.
final class LockedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var flag = false
    func set() { lock.lock(); flag = true; lock.unlock() }
    var value: Bool { lock.lock(); defer { lock.unlock() }; return flag }
}
