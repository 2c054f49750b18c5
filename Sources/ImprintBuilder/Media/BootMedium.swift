import Foundation
import ImprintCore

/// A boot medium (docs/media.md): one hybrid image that boots under legacy BIOS and UEFI, as a CD,
/// as a disk and as a USB stick, holding a built profile's kernel and base initrd and, for a device,
/// its `identity.cpio`. GRUB boots it on both firmwares, reading the same three files from the ISO 9660
/// file system: a BIOS El Torito core behind a hybrid MBR, and `EFI/BOOT/BOOTX64.EFI` on a small FAT
/// ESP appended as GPT partition 2. Everything is pinned (dates, volume id, GUIDs, FAT serial), so
/// the same inputs give the same bytes; the file is written under a temporary name beside the output
/// and renamed into place, so a failure leaves nothing behind.
public struct BootMedium {
    /// Whose medium: one device's (its identity inside), or a profile's (no identity: discovery).
    public enum Subject: Equatable, Sendable {
        case device(MACAddress)
        case profile(String)
    }

    /// `imprint iso` or `imprint usb`. Both are the same hybrid layout today, a valid GPT disk as well
    /// as an ISO 9660 image; the USB image is where the offline stick's data partition will go.
    public enum Format: String, Sendable {
        case iso, usb
    }

    public var store: Store
    public var subject: Subject
    public var format: Format
    public var output: String
    /// Replace an existing output file.
    public var force: Bool
    /// A USB stick that deploys with no network: the device's assignment, image descriptor and blob
    /// on a data partition (GPT partition 3, FAT), where the agent also writes its reports.
    public var offline = false
    /// The stick's size, when writing to one: a medium larger than this is refused before any work
    /// (estimated) and after it (exactly).
    public var capacity: Int?
    public var log: (String) -> Void
    /// Where the GRUB platform folders are (tests point this elsewhere to see a missing GRUB).
    var grubRoot = MediaTool.grubRoot
    /// The folders searched for programs.
    var searchPath = MediaTool.searchPath

    /// Every date on the medium: 2024-01-01T00:00:00Z.
    public static let epoch = 1_704_067_200
    /// Changes whenever the same inputs should give different bytes.
    static let formatVersion = "imprint-media-1"

    public init(store: Store, subject: Subject, format: Format, output: String, force: Bool = false,
                log: @escaping (String) -> Void = { _ in }) {
        self.store = store
        self.subject = subject
        self.format = format
        self.output = output
        self.force = force
        self.log = log
    }

    /// What `build()` wrote.
    public struct Report: Sendable {
        public var path: String
        public var format: Format
        public var profile: String
        public var mac: MACAddress?
        public var hostname: String?
        /// The ISO 9660 volume id, which GRUB searches for.
        public var label: String
        /// Bytes written to `path`.
        public var size: Int
        public var kernelSize: Int
        public var initrdSize: Int
        /// 0 for a profile-wide medium.
        public var identitySize: Int
        /// The FAT ESP (GPT partition 2).
        public var espSize: Int
        public var seconds: Double
        /// An offline stick's data partition (GPT partition 3), 0 without one.
        public var dataSize = 0
        /// The image an offline stick carries.
        public var imageName: String?
        /// The kernel command line GRUB passes (the profile's, plus imprint.medium= and imprint.offline).
        public var cmdline = ""

        /// Kernel and initrds: what the medium carries beyond its boot loader.
        public var payloadSize: Int { kernelSize + initrdSize + identitySize }
    }

