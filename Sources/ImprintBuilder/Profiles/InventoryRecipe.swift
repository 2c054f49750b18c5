import Foundation
import ImprintCore

/// A recipe for a machine that reported itself (`imprint profile from-inventory`,
/// docs/profile-check.md): its network and storage controllers by PCI ID, the modules no
/// dependency pulls in, and the shape and command line of `recipes/qemu-virtio.yaml`.
public struct InventoryRecipe: Equatable, Sendable {
    /// Where `agent.server` points when neither `--server` nor the store says otherwise: the host
    /// as a QEMU guest sees it.
    public static let defaultServer = "http://10.0.2.2:8080"

    /// What no module's dependencies pull in (DESIGN sections 3 and 10): `sd_mod` for SATA, SAS and
    /// SCSI disks, the file systems a deploy makes, and vfat's code pages.
    public static let baseModules = ["sd_mod", "ext4", "vfat", "nls_cp437", "nls_ascii"]

    /// One `drivers.pci` entry.
    public struct Entry: Equatable, Sendable {
        /// `8086:100e/0200`: vendor, device and as much of the class as the listing gave.
        public var id: String
        /// The pci.ids name (else lspci's), and the slots that have it.
        public var comment: String
    }

    public var profile: String
    public var server: String
    public var entries: [Entry]
    /// `drivers.modules`: ``baseModules`` and the drivers of any virtio device (`virtio_net`).
    public var modules: [String]
    /// The header comment's account of where the listing came from.
    public var origin: String

