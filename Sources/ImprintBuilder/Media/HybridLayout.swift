import Foundation
import ImprintCore

/// A file on the ISO 9660 file system: its path there and the host file it is read from in place
/// (a graft point, so the kernel and initrd are never copied to a staging tree).
struct ISOFile: Equatable {
    var path: String
    var source: String
}

/// The hybrid image's layout and the one `xorriso -as mkisofs` call that writes it, the way
/// `grub-mkrescue` and distribution ISOs lay theirs out, but with every date, the volume id and the
/// GPT disk GUID given rather than taken from the clock (DESIGN section 10):
///
/// - System area: GRUB's `boot_hybrid.img` as the MBR boot code, which loads the El Torito core when
///   the image is a BIOS disk or USB stick; a protective MBR and a GPT (partition 1 the ISO 9660 file
///   system, 2 the ESP).
/// - ISO 9660 with Rock Ridge (owners 0, files readable by all), the El Torito catalog with a BIOS
///   entry (the GRUB core, with the boot info table GRUB patches its own location from) and a UEFI
///   entry pointing at appended partition 2.
/// - Appended partitions after the file system: 2 is the FAT ESP; a later data partition (the offline
///   stick) is one more entry in ``appended``.
struct HybridLayout: Equatable {
    var label: String
    var diskGUID: GUID
    var files: [ISOFile]
    /// GRUB's hybrid MBR boot code (`/usr/lib/grub/i386-pc/boot_hybrid.img`).
    var hybridMBR: String
    var appended: [Partition]

    /// A partition image written after the ISO 9660 file system and listed in the GPT.
    struct Partition: Equatable {
        /// 1-4, as xorriso's `-append_partition` numbers them (1 is taken by the ISO itself).
        var number: Int
        /// An MBR type byte (`0xef` makes the GPT entry an EFI System partition) or a GPT type GUID.
        var type: String
        var image: String
    }

    /// `--modification-date=`'s form of `epoch`: `YYYYMMDDhhmmsscc` in UTC.
    static func isoDate(epoch: Int) -> String {
        var time = time_t(epoch)
        var parts = tm()
        gmtime_r(&time, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(parts.tm_year + 1900)\(two(parts.tm_mon + 1))\(two(parts.tm_mday))\(two(parts.tm_hour))\(two(parts.tm_min))\(two(parts.tm_sec))00"
    }

    /// A graft point's halves escape `=` and `\` with a backslash.
    static func escapeGraft(_ path: String) -> String {
        path.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "=", with: "\\=")
    }

    /// The arguments after `xorriso`.
    func xorrisoArguments(output: String, epoch: Int) -> [String] {
        let date = Self.isoDate(epoch: epoch)
        var arguments = [
            "-as", "mkisofs", "-o", output,
            "-r", "-V", label,
            // Volume dates, every file's dates and the GPT disk GUID: fixed, not the clock's.
            "--modification-date=\(date)", "--set_all_file_dates", date, "--gpt_disk_guid", diskGUID.description,
            // No 300 KiB tail pad, which would show as a stray partition.
            "-no-pad",
            "-graft-points",
            // BIOS: GRUB's El Torito core; --grub2-boot-info patches its location in for the hybrid MBR.
            "-b", GRUBConfig.biosImagePath, "-no-emul-boot", "-boot-load-size", "4", "-boot-info-table", "--grub2-boot-info",
            "-c", "boot/grub/boot.cat",
            "--grub2-mbr", hybridMBR,
        ]
        for partition in appended {
            arguments += ["-append_partition", "\(partition.number)", partition.type, partition.image]
        }
        if !appended.isEmpty { arguments.append("-appended_part_as_gpt") }
        // UEFI: the El Torito EFI entry is the ESP partition itself, not a second copy in the file system.
        if let esp = appended.first(where: { $0.type == "0xef" }) {
            arguments += ["-eltorito-alt-boot", "-e", "--interval:appended_partition_\(esp.number):all::", "-no-emul-boot"]
        }
        arguments += files.map { "\(Self.escapeGraft($0.path))=\(Self.escapeGraft($0.source))" }
        return arguments
    }
}