    /// Checks the output path, the store's device and profile and the tools, then writes the medium.
    @discardableResult
    public func build() throws -> Report {
        let started = Date()
        let destination = try OutputFile(path: output, force: force)
        var inputs = try resolveInputs()
        var offlineData: OfflineData?
        if offline {
            guard format == .usb, let mac = inputs.mac else {
                throw MediaError("--offline makes a device's USB stick: give imprint usb MAC --offline (a profile-wide or ISO medium has no assignment to carry)")
            }
            offlineData = try OfflineData.gather(store: try Store.open(store.root, create: false), mac: mac)
        }
        // Kernel, initrds and data, plus about 2 MiB of boot loader, ESP and tables.
        let estimate = inputs.kernelSize + inputs.initrdSize + inputs.identitySize + (offlineData?.partitionSize ?? 0) + (2 << 20)
        if let capacity, estimate > capacity { throw Self.tooSmall(capacity: capacity, needed: estimate) }
        let missing = MediaTool.missing(path: searchPath, grubRoot: grubRoot)
        guard missing.isEmpty else { throw MediaTool.missingError(missing) }

        let work = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: work) }
        // A network medium carries the device's token (derived, so the bytes stay the same): its agent
        // claims none. An offline stick's agent needs none (docs/security.md "Tokens").
        if let identityPath = inputs.identity, let mac = inputs.mac, !offline {
            inputs.identity = try Self.identityWithToken(identityPath, token: try Store.open(store.root, create: false, keys: store.keys.path).mediaToken(mac),
                                                         into: "\(work)/identity.cpio")
            log("token: the medium carries \(mac.colon)'s token (a PXE claim is refused until imprint device rearm, which also revokes it)")
        }
        let environment = MediaTool.environment(epoch: Self.epoch)
        // The agent knows its medium by the volume id (never a deploy target) and, offline, finds its data there.
        let cmdline = ([inputs.profile.cmdline.trimmingCharacters(in: .whitespaces), "imprint.medium=\(inputs.label)"]
                       + (offlineData == nil ? [] : ["imprint.offline"])).filter { !$0.isEmpty }.joined(separator: " ")
        var extra = ""
        if let offlineData {
            var parts: [String] = []
            for file in offlineData.files {
                // The blob's name is its digest; the small manifests are hashed.
                parts.append(file.path.hasPrefix("blobs/") ? file.path : "\(file.path)=\(try MediumIDs.digest(of: file.source))")
            }
            extra = parts.joined(separator: "|")
        }
        let ids = try MediumIDs(inputs: inputs, cmdline: cmdline, extra: extra)

        let config = GRUBConfig(label: inputs.label, cmdline: cmdline, initrds: inputs.isoInitrds)
        let grub = try config.makeImages(into: work, grubRoot: grubRoot, environment: environment)
        log("grub: bios El Torito core \(grub.biosSize) bytes, uefi BOOTX64.EFI \(grub.efiSize) bytes (\(config.rendered.split(separator: "\n").count)-line embedded config)")
        let esp = FATImage(path: "\(work)/efi.img", size: Self.espSize(bootloader: grub.efiSize), serial: ids.fatSerial,
                           label: "IMPRINT_ESP", clusterSectors: nil, environment: environment)
        try esp.write([FATImage.File(source: grub.efi, destination: "/EFI/BOOT/BOOTX64.EFI")])

        var files = [ISOFile(path: "boot/vmlinuz", source: inputs.kernel), ISOFile(path: "boot/initrd.img", source: inputs.initrd)]
        if let identity = inputs.identity { files.append(ISOFile(path: "boot/identity.cpio", source: identity)) }
        files.append(ISOFile(path: GRUBConfig.biosImagePath, source: grub.bios))
        var appended = [HybridLayout.Partition(number: 2, type: "0xef", image: esp.path)]
        var dataSize = 0
        if let offlineData {
            let data = "\(work)/data.img"
            try offlineData.write(to: data, serial: ids.dataSerial, environment: environment)
            dataSize = offlineData.partitionSize
            log("offline: data partition \(dataSize >> 20) MiB (FAT \(OfflineData.label)): image \(offlineData.imageName), blob \(offlineData.blobSize) bytes, \(offlineData.files.count) files, room for reports")
            appended.append(HybridLayout.Partition(number: OfflineData.partitionNumber, type: OfflineData.partitionType, image: data))
        }
        let layout = HybridLayout(label: inputs.label, diskGUID: ids.diskGUID, files: files, hybridMBR: "\(grubRoot)/i386-pc/boot_hybrid.img",
                                  appended: appended)
        do {
            try MediaTool.xorriso.run(layout.xorrisoArguments(output: destination.temporary, epoch: Self.epoch), environment: environment,
                                      what: "write the \(format.rawValue) image")
            if let capacity {
                let written = try FileManagerSize.size(of: destination.temporary)
                if written > capacity { throw Self.tooSmall(capacity: capacity, needed: written) }
            }
            try destination.publish()
        } catch {
            destination.discard()
            throw error
        }
        let size = try FileManagerSize.size(of: output)
        let seconds = (Date().timeIntervalSince(started) * 1000).rounded() / 1000
        return Report(path: output, format: format, profile: inputs.profile.name, mac: inputs.mac, hostname: inputs.hostname,
                      label: inputs.label, size: size, kernelSize: inputs.kernelSize, initrdSize: inputs.initrdSize,
                      identitySize: inputs.identitySize, espSize: esp.size, seconds: seconds,
                      dataSize: dataSize, imageName: offlineData?.imageName, cmdline: cmdline)
    }

    /// The ESP's size for a boot loader of `bootloader` bytes: it, FAT's tables and some slack, in
    /// whole MiB (1 MiB for GRUB's 320 KB; mformat picks FAT12 at that size, which UEFI reads).
    static func espSize(bootloader: Int) -> Int {
        let bytes = bootloader + bootloader / 16 + (128 << 10)
        return (bytes + (1 << 20) - 1) / (1 << 20) * (1 << 20)
    }

    static func tooSmall(capacity: Int, needed: Int) -> MediaError {
        MediaError("the stick holds \(capacity) bytes (\(capacity >> 20) MiB), the medium needs \(needed) bytes (\(needed >> 20) MiB): use a larger stick; nothing was written")
    }

    static func temporaryDirectory() throws -> String {
        var template = Array((NSTemporaryDirectory() + "/imprint-media-XXXXXX").utf8CString)
        guard let dir = mkdtemp(&template) else { throw MediaError("cannot create a temporary folder in \(NSTemporaryDirectory()): \(FileIO.errnoText())") }
        return String(cString: dir)
    }
}

extension BootMedium {
    /// `identity.cpio` at `source` with `token` set, written to `path`.
    static func identityWithToken(_ source: String, token: String, into path: String) throws -> String {
        guard let bytes = FileIO.read(source) else { throw MediaError("cannot read \(source)") }
        do {
            let entries = try Cpio.read(bytes)
            guard let entry = entries.first(where: { $0.name == DeviceIdentity.pathInInitrd }) else {
                throw MediaError("\(source) holds no \(DeviceIdentity.pathInInitrd): re-add the device (imprint device add --force)")
            }
            var identity = try DeviceIdentity.parse(String(decoding: entry.data, as: UTF8.self))
            identity.token = token
            try FileIO.writeAtomically(identity.cpio, to: path, mode: 0o600)
            return path
        } catch let error as MediaError {
            throw error
        } catch {
            throw MediaError("\(source): \(error): re-add the device (imprint device add --force)")
        }
    }
}
