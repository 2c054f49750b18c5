import Foundation
import ImprintCore

extension DemoImage {
    /// Writes the disk: the GPT from ImprintCore's writer, partition 1 the ESP (`esp`), partition 2
    /// the root (`root`), each image written at its partition's offset; then renamed into place.
    func assemble(esp: BuiltPartition, root: BuiltPartition, ids: DemoIDs) throws -> GPTLayout {
        // 1 MiB for the head, the partitions, 1 MiB for the backup table.
        let diskSize = GPT.alignment + esp.size + root.size + GPT.alignment
        let layout: GPTLayout
        do {
            layout = try GPT.layout(diskSize: diskSize, diskGUID: ids.disk, partitions: [
                GPTPartitionSpec(name: "esp", type: .efiSystem, unique: ids.espPartition, size: esp.size),
                GPTPartitionSpec(name: "root", type: .linuxFilesystem, unique: ids.rootPartition, size: root.size),
            ])
        } catch {
            throw DemoError("cannot lay out the demo disk: \(error)")
        }

        let fm = FileManager.default
        let partial = output + ".partial"
        try? fm.removeItem(atPath: partial)
        try Self.makeFile(partial, size: diskSize)
        var done = false
        defer { if !done { try? fm.removeItem(atPath: partial) } }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: partial))
        defer { try? handle.close() }
        func write(_ data: Data, at offset: Int) throws {
            try handle.seek(toOffset: UInt64(offset))
            try handle.write(contentsOf: data)
        }
        try write(Data(layout.head), at: 0)
        for (partition, image) in zip(layout.partitions, [esp, root]) {
            guard let data = fm.contents(atPath: image.path), data.count <= partition.size else {
                throw DemoError("cannot read \(image.path), or it outgrew partition \(partition.name)")
            }
            try write(data, at: partition.offset)
        }
        try write(Data(layout.tail), at: layout.tailOffset)
        try handle.synchronize()
        guard rename(partial, output) == 0 else {
            throw DemoError("cannot write \(output): \(String(cString: strerror(errno)))")
        }
        done = true
        return layout
    }
}
