import Foundation

/// The configuration embedded in both GRUB images of a medium, and the images made from it with
/// `grub-mkimage` and only the modules it needs. There is no menu and no `grub.cfg` on the medium:
/// the embedded script runs in GRUB's rescue parser before normal mode (`grub_main` runs the embedded
/// config, then tries normal mode), finds the medium's ISO 9660 file system by its volume id, which
/// works alike on a CD, a disk and a USB stick, and boots. A failing line (no serial port) prints an
/// error and the script goes on.
struct GRUBConfig: Equatable {
    /// The ISO 9660 volume id to search for.
    var label: String
    /// The profile's kernel command line.
    var cmdline: String
    /// Absolute paths on the ISO, in order; GRUB pads each to 4 bytes as it concatenates them.
    var initrds: [String]

    /// Where the BIOS El Torito core lives on the ISO.
    static let biosImagePath = "boot/grub/eltorito.img"

    /// BIOS: disk access through the BIOS (CDs too), ISO 9660, search by label, the Linux loader,
    /// and the serial terminal (`linux` brings `boot`, `video`, `vbe` and, in Debian's build, `normal`).
    static let biosModules = ["biosdisk", "iso9660", "search", "linux", "boot", "serial", "terminal"]
    /// UEFI: the firmware's block I/O is built in; `efi_gop` hands the kernel the firmware's frame
    /// buffer, without which a UEFI machine's screen stays blank once Linux starts.
    static let efiModules = ["iso9660", "search", "linux", "boot", "efi_gop", "serial", "terminal"]

    /// A serial line, as the kernel command line's `console=ttyS<unit>[,<speed>...]` names it.
    struct SerialPort: Equatable {
        var unit: Int
        /// Bits per second; the kernel's default, 9600, when the command line gives none.
        var speed: Int
    }

    /// The first serial console of `cmdline`, so GRUB talks on the line at the speed the kernel will use.
    static func serialConsole(in cmdline: String) -> SerialPort? {
        for word in cmdline.split(separator: " ") where word.hasPrefix("console=ttyS") {
            let rest = word.dropFirst("console=ttyS".count)
            guard let unit = Int(rest.prefix(while: \.isNumber)) else { continue }
            let options = rest.drop(while: \.isNumber)
            let speed = options.hasPrefix(",") ? Int(options.dropFirst().prefix(while: \.isNumber)) : nil
            return SerialPort(unit: unit, speed: speed ?? 9600)
        }
        return nil
    }

    /// Why GRUB would not pass `cmdline` to the kernel as written, or nil. Each word is single-quoted
    /// in the script, so `$`, `;` and the like stay literal; but GRUB's Linux loader re-escapes quotes and
    /// backslashes with a backslash, which the kernel does not undo.
    static func problem(withCmdline cmdline: String) -> String? {
        if cmdline.contains(where: { $0 == "\n" || $0 == "\r" }) { return "holds a line break" }
        if let bad = cmdline.first(where: { $0 == "'" || $0 == "\"" || $0 == "\\" }) {
            return "holds \(bad), which GRUB's Linux loader would pass on escaped with a backslash"
        }
        return nil
    }

    /// The embedded script. Terminals follow the kernel's consoles: the screen always, the serial line
    /// when the command line has one.
    var rendered: String {
        var lines: [String] = []
        if let serial = Self.serialConsole(in: cmdline) {
            lines += [
                "serial --unit=\(serial.unit) --speed=\(serial.speed)",
                "terminal_input serial console",
                "terminal_output serial console",
            ]
        }
        let words = cmdline.split(separator: " ", omittingEmptySubsequences: true).map { "'\($0)'" }
        lines += [
            "search --no-floppy --set=root --label \(label)",
            (["linux", "($root)/boot/vmlinuz"] + words).joined(separator: " "),
            (["initrd"] + initrds.map { "($root)\($0)" }).joined(separator: " "),
            "boot",
        ]
        return lines.joined(separator: "\n") + "\n"
    }

    struct Images {
        /// The BIOS El Torito core (`i386-pc-eltorito`).
        var bios: String
        var biosSize: Int
        /// `BOOTX64.EFI` (`x86_64-efi`).
        var efi: String
        var efiSize: Int
    }

    /// Both images, each with the script embedded, written into `work`.
    func makeImages(into work: String, grubRoot: String, environment: [String: String]) throws -> Images {
        let script = "\(work)/embedded.cfg"
        guard FileManager.default.createFile(atPath: script, contents: Data(rendered.utf8)) else {
            throw MediaError("cannot write \(script): \(FileIO.errnoText())")
        }
        let bios = "\(work)/eltorito.img", efi = "\(work)/BOOTX64.EFI"
        for (format, platform, output, modules) in [("i386-pc-eltorito", "i386-pc", bios, Self.biosModules),
                                                    ("x86_64-efi", "x86_64-efi", efi, Self.efiModules)] {
            // -p: where GRUB would look for more modules; none are needed, and the medium has none.
            try MediaTool.grubMkimage.run(["-O", format, "-d", "\(grubRoot)/\(platform)", "-p", "/boot/grub", "-c", script, "-o", output] + modules,
                                          environment: environment, what: "make GRUB's \(platform) image")
        }
        return Images(bios: bios, biosSize: try FileManagerSize.size(of: bios), efi: efi, efiSize: try FileManagerSize.size(of: efi))
    }
}
