import Foundation

extension DemoImage {
    /// The unified kernel image: systemd-boot's stub with `.osrel`, `.cmdline`, `.linux` and `.initrd`
    /// added by `objcopy` (Debian 12 has no ukify). systemd 252's stub finds the sections by name;
    /// they must sit above the stub's own, so each goes at the next 4 KiB boundary past the last.
    func buildUKI(_ inputs: Inputs, initrd: String, into work: String) throws -> String {
        let stub = inputs.stub.path("usr/lib/systemd/boot/efi/linuxx64.efi.stub")
        let osrel = "\(work)/os-release", cmdline = "\(work)/cmdline"
        try Data(Self.osRelease.utf8).write(to: URL(fileURLWithPath: osrel))
        try Data(Self.cmdline.utf8).write(to: URL(fileURLWithPath: cmdline))

        let headers = try DemoTool.objdump.run(["-h", stub], what: "read the sections of \(stub)")
        guard let end = Self.sectionsEnd(objdumpHeaders: headers.stdout) else {
            throw DemoError("cannot find the sections of \(stub) in objdump's output")
        }
        var arguments: [String] = []
        var next = end
        for (name, file) in [(".osrel", osrel), (".cmdline", cmdline), (".linux", inputs.kernel.vmlinuz), (".initrd", initrd)] {
            let vma = (next + 0xFFF) & ~0xFFF
            arguments += ["--add-section", "\(name)=\(file)", "--change-section-vma", "\(name)=0x\(String(vma, radix: 16))"]
            next = vma + (try FileManagerSize.size(of: file))
        }
        let uki = "\(work)/BOOTX64.EFI"
        try DemoTool.objcopy.run(arguments + [stub, uki], environment: Self.toolEnvironment, what: "make the unified kernel image")
        // The stub's own time stamp is 0; objcopy's is now.
        try PEStamp.pin(uki, timestamp: 0)
        return uki
    }

    static let osRelease = """
        NAME="imprint demo"
        ID=imprint-demo
        PRETTY_NAME="imprint demo image"

        """

    /// The end (VMA + size) of the highest section in `objdump -h` output.
    static func sectionsEnd(objdumpHeaders text: String) -> Int? {
        var end: Int?
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            // "  0 .text  0000bff0  0000000000004000  0000000000004000  00000400  2**4"
            guard fields.count >= 7, Int(fields[0]) != nil, fields[1].hasPrefix("."),
                  let size = Int(fields[2], radix: 16), let vma = Int(fields[3], radix: 16) else { continue }
            end = max(end ?? 0, vma + size)
        }
        return end
    }

    struct BuiltPartition {
        var path: String
        var size: Int
    }

    /// A FAT image holding `EFI/BOOT/BOOTX64.EFI`, written with mtools (``FATImage``): no loop mount, fixed serial and dates.
    func buildESP(uki: String, ids: DemoIDs, into work: String) throws -> BuiltPartition {
        let ukiSize = try FileManagerSize.size(of: uki)
        // FAT's tables and directories take a few percent; round up to whole MiB.
        let size = Self.wholeMiB(ukiSize + ukiSize / 32 + (1 << 20))
        let image = "\(work)/esp.img"
        // FAT16 (4,085 clusters or more), which firmware reads more widely than the FAT12 mformat would pick
        // for 4 KiB clusters at this size: 1 KiB clusters up to 32 MiB, 4 KiB beyond (FAT16 ends at 65,524).
        let esp = FATImage(path: image, size: size, serial: ids.fatSerial, label: "ESP", clusterSectors: size <= 32 << 20 ? 2 : 8,
                           environment: Self.toolEnvironment)
        try esp.write([FATImage.File(source: uki, destination: "/EFI/BOOT/BOOTX64.EFI")])
        return BuiltPartition(path: image, size: size)
    }

    /// `bytes` rounded up to a whole number of MiB.
    static func wholeMiB(_ bytes: Int) -> Int { (bytes + (1 << 20) - 1) / (1 << 20) * (1 << 20) }

    /// A file of `size` zero bytes (sparse).
    static func makeFile(_ path: String, size: Int) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil) else { throw DemoError("cannot create \(path)") }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.truncate(atOffset: UInt64(size))
    }
}
