import Foundation
import ImprintCore
import Testing

@testable import ImprintBuilder

/// The offline stick from a stand-in profile: a third GPT partition (FAT) laid out as a small store
/// with the device's assignment, descriptor and blob byte for byte; the kernel command line naming the
/// medium; reproducible; a stick too small refused with nothing left; reports read back.
@Suite("Offline USB stick")
struct OfflineMediaTests {
    static let mac = MediaTests.mac

    static func offline(_ f: StoreFixture, _ output: String, capacity: Int? = nil) throws -> BootMedium {
        var medium = MediaTests.medium(f, .device(try MACAddress(parsing: mac)), output, format: .usb)
        medium.offline = true
        medium.capacity = capacity
        return medium
    }

    @Test func dataPartitionIsASmallStore() throws {
        let (f, out) = try MediaTests.ready()
        defer { f.remove() }
        let mac = try MACAddress(parsing: Self.mac)
        let report = try Self.offline(f, "\(out)/a.img").build()
        #expect(report.imageName == "disk" && report.dataSize >= 8 << 20)
        #expect(report.cmdline == "console=tty0 console=ttyS0 imprint.medium=IMPRINT_525400123456 imprint.offline")
        let bytes = try f.bytes(report.path)
        #expect(report.size == bytes.count && bytes.count > report.dataSize)
        let table = try GPT.parse(disk: { offset, count in
            offset + count <= bytes.count ? Array(bytes[offset..<offset + count]) : nil
        }, diskSize: bytes.count)
        #expect(table.partitions.map(\.number) == [1, 2, 3])
        let data = try #require(table.partitions.last)
        #expect(data.size == report.dataSize && data.type.description.uppercased() == OfflineData.partitionType)
        #expect(try OfflineStick.dataPartitionOffset(report.path) == data.offset)
        let sfdisk = try run("sfdisk", ["--verify", report.path])
        #expect(sfdisk.stdout.contains("No errors detected."), "sfdisk: \(sfdisk.stdout) \(sfdisk.stderr)")

        // The files, byte for byte, under their store paths; an empty reports/.
        let image = "\(f.work)/data.img"
        try Data(bytes[data.offset..<data.offset + data.size]).write(to: URL(fileURLWithPath: image))
        let descriptor = try ImageDescriptor.parse(String(decoding: try f.bytes(f.store.imageDescriptor("disk")), as: UTF8.self))
        for (path, source) in [("devices/\(mac.hyphenated)/assignment.json", f.store.assignment(mac)),
                               ("images/disk.json", f.store.imageDescriptor("disk")),
                               ("blobs/sha256/\(descriptor.blob)", f.store.blob(descriptor.blob))] {
            let copy = "\(f.work)/copy"
            try? FileManager.default.removeItem(atPath: copy)
            let result = try run("mcopy", ["-n", "-i", image, "::/\(path)", copy], environment: ["MTOOLS_SKIP_CHECK": "1"])
            #expect(result.status == 0, "\(path): \(result.stderr)")
            #expect(try f.bytes(copy) == (try f.bytes(source)), "\(path)")
        }
        let listing = try run("mdir", ["-b", "-i", image, "::/"], environment: ["MTOOLS_SKIP_CHECK": "1"])
        #expect(listing.stdout.contains("::/reports/"), "\(listing.stdout)")
        let label = try run("mlabel", ["-s", "-i", image, "::"], environment: ["MTOOLS_SKIP_CHECK": "1"])
        #expect(label.stdout.contains("IMPRINTDATA"), "\(label.stdout)")

        // Reproducible, and different from the network medium.
        let again = try Self.offline(f, "\(out)/b.img").build()
        #expect(try f.bytes(again.path) == bytes, "two offline sticks differ")
        let network = try MediaTests.medium(f, .device(mac), "\(out)/c.img", format: .usb).build()
        #expect(network.cmdline == "console=tty0 console=ttyS0 imprint.medium=IMPRINT_525400123456" && network.dataSize == 0)
    }

    @Test func reportsReadBack() throws {
        let (f, out) = try MediaTests.ready()
        defer { f.remove() }
        let report = try Self.offline(f, "\(out)/a.img").build()
        // What the agent writes, written here with mtools at the partition's offset.
        let offset = try OfflineStick.dataPartitionOffset(report.path)
        let status = "\(f.work)/status.json"
        try Data("{\"version\":1,\"mac\":\"52-54-00-12-34-56\",\"phase\":\"done\",\"bytesWritten\":1048576,\"bytesTotal\":1048576}\n".utf8)
            .write(to: URL(fileURLWithPath: status))
        let target = "\(report.path)@@\(offset)"
        #expect(try run("mmd", ["-i", target, "::/reports/52-54-00-12-34-56"], environment: ["MTOOLS_SKIP_CHECK": "1"]).status == 0)
        #expect(try run("mcopy", ["-i", target, status, "::/reports/52-54-00-12-34-56/status.json"], environment: ["MTOOLS_SKIP_CHECK": "1"]).status == 0)

        let stick = try OfflineStick(path: report.path)
        defer { stick.close() }
        let store = try Store.open(stick.root, create: false)
        let all = store.statuses()
        #expect(all.count == 1 && all.first?.hostname == "lab-01" && all.first?.report?.phase == .done, "\(all)")
        #expect(throws: MediaError.self) { _ = try OfflineStick(path: (try MediaTests.medium(f, .device(try MACAddress(parsing: Self.mac)), "\(out)/n.img", format: .usb).build()).path) }
    }

    @Test func aStickTooSmallIsRefusedLeavingNothing() throws {
        let (f, out) = try MediaTests.ready()
        defer { f.remove() }
        let error = #expect(throws: MediaError.self) { try Self.offline(f, "\(out)/a.img", capacity: 4 << 20).build() }
        #expect(error?.description.hasPrefix("the stick holds 4194304 bytes (4 MiB), the medium needs") == true, "\(String(describing: error))")
        #expect(MediaTests.files(out).isEmpty)
    }

    @Test func onlyADevicesUSBStickGoesOffline() throws {
        let (f, out) = try MediaTests.ready()
        defer { f.remove() }
        var iso = MediaTests.medium(f, .device(try MACAddress(parsing: Self.mac)), "\(out)/a.iso")
        iso.offline = true
        #expect(throws: MediaError.self) { try iso.build() }
        var profile = MediaTests.medium(f, .profile("qemu-virtio"), "\(out)/p.img", format: .usb)
        profile.offline = true
        #expect(throws: MediaError.self) { try profile.build() }
        #expect(MediaTests.files(out).isEmpty)
    }

    @Test func aMissingBlobIsRefused() throws {
        let (f, out) = try MediaTests.ready()
        defer { f.remove() }
        let descriptor = try ImageDescriptor.parse(String(decoding: try f.bytes(f.store.imageDescriptor("disk")), as: UTF8.self))
        try FileManager.default.removeItem(atPath: f.store.blob(descriptor.blob))
        let error = #expect(throws: MediaError.self) { try Self.offline(f, "\(out)/a.img").build() }
        #expect(error?.description.contains("blob") == true && error?.description.contains("re-add the image") == true, "\(String(describing: error))")
        #expect(MediaTests.files(out).isEmpty)
    }
}
