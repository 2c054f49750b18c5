import Foundation

/// A FAT file system image written with mtools: no loop mount, no root, and the same bytes for the
/// same files, since the volume serial is given (`mformat -N`) and every date is SOURCE_DATE_EPOCH
/// in UTC (DESIGN section 10). The boot media's ESP and the demo disk's ESP are both made here.
struct FATImage {
    var path: String
    /// Bytes; the image is created sparse at this size.
    var size: Int
    /// Eight hex digits, as `mformat -N` takes it.
    var serial: String
    var label: String
    /// Sectors per cluster (`mformat -c`); nil lets mformat choose (FAT12 for a small image).
    var clusterSectors: Int?
    /// The tools' environment: SOURCE_DATE_EPOCH and TZ set (``MediaTool/environment(epoch:)``).
    var environment: [String: String]

    /// A file to copy in: `destination` is absolute on the FAT (`/EFI/BOOT/BOOTX64.EFI`).
    struct File {
        var source: String
        var destination: String
    }

    /// Formats the image and copies `files` in, making their folders first (parents before children,
    /// in the order the files name them), then the empty `folders` given.
    func write(_ files: [File], folders extra: [String] = []) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil) else { throw MediaError("cannot create \(path): \(FileIO.errnoText())") }
        guard truncate(path, off_t(size)) == 0 else { throw MediaError("cannot size \(path) to \(size) bytes: \(FileIO.errnoText())") }
        var format = ["-i", path]
        if let clusterSectors { format += ["-c", "\(clusterSectors)"] }
        try MediaTool.mformat.run(format + ["-N", serial, "-v", label, "::"], environment: environment, what: "format \(label)")
        var folders: [String] = []
        for file in files {
            var parent = ""
            for component in file.destination.split(separator: "/").dropLast() {
                parent += "/\(component)"
                if !folders.contains(parent) { folders.append(parent) }
            }
        }
        folders += extra.filter { !folders.contains($0) }
        if !folders.isEmpty {
            try MediaTool.mmd.run(["-i", path] + folders.map { "::\($0)" }, environment: environment, what: "make \(folders.joined(separator: " ")) on \(label)")
        }
        for file in files {
            try MediaTool.mcopy.run(["-i", path, file.source, "::\(file.destination)"], environment: environment, what: "copy \(file.destination) onto \(label)")
        }
    }
}
