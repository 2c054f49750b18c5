import Foundation
import ImprintCore

extension BootMedium {
    /// What goes on the medium, read from the store.
    struct Inputs {
        var profile: Store.BuiltProfile
        var kernel: String
        var initrd: String
        /// The device's `identity.cpio`; nil for a profile-wide medium.
        var identity: String?
        var mac: MACAddress?
        var hostname: String?
        var label: String
        var kernelSize: Int
        var initrdSize: Int
        var identitySize: Int

        /// The initrds as GRUB names them on the ISO, in the order the kernel unpacks them.
        var isoInitrds: [String] { ["/boot/initrd.img"] + (identity == nil ? [] : ["/boot/identity.cpio"]) }
    }

    /// The device's assignment (for its profile) and identity, or the profile alone; the profile must
    /// be built and its command line one GRUB passes through unchanged.
    func resolveInputs() throws -> Inputs {
        let store = try Store.open(self.store.root, create: false)
        var identity: String?
        var mac: MACAddress?
        var hostname: String?
        let profileName: String
        switch subject {
        case let .device(device):
            guard FileIO.isDirectory(store.deviceDirectory(device)) else {
                throw MediaError("no device \(device.colon) in \(store.root): add it first (imprint device add \(device.colon) --profile P --image NAME --store \(store.root)); imprint device list shows the devices")
            }
            guard let text = FileIO.readText(store.assignment(device)) else {
                throw MediaError("device \(device.colon) has no readable assignment.json in \(store.deviceDirectory(device)): re-add it (imprint device add \(device.colon) ... --force)")
            }
            let assignment: DeviceAssignment
            do {
                assignment = try DeviceAssignment.parse(text)
            } catch {
                throw MediaError("device \(device.colon): assignment.json cannot be read (\(error)): re-add it with this imprint (imprint device add --force)")
            }
            guard FileIO.exists(store.identity(device)) else {
                throw MediaError("device \(device.colon) has no identity.cpio in \(store.deviceDirectory(device)): re-add it (imprint device add \(device.colon) ... --force)")
            }
            identity = store.identity(device)
            mac = device
            hostname = assignment.hostname
            profileName = assignment.profile
        case let .profile(name):
            profileName = name
        }
        let profile = try store.loadProfile(profileName)
        if mac == nil && profile.defaultServer == nil {
            throw MediaError("profile '\(profile.name)' names no agent.server: a medium without a device identity has no store to report to; set agent.server in the recipe and rebuild the profile, or make a device's medium (imprint iso MAC)")
        }
        if let problem = GRUBConfig.problem(withCmdline: profile.cmdline) {
            throw MediaError("profile '\(profile.name)': its kernel command line \(problem): fix cmdline in the recipe and rebuild the profile")
        }
        let kernel = "\(store.profileDirectory(profile.name))/vmlinuz"
        let initrd = "\(store.profileDirectory(profile.name))/initrd.img"
        return Inputs(profile: profile, kernel: kernel, initrd: initrd, identity: identity, mac: mac, hostname: hostname,
                      label: Self.label(for: subject), kernelSize: try Self.size(kernel), initrdSize: try Self.size(initrd),
                      identitySize: try identity.map(Self.size) ?? 0)
    }

    /// The ISO 9660 volume id GRUB searches for: `IMPRINT_525400123456` for a device, `IMPRINT_` and
    /// the profile's name in capitals for a profile (d-characters only: A-Z, 0-9 and `_`; 32 at most).
    static func label(for subject: Subject) -> String {
        let name: String
        switch subject {
        case let .device(mac): name = mac.hyphenated.replacingOccurrences(of: "-", with: "")
        case let .profile(profile): name = profile
        }
        let cleaned = name.uppercased().unicodeScalars.map { scalar -> Character in
            ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar) ? Character(scalar) : "_"
        }
        return String(("IMPRINT_" + String(cleaned)).prefix(32))
    }

    private static func size(_ path: String) throws -> Int {
        do {
            return try FileManagerSize.size(of: path)
        } catch {
            throw MediaError("cannot read \(path): \(error.localizedDescription)")
        }
    }
}
