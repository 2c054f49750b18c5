import Foundation
import ImprintCore
import ImprintDigest

/// Signed manifests (DESIGN section 8, docs/security.md): every `assignment.json` and
/// `images/NAME.json` has a detached `NAME.json.sig` beside it, the raw Ed25519 signature of the
/// file's exact bytes in base64, made with `manifest.key` from the keys folder. The public key is
/// published as `keys/manifest.pub` in the store, and goes into every identity and base initrd.
extension Store {
    /// The manifest key, made on first use; `keys/manifest.pub` is (re)written when it differs.
    public func manifestKey() throws -> ManifestKey {
        let key = try keys.manifestKey()
        let published = Array((key.publicKeyBase64 + "\n").utf8)
        if FileIO.read(manifestPublicKey) != published {
            try makeFolders(["keys"])
            try FileIO.writeAtomically(published, to: manifestPublicKey, mode: 0o644)
        }
        return key
    }

    /// Writes `manifest` to `path` and its signature to `path.sig`, each atomically. A reader
    /// between the two renames sees a signature that does not match and tries again later.
    public func writeSignedManifest(_ manifest: [UInt8], to path: String, mode: mode_t) throws {
        let signature = try manifestKey().signatureFile(for: manifest)
        try FileIO.writeAtomically(manifest, to: path, mode: mode)
        try FileIO.writeAtomically(signature, to: path + ".sig", mode: 0o644)
    }

    /// Rewrites a device's `assignment.json` (0600) and its signature (`device capture`, rearm).
    public func writeAssignment(_ assignment: DeviceAssignment) throws {
        try writeSignedManifest(Array(assignment.serialized.utf8), to: self.assignment(assignment.mac), mode: 0o600)
    }
}

extension Store {
    /// Every signed manifest in the store: each device's `assignment.json` and each `images/NAME.json`.
    public func signedManifests() -> [String] {
        let assignments = FileIO.list(devicesDirectory).filter { !$0.hasPrefix(".") }
            .map { "\(devicesDirectory)/\($0)/assignment.json" }.filter(FileIO.exists)
        return assignments + imageNames().map(imageDescriptor)
    }

    /// Signs `path` (a manifest of this store) anew with the current key: after a hand edit.
    public func signManifest(at path: String) throws {
        guard let bytes = FileIO.read(path) else { throw StoreError("cannot read \(path)") }
        try FileIO.writeAtomically(try manifestKey().signatureFile(for: bytes), to: path + ".sig", mode: 0o644)
    }

    /// What `imprint key rotate` changed.
    public struct Rotation {
        public var publicKey: String
        public var signed: Int
        public var identities: Int
    }

    /// A new manifest key (the old one kept as `manifest.key.previous`): every manifest signed
    /// anew, every identity's `manifestKey` replaced (its token kept), `keys/manifest.pub`
    /// rewritten. Base initrds and media embed the key too: the caller rebuilds them.
    public func rotateManifestKey() throws -> Rotation {
        try keys.check(create: true)
        if let old = try keys.read(KeysDirectory.manifestKeyName) {
            try keys.write(KeysDirectory.manifestKeyName + ".previous", old)
        }
        guard let seed = Ed25519.generateSeed(), let key = ManifestKey(seed: seed) else { throw StoreError("OpenSSL could not make an Ed25519 key") }
        try keys.write(KeysDirectory.manifestKeyName, Array((Base64.encode(seed) + "\n").utf8))
        let manifests = signedManifests()
        for path in manifests { try signManifest(at: path) }
        let identities = try updateIdentities { $0.manifestKey = key.publicKeyBase64 }
        return Rotation(publicKey: key.publicKeyBase64, signed: manifests.count, identities: identities)
    }

    /// Rewrites every device's identity with `change` (its token and the rest kept); returns how many.
    public func updateIdentities(_ change: (inout DeviceIdentity) -> Void) throws -> Int {
        var identities = 0
        for name in FileIO.list(devicesDirectory) where !name.hasPrefix(".") {
            let path = "\(devicesDirectory)/\(name)/identity.cpio"
            guard let bytes = FileIO.read(path) else { continue }
            do {
                let entries = try Cpio.read(bytes)
                guard let entry = entries.first(where: { $0.name == DeviceIdentity.pathInInitrd }) else { continue }
                var identity = try DeviceIdentity.parse(String(decoding: entry.data, as: UTF8.self))
                change(&identity)
                try FileIO.writeAtomically(identity.cpio, to: path, mode: 0o644)
                identities += 1
            } catch {
                throw StoreError("\(path): \(error): re-add the device (imprint device add --force)")
            }
        }
        return identities
    }
}
