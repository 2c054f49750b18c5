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
    var out: String?

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

    func build(_ format: BootMedium.Format, offline: Bool = false, device: String? = nil) throws {
        let subject: BootMedium.Subject
        if let mac { subject = .device(try MACAddress(parsing: mac)) } else { subject = .profile(profile ?? "") }
        var target: StickWriter.Target?
        var output = out ?? ""
        var work: String?
        defer { if let work { try? FileManager.default.removeItem(atPath: work) } }
        if let device {
            // Checked before any work; the medium is made in a temporary folder, then copied onto the stick.
            do { target = try StickWriter.check(device, force: force) } catch { throw CommandFailure("\(format.rawValue): \(error)") }
            let folder = NSTemporaryDirectory() + "/imprint-usb-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            work = folder
            output = folder + "/stick.img"
        }
        let opened: Store
        do { opened = try store.open(create: false) } catch { throw CommandFailure("\(format.rawValue): \(error)") }
        var medium = BootMedium(store: opened, subject: subject, format: format, output: output, force: force) {
            say("\(format.rawValue): \($0)")
        }
        medium.offline = offline
        medium.capacity = target?.bytes
        let report: BootMedium.Report
        do {
            report = try medium.build()
        } catch {
            throw CommandFailure("\(format.rawValue): \(error)")
        }
        if let target {
            for overridden in target.overridden { say("usb: --force: \(overridden)") }
            let written: Int
            do { written = try StickWriter.copy(report.path, to: target.path) } catch { throw CommandFailure("usb: \(error)") }
            print("\(target.path): \(mib(written)) written and synced (the stick holds \(mib(target.bytes))); \(report.dataSize > 0 ? "offline stick for image \(report.imageName ?? "-")" : "boot medium") for \(report.mac?.colon ?? "any machine"), volume \(report.label); \(report.seconds) s to make")
            return
        }
        if report.dataSize > 0 {
            print("\(report.path): \(mib(report.size)) offline USB stick for \(report.mac?.colon ?? "-")\(report.hostname.map { " (\($0))" } ?? ""), profile \(report.profile), volume \(report.label); image \(report.imageName ?? "-") on a \(mib(report.dataSize)) data partition (reports are written there: imprint status --from \(report.path)); \(report.seconds) s")
            return
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

        func validate() throws {
            if options.out == nil { throw ValidationError("give --out FILE.iso") }
        }

        func run() throws { try options.build(.iso) }
    }

    struct USB: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "usb",
            abstract: "Write a device's (or a profile's) USB disk image for dd: GPT, BIOS and UEFI bootable.",
            discussion: """
                The same hybrid layout as imprint iso, which is also a valid GPT disk (protective MBR, \
                partition 1 the ISO 9660 file system, 2 the ESP): dd it to a stick, or give --device. With \
                --offline a third partition (FAT) carries the device's assignment and image, and the agent \
                deploys from it with no network, writing its reports there (imprint status --from). See docs/media.md.
                """)

        @OptionGroup var options: MediaOptions

        @Flag(help: "Put the device's assignment and image on the stick (a data partition): it deploys with no network, and the agent writes its reports onto it (imprint status --from).")
        var offline = false

        @Option(help: ArgumentHelp("Write the medium onto this stick (a whole-disk block device) instead of --out; a mounted, fixed or system disk is refused (--force overrides mounted and fixed, never the running system's disk).", valueName: "/dev/sdX"))
        var device: String?

        func validate() throws {
            switch (options.out, device) {
            case (nil, nil): throw ValidationError("give --out FILE.img, or --device /dev/sdX to write a stick")
            case (.some, .some): throw ValidationError("give --out or --device, not both")
            default: break
            }
            if offline && options.mac == nil { throw ValidationError("--offline needs the device's MAC: the stick carries that device's assignment and image") }
        }

        func run() throws { try options.build(.usb, offline: offline, device: device) }
    }
}
