/// The versions of the C libraries linked into the agent.
public struct LibraryVersions: Equatable, Sendable {
    public var curl: String
    public var openssl: String
    public var libarchive: String

    public init(curl: String, openssl: String, libarchive: String) {
        self.curl = curl
        self.openssl = openssl
        self.libarchive = libarchive
    }
}

/// What the identity file said, for the banner.
public enum IdentityStatus: Equatable, Sendable {
    /// No `/etc/imprint/identity.json`.
    case absent
    case present(Identity)
    /// Present but refused, and why.
    case invalid(String)
}

/// The banner printed after coldplug. Tests and lab scripts grep these lines:
/// keep their shape.
public struct Banner: Equatable, Sendable {
    public var agentVersion: String
    public var kernelRelease: String
    public var profile: String?
    public var libraries: LibraryVersions
    public var inventory: Inventory
    public var identity: IdentityStatus

    public init(agentVersion: String, kernelRelease: String, profile: String?, libraries: LibraryVersions,
                inventory: Inventory, identity: IdentityStatus) {
        self.agentVersion = agentVersion
        self.kernelRelease = kernelRelease
        self.profile = profile
        self.libraries = libraries
        self.inventory = inventory
        self.identity = identity
    }

    /// The lines, without the `imprint: ` prefix the log adds.
    public var lines: [String] {
        var lines = [
            "imprint-agent \(agentVersion) kernel \(kernelRelease) profile \(profile ?? "-")",
            "libs curl \(libraries.curl) openssl \(libraries.openssl) libarchive \(libraries.libarchive)",
        ]
        for nic in inventory.interfaces {
            lines.append("nic \(nic.name) mac \(nic.mac) driver \(nic.driver ?? "-") link \(nic.link.rawValue)")
        }
        for disk in inventory.disks {
            lines.append("disk \(disk.name) size \(disk.bytes) (\(humanSize(disk.bytes)))\(disk.removable ? " removable" : "")")
        }
        switch identity {
        case .absent:
            lines.append("identity none")
        case .present(let identity):
            lines.append("identity mac \(identity.mac) hostname \(identity.hostname ?? "-")")
        case .invalid(let reason):
            lines.append("identity invalid: \(reason)")
        }
        return lines
    }
}
