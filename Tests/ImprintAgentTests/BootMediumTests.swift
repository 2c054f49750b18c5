import Foundation
@testable import ImprintCore
import Testing

@testable import ImprintAgent

/// The agent never deploys onto the medium it booted from, and the offline stick's pieces that run
/// without a machine: the command line, the `file://` store client, the steps' order.
@Suite("Boot medium and offline stick")
struct BootMediumTests {
    /// An ISO 9660 primary volume descriptor's first 72 bytes with volume id `id`.
    static func descriptor(_ id: String, type: UInt8 = 1, magic: String = "CD001") -> [UInt8] {
        var bytes = [UInt8](repeating: 0x20, count: 72)
        bytes[0] = type                                              // 1: primary volume descriptor
        bytes.replaceSubrange(1..<6, with: Array(magic.utf8))        // standard identifier
        bytes[6] = 1                                                 // version
        bytes[7] = 0                                                 // unused
        bytes.replaceSubrange(8..<40, with: [UInt8](repeating: 0x20, count: 32))  // system id, blank
        bytes.replaceSubrange(40..<40 + id.utf8.count, with: Array(id.utf8))      // volume id, space-padded
        return bytes
    }

    @Test func volumeIDFromTheDescriptor() {
        #expect(BootMediumMatch.volumeID(descriptor: Self.descriptor("IMPRINT_525400123456")) == "IMPRINT_525400123456")
        #expect(BootMediumMatch.volumeID(descriptor: Self.descriptor("IMPRINT_QEMU_VIRTIO_PROFILE_LONG")) == "IMPRINT_QEMU_VIRTIO_PROFILE_LONG", "all 32 bytes")
        #expect(BootMediumMatch.volumeID(descriptor: Self.descriptor("X", type: 2)) == nil, "a supplementary descriptor")
        #expect(BootMediumMatch.volumeID(descriptor: Self.descriptor("X", magic: "CD002")) == nil)
        #expect(BootMediumMatch.volumeID(descriptor: Array(Self.descriptor("X").prefix(71))) == nil, "short read")
        #expect(BootMediumMatch.volumeID(descriptor: [UInt8](repeating: 0, count: 72)) == nil, "a blank disk")
        #expect(BootMediumMatch.volumeID(descriptor: Self.descriptor("")) == nil, "no id")
    }

    @Test func theMediumIsExcludedWhateverItsSize() throws {
        let ids: [String: String?] = ["vda": nil, "sda": "IMPRINT_525400123456", "sdb": "IMPRINT_OTHER", "sr0": "IMPRINT_525400123456"]
        let excluded = BootMediumMatch.excluded(medium: "IMPRINT_525400123456", volumeIDs: ids)
        #expect(excluded == ["sda", "sr0"])
        #expect(BootMediumMatch.excluded(medium: nil, volumeIDs: ids).isEmpty)
        #expect(BootMediumMatch.excluded(medium: "", volumeIDs: ids).isEmpty)

        // A stick seen as a fixed disk (QEMU's usb-storage, a USB hard disk), larger than the machine's own.
        let disks = [Disk(name: "vda", bytes: 64 << 20, removable: false), Disk(name: "sda", bytes: 16 << 30, removable: false)]
        #expect(try DiskChoice.choose(.largestNonRemovable, disks: disks, excluded: [], imageBytes: 1 << 20).get().name == "sda", "without the rule, the stick")
        #expect(try DiskChoice.choose(.largestNonRemovable, disks: disks, excluded: excluded, imageBytes: 1 << 20).get().name == "vda")
        guard case .failure(let named) = DiskChoice.choose(.path("/dev/sda"), disks: disks, excluded: excluded, imageBytes: 1) else {
            Issue.record("an assignment naming the medium was accepted")
            return
        }
        #expect(named.what.contains("sda is the medium this agent booted from"), "\(named)")
        guard case .failure(let none) = DiskChoice.choose(.largestNonRemovable, disks: [disks[1]], excluded: excluded, imageBytes: 1) else {
            Issue.record("the medium alone was chosen")
            return
        }
        #expect(none.what.contains("(the boot medium)"), "\(none)")
    }

    @Test func commandLine() {
        let line = KernelCommandLine.parse("BOOT_IMAGE=(hd0)/boot/vmlinuz console=tty0 console=ttyS0 imprint.medium=IMPRINT_525400123456 imprint.offline")
        #expect(line.medium == "IMPRINT_525400123456" && line.offline && line.problems.isEmpty)
        let plain = KernelCommandLine.parse("console=ttyS0 imprint.server=http://x")
        #expect(plain.medium == nil && !plain.offline)
        #expect(KernelCommandLine.parse("imprint.medium=").problems == ["imprint.medium= has no volume id"])
    }

    @Test func fileStoreGetsAndPuts() throws {
        let root = NSTemporaryDirectory() + "/imprint-filestore-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: root + "/devices/52-54-00-12-34-56", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        try Data("{\"a\":1}".utf8).write(to: URL(fileURLWithPath: root + "/devices/52-54-00-12-34-56/assignment.json"))
        let client = FileStoreClient()
        let (found, body) = client.get(url: "file://\(root)/devices/52-54-00-12-34-56/assignment.json", headers: [], connectTimeoutSeconds: 1, totalTimeoutSeconds: 1, maximumBytes: 100)
        #expect(found.succeeded && found.status == 200 && body == Array("{\"a\":1}".utf8))
        let (missing, _) = client.get(url: "file://\(root)/images/demo.json", headers: [], connectTimeoutSeconds: 1, totalTimeoutSeconds: 1, maximumBytes: 100)
        #expect(missing.status == 404 && missing.transportError == nil, "a missing file is a store's 404")
        let (tooBig, _) = client.get(url: "file://\(root)/devices/52-54-00-12-34-56/assignment.json", headers: [], connectTimeoutSeconds: 1, totalTimeoutSeconds: 1, maximumBytes: 3)
        #expect(!tooBig.succeeded)

        let put = client.put(url: "file://\(root)/reports/52-54-00-12-34-56/status.json", body: Array("done\n".utf8), headers: [], connectTimeoutSeconds: 1, totalTimeoutSeconds: 1)
        #expect(put.succeeded, "\(put.description)")
        #expect(try String(contentsOfFile: root + "/reports/52-54-00-12-34-56/status.json", encoding: .utf8) == "done\n")
        #expect(!FileManager.default.fileExists(atPath: root + "/reports/52-54-00-12-34-56/status.json.partial"))
        #expect(FileStoreClient.path(of: "file://localhost/run/x") == "/run/x")
        #expect(FileStoreClient.path(of: "http://10.0.2.2/x") == nil)
    }

    @Test func offlineStepsReplaceTheNetwork() throws {
        let arranged = OfflineSteps.arranged(Agent.initSteps)
        let names = arranged.map { String(describing: type(of: $0)) }
        let open = names.firstIndex(of: "OpenOfflineStore")
        let close = names.firstIndex(of: "CloseOfflineStore")
        #expect(names.filter { $0 == "SkippedOffline" }.count == 2)
        #expect(open.map { names[$0 + 1] == "SkippedOffline" } == true, "opened before the network step: \(names)")
        #expect(close.map { names[$0 + 1] == "AfterDeploy" } == true, "closed before the after-action: \(names)")
        #expect(arranged.count == Agent.initSteps.count + 2)
    }
}
