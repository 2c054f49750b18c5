import ArgumentParser
import Foundation
import ImprintBuilder

extension Imprint {
    struct Lab: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Boot a QEMU lab machine, copying its serial console to stdout.",
            discussion: "Returns when the guest powers off; fails on a timeout or a kernel panic.")

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

        @Option(help: ArgumentHelp("With --pxe: the store's base URL as the guest sees it (default: the device's identity server, else http://10.0.2.2:8080).", valueName: "URL"))
        var server: String?

        @Option(help: "Firmware: seabios (BIOS) or ovmf (UEFI).")
        var firmware: String = "seabios"

        @Option(help: ArgumentHelp("The network card: virtio, e1000 or e1000e.", valueName: "MODEL"))
        var nic: String = "virtio"

        @Option(name: .customLong("disk-bus"), help: ArgumentHelp("How the disk is attached: virtio, ahci, nvme or scsi (virtio-scsi).", valueName: "BUS"))
        var diskBus: String = "virtio"

        @Option(help: "Seconds to wait for the guest to power off.")
        var timeout: Double = 180

        @OptionGroup var store: StoreOptions

        func validate() throws {
            guard firmware == "seabios" || firmware == "ovmf" else { throw ValidationError("--firmware is seabios or ovmf, not \(firmware)") }
            guard LabMachine.NIC(rawValue: nic) != nil else {
                throw ValidationError("--nic is \(LabMachine.NIC.allCases.map(\.rawValue).joined(separator: ", ")), not \(nic)")
            }
            guard LabMachine.DiskBus(rawValue: diskBus) != nil else {
                throw ValidationError("--disk-bus is \(LabMachine.DiskBus.allCases.map(\.rawValue).joined(separator: ", ")), not \(diskBus)")
            }
            if pxe {
                if profile != nil || kernel != nil || !initrd.isEmpty { throw ValidationError("--pxe boots from the network: give no --profile, --kernel or --initrd") }
            } else if server != nil {
                throw ValidationError("--server goes with --pxe")
            }
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
            if pxe {
                let base = (server ?? identityServer(hyphenated) ?? "http://10.0.2.2:8080").trimmingCharacters(in: CharacterSet(charactersIn: "/"))
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
                say("lab: PXE boot (\(firmware)) from \(base)/\(script); disk first, then the network")
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
            if let append, !pxe { machine.cmdline += " " + append }
            if !pxe { machine.firmware = firmware == "ovmf" ? .ovmf : .seabios }
            machine.mac = mac.lowercased().replacingOccurrences(of: "-", with: ":")
            machine.disk = disk
            machine.nic = LabMachine.NIC(rawValue: nic) ?? .virtio
            machine.diskBus = LabMachine.DiskBus(rawValue: diskBus) ?? .virtio
            machine.timeoutSeconds = timeout
            do {
                let outcome = try machine.run { line in
                    FileHandle.standardOutput.write(Data((line + "\n").utf8))
                }
                say("lab: guest powered off after \(String(format: "%.1f", outcome.seconds)) s")
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
