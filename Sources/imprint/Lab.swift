import ArgumentParser
import Foundation
import ImprintBuilder

extension Imprint {
    struct Lab: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Boot a QEMU lab machine, copying its serial console to stdout.",
            discussion: """
                Boots a built profile's kernel directly (--profile, or --kernel and --initrd), from the network (--pxe), \
                or from a boot medium: --iso FILE as a CD-ROM (or, with --media-as, as a virtio disk or a USB stick; \
                the file itself is never written), --usb FILE as a writable USB stick. Returns when the guest powers \
                off, or with --until TEXT as soon as a console line contains TEXT; fails on a timeout or a kernel panic.
                """)

        @Argument(help: ArgumentHelp("The machine's MAC address.", valueName: "MAC"))
        var mac: String = "52:54:00:12:34:56"

        @Option(help: "Boot this built profile's kernel and initrd from the store.")
        var profile: String?

        @Option(help: "A kernel image to boot (instead of --profile).")
        var kernel: String?

        @Option(help: "Initrds to load, in order (repeatable).")
        var initrd: [String] = []

        @Option(help: ArgumentHelp("A raw disk image for the machine (default: a blank 64 MiB disk).", valueName: "FILE"))
        var disk: String?

        @Option(help: "Extra kernel command-line arguments.")
        var append: String?

        @Flag(help: "Boot from the network: the NIC's iPXE ROM loads devices/<mac>/boot.ipxe from the store's server; the disk boots first, so a deployed disk boots after the agent's reboot.")
        var pxe = false

        @Option(help: ArgumentHelp("Boot this ISO (imprint iso): a CD-ROM unless --media-as says otherwise; guest writes are discarded.", valueName: "FILE"))
        var iso: String?

        @Option(help: ArgumentHelp("Boot this USB image (imprint usb) as a writable USB stick on an xHCI controller.", valueName: "FILE"))
        var usb: String?

        @Option(name: .customLong("media-as"), help: ArgumentHelp("With --iso: attach it as cdrom, disk (virtio) or usb (a USB stick).", valueName: "KIND"))
        var mediaAs: String?

        @Option(help: ArgumentHelp("End the run successfully, stopping the guest, as soon as a console line contains TEXT.", valueName: "TEXT"))
        var until: String?

        @Option(name: .customLong("boot-first"), help: ArgumentHelp("With --pxe: what the firmware tries first, disk (default: a deployed disk boots after the agent's reboot) or network (a machine to capture, whose disk boots a system).", valueName: "DEVICE"))
        var bootFirst: String = "disk"

        @Option(help: ArgumentHelp("With --pxe: the store's base URL as the guest sees it (default: the device's identity server, else http://10.0.2.2:8080).", valueName: "URL"))
        var server: String?

        @Option(help: "Firmware: seabios (BIOS) or ovmf (UEFI).")
        var firmware: String = "seabios"

        @Option(help: ArgumentHelp("The network card: virtio, e1000 or e1000e; none for a machine with no network (an offline stick's).", valueName: "MODEL"))
        var nic: String = "virtio"

        @Option(name: .customLong("disk-bus"), help: ArgumentHelp("How the disk is attached: virtio, ahci, nvme or scsi (virtio-scsi).", valueName: "BUS"))
        var diskBus: String = "virtio"

        @Option(help: ArgumentHelp("Start the machine's clock at this UTC date or time (2001-01-01, 2001-01-01T12:00:00): a machine whose clock is years off, as one fresh from the factory or with a flat CMOS battery.", valueName: "TIME"))
        var clock: String?

        @Option(help: "Seconds to wait for the guest to power off (or to print --until's text).")
        var timeout: Double = 180

        @OptionGroup var store: StoreOptions

        func validate() throws {
            guard firmware == "seabios" || firmware == "ovmf" else { throw ValidationError("--firmware is seabios or ovmf, not \(firmware)") }
            guard LabMachine.NIC(rawValue: nic) != nil else {
                throw ValidationError("--nic is \(LabMachine.NIC.allCases.map(\.rawValue).joined(separator: ", ")), not \(nic)")
            }
            if nic == "none" && pxe { throw ValidationError("--nic none cannot boot from the network: give --iso, --usb or a kernel") }
            guard LabMachine.DiskBus(rawValue: diskBus) != nil else {
                throw ValidationError("--disk-bus is \(LabMachine.DiskBus.allCases.map(\.rawValue).joined(separator: ", ")), not \(diskBus)")
            }
            if let mediaAs {
                guard LabMachine.MediumAttachment(rawValue: mediaAs) != nil else {
                    throw ValidationError("--media-as is \(LabMachine.MediumAttachment.allCases.map(\.rawValue).joined(separator: ", ")), not \(mediaAs)")
                }
                guard iso != nil else { throw ValidationError("--media-as goes with --iso (--usb is always a USB stick)") }
            }
            if until?.isEmpty == true { throw ValidationError("--until needs some text to wait for") }
            if let clock, !LabMachine.isClock(clock) {
                throw ValidationError("--clock \(clock): give a UTC date such as 2001-01-01 or a time such as 2001-01-01T12:00:00")
            }
            if iso != nil || usb != nil {
                if iso != nil && usb != nil { throw ValidationError("give --iso or --usb, not both") }
                if pxe || profile != nil || kernel != nil || !initrd.isEmpty {
                    throw ValidationError("--iso and --usb boot the medium: give no --pxe, --profile, --kernel or --initrd")
                }
                if append != nil { throw ValidationError("--append applies to direct kernel boots: a medium boots with its own command line") }
                if server != nil { throw ValidationError("--server goes with --pxe") }
                return try validateMAC()
            }
            if pxe {
                if profile != nil || kernel != nil || !initrd.isEmpty { throw ValidationError("--pxe boots from the network: give no --profile, --kernel or --initrd") }
            } else if server != nil {
                throw ValidationError("--server goes with --pxe")
            }
            guard bootFirst == "disk" || bootFirst == "network" else { throw ValidationError("--boot-first is disk or network, not \(bootFirst)") }
            if bootFirst != "disk" && !pxe { throw ValidationError("--boot-first goes with --pxe") }
            if pxe { return try validateMAC() }
            if profile != nil && (kernel != nil || !initrd.isEmpty) {
                throw ValidationError("give --profile or --kernel/--initrd, not both")
            }
            if profile == nil && kernel == nil { throw ValidationError("give --profile P, or --kernel K --initrd I") }
            if kernel != nil && initrd.isEmpty { throw ValidationError("--kernel needs at least one --initrd") }
            try validateMAC()
        }

        private func validateMAC() throws {
            let octets = mac.replacingOccurrences(of: "-", with: ":").split(separator: ":")
            guard octets.count == 6, octets.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isHexDigit) }) else {
                throw ValidationError("'\(mac)' is not a MAC address such as 52:54:00:12:34:56")
            }
        }

        func run() throws {
            var machine: LabMachine
            let hyphenated = mac.lowercased().replacingOccurrences(of: ":", with: "-")
            let chosenFirmware: LabMachine.Firmware = firmware == "ovmf" ? .ovmf : .seabios
            if let medium = iso ?? usb {
                let attachment = usb != nil ? .usb : LabMachine.MediumAttachment(rawValue: mediaAs ?? "cdrom") ?? .cdrom
                machine = LabMachine.medium(medium, attachment: attachment, writable: usb != nil, firmware: chosenFirmware)
                say("lab: boot \(medium) (\(firmware)) as \(attachment == .disk ? "a virtio disk" : attachment == .usb ? "a USB stick" : "a CD-ROM")\(usb == nil && attachment != .cdrom ? ", writes discarded" : "")")
            } else if pxe {
                let base = (server ?? identityServer(hyphenated) ?? "http://10.0.2.2:8080").trimmingCharacters(in: CharacterSet(charactersIn: "/"))
                guard !base.lowercased().hasPrefix("https://") else {
                    throw CommandFailure("lab: iPXE cannot fetch \(base) (Debian's iPXE has no HTTPS): give --server http://10.0.2.2:PORT, the store's plain HTTP (serve --http), for the boot files; the agent still uses the identity's https:// server")
                }
                var script = "devices/\(hyphenated)/boot.ipxe"
                if !FileManager.default.fileExists(atPath: "\(store.path)/\(script)") {
                    // An unknown machine: the discovery script, as a DHCP server's default would give it.
                    guard FileManager.default.fileExists(atPath: "\(store.path)/devices/default.ipxe") else {
                        throw CommandFailure("no device \(mac) in \(store.path), and no devices/default.ipxe for discovery: imprint device add \(mac) --profile P --image NAME --store \(store.path), or imprint build a profile")
                    }
                    script = "devices/default.ipxe"
                    say("lab: \(mac) is not a device of \(store.path): discovery through devices/default.ipxe")
                }
                machine = LabMachine.pxe(bootfile: "\(base)/\(script)", firmware: firmware == "ovmf" ? .ovmf : .seabios)
                machine.networkFirst = bootFirst == "network"
                say("lab: PXE boot (\(firmware)) from \(base)/\(script); \(machine.networkFirst ? "the network first, then the disk" : "disk first, then the network")")
            } else if let profile {
                let dir = "\(store.path)/boot/\(profile)"
                guard FileManager.default.fileExists(atPath: "\(dir)/initrd.img") else {
                    throw CommandFailure("profile \(profile) is not built in \(store.path): run `imprint build recipes/\(profile).yaml --store \(store.path)`")
                }
                var cmdline = "console=tty0 console=ttyS0"
                if let data = FileManager.default.contents(atPath: "\(dir)/build.json"),
                   let report = try? JSONDecoder().decode(BuildReport.self, from: data) {
                    cmdline = report.cmdline
                }
                machine = LabMachine(kernel: "\(dir)/vmlinuz", initrds: ["\(dir)/initrd.img"], cmdline: cmdline)
            } else {
                machine = LabMachine(kernel: kernel ?? "", initrds: initrd, cmdline: "console=tty0 console=ttyS0")
            }
            if let append, machine.boot == .kernel { machine.cmdline += " " + append }
            machine.firmware = chosenFirmware
            machine.mac = mac.lowercased().replacingOccurrences(of: "-", with: ":")
            machine.disk = disk
            machine.nic = LabMachine.NIC(rawValue: nic) ?? .virtio
            machine.diskBus = LabMachine.DiskBus(rawValue: diskBus) ?? .virtio
            machine.timeoutSeconds = timeout
            machine.until = until
            machine.clock = clock
            do {
                let outcome = try machine.run { line in
                    FileHandle.standardOutput.write(Data((line + "\n").utf8))
                }
                if outcome.sawUntil, let until {
                    say("lab: saw '\(until)' after \(String(format: "%.1f", outcome.seconds)) s; guest stopped")
                } else {
                    say("lab: guest powered off after \(String(format: "%.1f", outcome.seconds)) s")
                }
            } catch let error as LabMachine.LabError {
                throw CommandFailure("lab: \(error)")
            }
        }

        /// The first server in the device's identity (what its agent will use), read from identity.cpio.
        private func identityServer(_ hyphenated: String) -> String? {
            guard let data = FileManager.default.contents(atPath: "\(store.path)/devices/\(hyphenated)/identity.cpio") else { return nil }
            let text = String(decoding: data, as: UTF8.self)
            guard let start = text.range(of: "\"servers\"") else { return nil }
            let rest = text[start.upperBound...]
            guard let open = rest.firstIndex(of: "\""), let close = rest[rest.index(after: open)...].firstIndex(of: "\"") else { return nil }
            return String(rest[rest.index(after: open)..<close])
        }
    }
}
