import Foundation
import ImprintCore

/// The offline stick's data partition (docs/media.md "The offline stick"): a FAT file system laid out
/// as a small store holding what one device's deploy reads, and room for what its agent writes:
///
/// ```
/// devices/<mac>/assignment.json (+ .sig)     the device's assignment
/// images/<name>.json (+ .sig)                its image's descriptor
/// blobs/sha256/<hex>                         the image's blob
/// reports/                                   the agent writes reports/<mac>/status.json and log.txt here
/// ```
///
/// The agent mounts it and deploys from `file:///run/imprint/offline` with the same code that deploys
/// from a server; `imprint status --from` reads the reports back. FAT, so any laptop shows the reports;
/// its 4 GiB file limit bounds the blob.
struct OfflineData {
    /// Store-relative path and the store file it is copied from, in the order they are written.
    var files: [(path: String, source: String)]
    var imageName: String
    var blobSize: Int
    /// Bytes of all files.
    var payload: Int

    /// Room left for reports: a status.json and a log.txt of at most 900 KB, several times over.
    static let reportRoom = 8 << 20
    /// FAT32's largest file.
    static let largestFile = (1 << 32) - 1
    /// The data partition's GPT type: Microsoft basic data, so other systems mount it too.
    static let partitionType = "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"
    static let label = "IMPRINTDATA"
    /// Its GPT partition number, which the agent looks for (1 is the ISO 9660 file system, 2 the ESP).
    static let partitionNumber = 3

    /// What the device's deploy needs from `store`, each file checked.
    static func gather(store: Store, mac: MACAddress) throws -> OfflineData {
        let assignmentPath = store.assignment(mac)
        guard let text = FileIO.readText(assignmentPath) else {
            throw MediaError("device \(mac.colon) has no readable assignment.json: re-add it (imprint device add \(mac.colon) ... --force)")
        }
        let assignment: DeviceAssignment
        do { assignment = try DeviceAssignment.parse(text) } catch {
            throw MediaError("device \(mac.colon): assignment.json cannot be read (\(error)): re-add it with this imprint")
        }
        guard assignment.mode == .deploy else {
            throw MediaError("device \(mac.colon) is assigned a \(assignment.mode.rawValue), not a deploy: an offline stick only deploys; make a network medium (imprint usb MAC without --offline)")
        }
        let descriptorPath = store.imageDescriptor(assignment.imageName)
        guard let descriptorText = FileIO.readText(descriptorPath) else {
            throw MediaError("device \(mac.colon) is assigned image \(assignment.imageName), which the store does not have (\(descriptorPath)): imprint image add FILE --name \(assignment.imageName)")
        }
        let image: ImageDescriptor
        do { image = try ImageDescriptor.parse(descriptorText) } catch {
            throw MediaError("image \(assignment.imageName)'s descriptor cannot be read (\(error)): re-add the image")
        }
        guard image.blob == assignment.imageSha256 else {
            throw MediaError("device \(mac.colon) expects image \(assignment.imageName) with blob \(assignment.imageSha256), the store's descriptor names \(image.blob): the image was replaced; imprint device add \(mac.colon) ... --force")
        }
        let blob = store.blob(image.blob)
        let blobSize: Int
        do { blobSize = try FileManagerSize.size(of: blob) } catch {
            throw MediaError("image \(assignment.imageName)'s blob \(blob) is missing: re-add the image (imprint image add)")
        }
        guard blobSize == image.size else {
            throw MediaError("blob \(blob) holds \(blobSize) bytes, its descriptor says \(image.size): re-add the image (imprint image add)")
        }
        guard blobSize <= largestFile else {
            throw MediaError("image \(assignment.imageName)'s blob is \(blobSize) bytes, over FAT's 4 GiB file limit: an offline stick cannot carry it; compress the image (imprint image add --compression zstd) or deploy it over the network")
        }
        let relative = { (path: String) in String(path.dropFirst(store.root.count + 1)) }
        var files: [(path: String, source: String)] = [(relative(assignmentPath), assignmentPath)]
        if FileIO.exists(assignmentPath + ".sig") { files.append((relative(assignmentPath) + ".sig", assignmentPath + ".sig")) }
        files.append((relative(descriptorPath), descriptorPath))
        if FileIO.exists(descriptorPath + ".sig") { files.append((relative(descriptorPath) + ".sig", descriptorPath + ".sig")) }
        files.append((relative(blob), blob))
        var payload = 0
        for file in files { payload += (try? FileManagerSize.size(of: file.source)) ?? 0 }
        return OfflineData(files: files, imageName: assignment.imageName, blobSize: blobSize, payload: payload)
    }

    /// The partition's size: the files rounded to 4 KiB clusters, FAT's tables (1/256 of the data,
    /// generously), and ``reportRoom``; whole MiB.
    var partitionSize: Int {
        let clusters = files.count * 4096 + payload
        let bytes = clusters + clusters / 256 + Self.reportRoom + (1 << 20)
        return (bytes + (1 << 20) - 1) / (1 << 20) * (1 << 20)
    }

    /// Formats `path` as FAT and copies the files in (mtools: no loop mount; the dates and serial fixed).
    func write(to path: String, serial: String, environment: [String: String]) throws {
        let fat = FATImage(path: path, size: partitionSize, serial: serial, label: Self.label,
                           clusterSectors: partitionSize >= 64 << 20 ? 8 : nil, environment: environment)
        try fat.write(files.map { FATImage.File(source: $0.source, destination: "/" + $0.path) }, folders: ["/reports"])
    }
}
