import Foundation
import ImprintCore

/// A store folder (DESIGN section 4): where every per-device decision is written ahead of time
/// as files, for any file server to serve.
///
/// Every file is written to a temporary name in its own folder and renamed into place, so a
/// reader never sees half a file. Files are 0644 and folders 0755, so other servers may serve
/// the same store, except what is private to a device or the operator: `assignment.json` and
/// everything under `secrets/` (0600 files, 0700 folders).
public struct Store: Sendable {
    /// The store's folder, without a trailing slash.
    public let root: String
    /// The operator's keys: `STORE.keys` beside the store unless ``open(_:create:keys:)`` is given another.
    public private(set) var keys: KeysDirectory

    /// The top-level folders that mark a folder as a store.
    public static let markers = ["boot", "images", "devices", "blobs"]

    /// A store at `root`, not checked: see ``open(_:create:)``.
    public init(unchecked root: String) {
        var path = root
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        self.root = path
        keys = KeysDirectory(path: path + ".keys")
    }

    /// Opens the store at `path`. A missing folder is a new store when `create` (made on the first
    /// write), an error otherwise. An existing folder must be empty or hold at least one of
    /// `boot/`, `images/`, `devices/`, `blobs/`: anything else is someone's folder, not a store.
    public static func open(_ path: String, create: Bool, keys: String? = nil) throws -> Store {
        var store = Store(unchecked: path)
        store.keys = try KeysDirectory.resolve(keys: keys, store: store.root)
        var info = stat()
        guard stat(store.root, &info) == 0 else {
            if create { return store }
            throw StoreError("no store at \(store.root): build a profile into it first (imprint build RECIPE --store \(store.root)), or pass --store DIR")
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else {
            throw StoreError("\(store.root) is a file, not a store folder: pass --store with a store folder")
        }
        let names = FileIO.list(store.root)
        if !names.isEmpty && !names.contains(where: { markers.contains($0) }) {
            throw StoreError("\(store.root) is not an imprint store (it holds files but no boot/, images/, devices/ or blobs/): pass --store with a store folder, or a new or empty one")
        }
        return store
    }

    public var exists: Bool { FileIO.isDirectory(root) }

    // MARK: Layout (DESIGN section 4)

    public func profileDirectory(_ profile: String) -> String { "\(root)/boot/\(profile)" }
    public func buildReport(_ profile: String) -> String { "\(root)/boot/\(profile)/build.json" }
    public var imagesDirectory: String { "\(root)/images" }
    public func imageDescriptor(_ name: String) -> String { "\(root)/images/\(name).json" }
    public var blobsDirectory: String { "\(root)/blobs/sha256" }
    public func blob(_ hex: String) -> String { "\(root)/blobs/sha256/\(hex)" }
    public var devicesDirectory: String { "\(root)/devices" }
    public func deviceDirectory(_ mac: MACAddress) -> String { "\(root)/devices/\(mac.hyphenated)" }
    public func assignment(_ mac: MACAddress) -> String { "\(deviceDirectory(mac))/assignment.json" }
    public func identity(_ mac: MACAddress) -> String { "\(deviceDirectory(mac))/identity.cpio" }
    public func bootScript(_ mac: MACAddress) -> String { "\(deviceDirectory(mac))/boot.ipxe" }
    public var discoveryScript: String { "\(root)/devices/default.ipxe" }
    public var reportsDirectory: String { "\(root)/reports" }
    public func statusReport(_ mac: MACAddress) -> String { "\(root)/reports/\(mac.hyphenated)/status.json" }
    public func inventory(_ mac: MACAddress) -> String { "\(root)/reports/\(mac.hyphenated)/inventory.json" }
    public var secretsDirectory: String { "\(root)/secrets" }
    /// The manifest key's public half (raw Ed25519, base64), for anyone to fetch (DESIGN section 8).
    public var manifestPublicKey: String { "\(root)/keys/manifest.pub" }
    /// SHA-256 (hex, of the token's text) of a device's token.
    public func tokenHash(_ mac: MACAddress) -> String { "\(root)/secrets/devices/\(mac.hyphenated).sha256" }

    /// Makes the store folder and `relative` folders under it (0755; `secrets` ones 0700).
    func makeFolders(_ relative: [String]) throws {
        try FileIO.makeDirectory(root, mode: 0o755)
        for folder in relative {
            try FileIO.makeDirectory("\(root)/\(folder)", mode: folder.hasPrefix("secrets") ? 0o700 : 0o755)
        }
    }
}
