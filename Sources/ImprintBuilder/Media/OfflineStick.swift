import Foundation
import ImprintCore

/// Reads an offline stick back (`imprint status --from`): the data partition's `devices/` and
/// `reports/` copied out with mtools into a temporary folder, which is a store as far as
/// `imprint status` is concerned. The stick may be its image file, the stick itself (`/dev/sdX`), or
/// a folder where it is mounted.
public struct OfflineStick {
    /// The folder to read as a store.
    public let root: String
    private let temporary: Bool

    /// Opens `path`: a folder is used as it is; a file or block device has its GPT read and partition 3
    /// (the data partition) copied out.
    public init(path: String) throws {
        if FileIO.isDirectory(path) {
            guard FileIO.isDirectory("\(path)/devices") || FileIO.isDirectory("\(path)/reports") else {
                throw MediaError("\(path) holds no devices/ or reports/: not an offline stick's data partition (mount the stick's third partition, or give its image file or /dev/sdX)")
            }
            root = path
            temporary = false
            return
        }
        let offset = try Self.dataPartitionOffset(path)
        guard MediaTool.mcopy.locate(path: MediaTool.searchPath) != nil else { throw MediaTool.missingError([.mcopy]) }
        let work = try BootMedium.temporaryDirectory()
        do {
            try MediaTool.mcopy.run(["-s", "-n", "-Q", "-i", "\(path)@@\(offset)", "::/devices", "::/reports", work],
                                    environment: MediaTool.environment(epoch: BootMedium.epoch),
                                    what: "copy the reports off \(path)'s data partition")
        } catch {
            try? FileManager.default.removeItem(atPath: work)
            throw MediaError("\(path): \(error) (is this an offline stick, made with imprint usb MAC --offline?)")
        }
        root = work
        temporary = true
    }

    /// Removes the copied folder.
    public func close() {
        if temporary { try? FileManager.default.removeItem(atPath: root) }
    }

    /// Byte offset of GPT partition 3 on the image or device at `path`.
    static func dataPartitionOffset(_ path: String) throws -> Int {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw MediaError("cannot read \(path): \(FileIO.errnoText())") }
        defer { Glibc.close(fd) }
        let size = Int(lseek(fd, 0, SEEK_END))
        let table: GPTTable
        do {
            table = try GPT.parse(disk: { offset, count in
                var bytes = [UInt8](repeating: 0, count: count)
                let got = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, off_t(offset)) }
                return got == count ? bytes : nil
            }, diskSize: size)
        } catch {
            throw MediaError("\(path) has no readable GPT (\(error)): not an imprint USB stick")
        }
        guard let data = table.partitions.first(where: { $0.number == OfflineData.partitionNumber }) else {
            throw MediaError("\(path) has no partition \(OfflineData.partitionNumber): a USB medium made without --offline carries no reports; make it with imprint usb MAC --offline")
        }
        return data.offset
    }
}