    /// The recipe for `listing`'s controllers; an error when it has none.
    public init(profile: String, listing: HardwareListing, origin: String, server: String?,
                database: PCIDatabase = PCIDatabase()) throws(ProfileError) {
        guard Self.isUsableName(profile) else {
            throw ProfileError("'\(profile)' is not a usable profile name: name the file with letters, digits, '-', '_' and '.' (recipes/rack3-dell.yaml)")
        }
        let controllers = listing.controllers
        guard !controllers.isEmpty else {
            throw ProfileError("\(origin) lists no network (class 02) or storage (class 01) controller: nothing to make a profile for (lspci -nn output must keep the [cccc] class codes)")
        }
        var entries: [Entry] = []
        var modules = Self.baseModules
        for device in controllers {
            let id = device.id.classCode.map { "\(device.id.id)/\($0)" } ?? device.id.id
            let name = DriverCheck.name(of: device, database: database)
            if let index = entries.firstIndex(where: { $0.id == id }) {
                entries[index].comment += ", \(device.slot)"
            } else {
                let text = (name.isEmpty ? "unknown to pci.ids" : name).unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7f }
                entries.append(Entry(id: id, comment: "\(String(String.UnicodeScalarView(text))) at \(device.slot)"))
            }
            if let type = DriverCheck.virtioType(device.id), let driver = Self.virtioDrivers[type], !modules.contains(driver) {
                modules.append(driver)
            }
        }
        self.profile = profile
        self.server = server ?? Self.defaultServer
        self.entries = entries
        self.modules = modules
        self.origin = origin
    }

    /// The drivers of the virtio devices `virtio_pci` creates, by virtio type: `drivers.pci` brings in
    /// `virtio_pci` only.
    static let virtioDrivers: [UInt16: String] = [1: "virtio_net", 2: "virtio_blk", 8: "virtio_scsi"]

    /// What `Recipe.parse` accepts as a profile name.
    static func isUsableName(_ name: String) -> Bool {
        !name.isEmpty && !name.hasPrefix(".") && name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }
    }

    /// The recipe's YAML, comments and all.
    public var yaml: String {
        let virtioNote = modules.count > Self.baseModules.count ? ", and the\n  # drivers of the virtio devices virtio_pci creates" : ""
        let width = entries.map(\.id.count).max() ?? 0
        let pci = entries.map { entry in
            "    - \"\(entry.id)\"" + String(repeating: " ", count: width - entry.id.count) + "   # \(entry.comment)"
        }
        return """
            # Hardware profile written by `imprint profile from-inventory` from \(origin)
            # (DESIGN section 3; docs/profile-check.md).
            profile: \(profile)
            arch: x86_64
            kernel:
              debian: linux-image-amd64          # resolved with apt to linux-image-6.1.0-NN-amd64, cached
            drivers:
              # The machine's network (class 02) and storage (class 01) controllers, matched through the
              # kernel's module aliases; the build adds each driver's depends= and softdep= closure.
              pci:
            \(pci.joined(separator: "\n"))
              # Modules no dependency pulls in: sd_mod for SATA, SAS and SCSI disks, the file systems a
              # deploy makes, vfat's code pages (the initrd has no modprobe for request_module)\(virtioNote).
              modules: [\(modules.joined(separator: ", "))]
              firmware: []
            cmdline: "console=tty0 console=ttyS0"    # the last console= becomes /dev/console
            agent:
              server: "\(server)"
            formats: [pxe, iso, usb]

            """
    }

    /// The profile name `--out` gives: `recipes/rack3.yaml` -> `rack3`; nil for a name that does
    /// not end in `.yaml` or `.yml`.
    public static func profileName(forOutput path: String) -> String? {
        let file = (path as NSString).lastPathComponent
        for suffix in [".yaml", ".yml"] where file.hasSuffix(suffix) && file.count > suffix.count {
            return String(file.dropLast(suffix.count))
        }
        return nil
    }

    /// The server a discovered machine reached, when `inventory` is `STORE/reports/<mac>/inventory.json`:
    /// the `agent.server` of the profile `STORE/devices/default.ipxe` boots. nil otherwise.
    public static func discoveryServer(forInventory inventory: String) -> String? {
        let reportDir = (inventory as NSString).deletingLastPathComponent
        let reports = (reportDir as NSString).deletingLastPathComponent
        guard (reports as NSString).lastPathComponent == "reports" else { return nil }
        let store = Store(unchecked: (reports as NSString).deletingLastPathComponent.isEmpty ? "." : (reports as NSString).deletingLastPathComponent)
        guard let script = FileIO.readText(store.discoveryScript), let profile = Store.profileInDiscoveryScript(script),
              let bytes = FileIO.read(store.buildReport(profile)),
              let report = try? JSONDecoder().decode(BuildReport.self, from: Data(bytes)) else { return nil }
        return report.agentServer
    }

    /// Writes `text` to `path` atomically (a temporary file in the same folder, then a rename), making
    /// missing folders. Without `force` an existing file is refused, even one made meanwhile.
    public static func write(_ text: String, to path: String, force: Bool) throws(ProfileError) {
        let dir = (path as NSString).deletingLastPathComponent
        if !force && FileIO.exists(path) {
            throw ProfileError("\(path) exists: pass --force to overwrite it, or choose another --out")
        }
        do {
            if !dir.isEmpty { try FileIO.makeDirectory(dir, mode: 0o755) }
            if force {
                try FileIO.writeAtomically(Array(text.utf8), to: path, mode: 0o644)
                return
            }
            // link(2) refuses an existing name: a file made since the check above is not replaced.
            let temporary = FileIO.temporaryName(for: path)
            let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw ProfileError("cannot create \(temporary): \(FileIO.errnoText())") }
            defer { unlink(temporary) }
            do {
                defer { close(fd) }
                guard fchmod(fd, 0o644) == 0 else { throw ProfileError("cannot set the mode of \(temporary): \(FileIO.errnoText())") }
                try FileIO.writeAll(fd, Array(text.utf8), path: temporary)
            }
            guard link(temporary, path) == 0 else {
                if errno == EEXIST { throw ProfileError("\(path) exists: pass --force to overwrite it, or choose another --out") }
                throw ProfileError("cannot write \(path): \(FileIO.errnoText())")
            }
        } catch let error as ProfileError {
            throw error
        } catch {
            throw ProfileError("\(error)")
        }
    }
}
