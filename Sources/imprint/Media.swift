import ArgumentParser
import Foundation
import ImprintBuilder
import ImprintCore

/// What `iso` and `usb` share: whose medium, where to write it.
struct MediaOptions: ParsableArguments {
    @Argument(help: ArgumentHelp("The device's MAC address: its medium carries its identity (token and servers).", valueName: "MAC"))
    var mac: String?

    @Option(help: ArgumentHelp("Instead of a device: a medium for any machine of this built profile, with no identity (the agent reports itself for discovery and waits for an assignment).", valueName: "P"))
    var profile: String?

    @Option(help: ArgumentHelp("Where to write the image.", valueName: "FILE"))
    var out: String

    @Flag(help: "Replace FILE if it exists.")
    var force = false

    @OptionGroup var store: StoreOptions

    func validate() throws {
        switch (mac, profile) {
        case (nil, nil): throw ValidationError("give the device's MAC address, or --profile P for a profile-wide medium")
        case (.some, .some): throw ValidationError("give a MAC address or --profile P, not both: a device's medium boots its assigned profile")
        case let (.some(mac), nil):
            do { _ = try MACAddress(parsing: mac) } catch { throw ValidationError("\(error)") }
        case (nil, .some): break
        }
    }

    func build(_ format: BootMedium.Format) throws {
        let subject: BootMedium.Subject
        if let mac { subject = .device(try MACAddress(parsing: mac)) } else { subject = .profile(profile ?? "") }
        let medium = BootMedium(store: Store(unchecked: store.path), subject: subject, format: format, output: out, force: force) {
            say("\(format.rawValue): \($0)")
        }
        let report: BootMedium.Report
        do {
            report = try medium.build()
        } catch {
            throw CommandFailure("\(format.rawValue): \(error)")
        }
        let whose = report.mac.map { "\($0.colon)\(report.hostname.map { " (\($0))" } ?? "")" } ?? "any machine (no identity: discovery)"
        let what = format == .iso ? "hybrid ISO" : "USB disk image (GPT)"
        print("\(report.path): \(mib(report.size)) \(what) for \(whose), profile \(report.profile), volume \(report.label); kernel \(mib(report.kernelSize)) + initrds \(mib(report.initrdSize + report.identitySize)); BIOS and UEFI, as CD, disk or USB stick; \(report.seconds) s")
    }

    private func mib(_ bytes: Int) -> String { String(format: "%.1f MiB", Double(bytes) / 1_048_576) }
}

extension Imprint {
    struct ISO: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "iso",
            abstract: "Write a device's (or a profile's) hybrid boot ISO: BIOS and UEFI, as a CD, a disk or a USB stick.",
            discussion: """
                The ISO holds the profile's kernel and base initrd and the device's identity.cpio; GRUB boots them \
                on both firmwares with the profile's kernel command line (consoles on screen and serial). The same \
                store gives the same bytes. See docs/media.md.
                """)

        @OptionGroup var options: MediaOptions

        func run() throws { try options.build(.iso) }
    }

    struct USB: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "usb",
            abstract: "Write a device's (or a profile's) USB disk image for dd: GPT, BIOS and UEFI bootable.",
            discussion: """
                Today the same hybrid layout as imprint iso, which is also a valid GPT disk (protective MBR, \
                partition 1 the ISO 9660 file system, 2 the ESP): dd it to a stick. See docs/media.md.
                """)

        @OptionGroup var options: MediaOptions

        func run() throws { try options.build(.usb) }
    }
}
