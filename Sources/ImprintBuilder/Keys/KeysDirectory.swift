import Foundation
import ImprintCore
import ImprintDigest

/// The operator's keys (DESIGN section 8, docs/security.md): `--keys DIR`, by default `STORE.keys`
/// beside the store. Never inside the store (which any file server may serve); the folder is 0700
/// and every file 0600, owned by whoever runs imprint. A folder or file with looser permissions, or
/// another owner, is refused with the reason: a key others can read is no longer a key.
///
/// Files: `manifest.key` (the Ed25519 manifest signing seed, base64), made on first use by any
/// command that writes a manifest; `media.key` (media tokens' HMAC key); `ca.key`, `ca.pem`,
/// `server.key`, `server.pem` (`imprint ca init`).
public struct KeysDirectory: Sendable {
    public let path: String

    public init(path: String) {
        var p = path
        while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
        self.path = p
    }

    /// `keys`, else `<store>.keys`; refused when it lies inside the store.
    public static func resolve(keys: String?, store: String) throws -> KeysDirectory {
        var storePath = store
        while storePath.count > 1 && storePath.hasSuffix("/") { storePath.removeLast() }
        let directory = KeysDirectory(path: keys ?? storePath + ".keys")
        let keysReal = canonical(directory.path)
        let storeReal = canonical(storePath)
        if keysReal == storeReal || keysReal.hasPrefix(storeReal == "/" ? "/" : storeReal + "/") {
            throw StoreError("the keys folder \(directory.path) is inside the store \(storePath), which is served to anyone: give --keys a folder outside it (default: \(storePath).keys)")
        }
        return directory
    }

    /// An absolute path with `.`/`..` and the symlinks of its existing part resolved.
    static func canonical(_ path: String) -> String {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        var existing = URL(fileURLWithPath: absolute).standardizedFileURL.path
        var rest: [String] = []
        while !FileManager.default.fileExists(atPath: existing) && existing != "/" {
            rest.insert((existing as NSString).lastPathComponent, at: 0)
            existing = (existing as NSString).deletingLastPathComponent
        }
        var resolved = URL(fileURLWithPath: existing).resolvingSymlinksInPath().path
        for part in rest { resolved = (resolved as NSString).appendingPathComponent(part) }
        return resolved
    }

    public var exists: Bool { FileIO.isDirectory(path) }

    /// Checks the folder (0700 or tighter, ours); makes it when `create` and it is missing.
    public func check(create: Bool) throws {
        var info = stat()
        if lstat(path, &info) != 0 {
            guard errno == ENOENT, create else {
                throw StoreError("the keys folder \(path) \(errno == ENOENT ? "does not exist" : "cannot be read: \(FileIO.errnoText())"): give --keys DIR")
            }
            try FileIO.makeDirectory(path, mode: 0o700)
            guard chmod(path, 0o700) == 0 else { throw StoreError("cannot chmod 700 \(path): \(FileIO.errnoText())") }
            return
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else { throw StoreError("the keys folder \(path) is not a folder") }
        guard info.st_uid == geteuid() else {
            throw StoreError("the keys folder \(path) belongs to uid \(info.st_uid), not to you (uid \(geteuid())): run imprint as its owner")
        }
        guard info.st_mode & 0o077 == 0 else {
            throw StoreError("the keys folder \(path) has loose permissions (\(String(info.st_mode & 0o777, radix: 8))): others may read the keys; chmod 700 \(path) (and check who read them)")
        }
    }

    /// A key file's bytes; nil when it does not exist. Refused when others may read it.
    public func read(_ name: String) throws -> [UInt8]? {
        try check(create: false)
        let file = "\(path)/\(name)"
        var info = stat()
        guard lstat(file, &info) == 0 else {
            if errno == ENOENT { return nil }
            throw StoreError("cannot read \(file): \(FileIO.errnoText())")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw StoreError("\(file) is not a regular file") }
        guard info.st_uid == geteuid() else { throw StoreError("\(file) belongs to uid \(info.st_uid), not to you (uid \(geteuid()))") }
        guard info.st_mode & 0o077 == 0 else {
            throw StoreError("\(file) has loose permissions (\(String(info.st_mode & 0o777, radix: 8))): chmod 600 \(file), and replace the key if others read it")
        }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw StoreError("cannot read \(file): \(FileIO.errnoText()) (unreadable: check its owner and mode)")
        }
        return Array(data)
    }

    /// Writes a key file (0600), atomically; makes the folder when missing.
    public func write(_ name: String, _ bytes: [UInt8]) throws {
        try check(create: true)
        try FileIO.writeAtomically(bytes, to: "\(path)/\(name)", mode: 0o600)
    }

    public static let manifestKeyName = "manifest.key"
    public static let mediaKeyName = "media.key"

    /// The manifest signing key, made (and the folder with it) on first use.
    public func manifestKey(create: Bool = true) throws -> ManifestKey {
        if let bytes = try (exists ? read(Self.manifestKeyName) : nil) {
            guard let seed = Base64.decode(String(decoding: bytes, as: UTF8.self)), seed.count == Ed25519.keyBytes,
                  let key = ManifestKey(seed: seed) else {
                throw StoreError("\(path)/\(Self.manifestKeyName) is not a base64 Ed25519 key (32 bytes): restore it from a backup, or remove it and run imprint key rotate")
            }
            return key
        }
        guard create else { throw StoreError("no manifest key in \(path): any command that writes a manifest makes one (imprint device add, imprint image add)") }
        guard let seed = Ed25519.generateSeed(), let key = ManifestKey(seed: seed) else { throw StoreError("OpenSSL could not make an Ed25519 key") }
        try write(Self.manifestKeyName, Array((Base64.encode(seed) + "\n").utf8))
        return key
    }

    /// The media-token HMAC key (32 random bytes), made on first use.
    public func mediaKey() throws -> [UInt8] {
        if let bytes = try (exists ? read(Self.mediaKeyName) : nil) {
            guard let key = Base64.decode(String(decoding: bytes, as: UTF8.self)), key.count == 32 else {
                throw StoreError("\(path)/\(Self.mediaKeyName) is not a base64 32-byte key: restore it from a backup")
            }
            return key
        }
        guard let key = Ed25519.generateSeed() else { throw StoreError("OpenSSL could not make a random key") }
        try write(Self.mediaKeyName, Array((Base64.encode(key) + "\n").utf8))
        return key
    }
}

/// The Ed25519 key that signs `assignment.json` and `images/NAME.json` (detached `.sig`, base64).
public struct ManifestKey: Sendable {
    let seed: [UInt8]
    /// The raw public key.
    public let publicKey: [UInt8]

    public init?(seed: [UInt8]) {
        guard let publicKey = Ed25519.publicKey(seed: seed) else { return nil }
        self.seed = seed
        self.publicKey = publicKey
    }

    /// The public key as the store (`keys/manifest.pub`), identities and initrds carry it.
    public var publicKeyBase64: String { Base64.encode(publicKey) }

    /// The `.sig` file's bytes for `manifest`: the raw signature, base64, and a newline.
    public func signatureFile(for manifest: [UInt8]) throws -> [UInt8] {
        guard let signature = Ed25519.sign(manifest, seed: seed) else { throw StoreError("OpenSSL could not sign a manifest") }
        return Array((Base64.encode(signature) + "\n").utf8)
    }
}
