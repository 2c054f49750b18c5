import ImprintCore
import ImprintDigest

/// Signed manifests (DESIGN section 8, docs/security.md): `assignment.json` and `images/NAME.json`
/// each come with a detached `NAME.json.sig`, the raw Ed25519 signature of the file's exact bytes
/// in base64. The agent checks it with the manifest key it trusts (its base initrd's; in host mode
/// `--manifest-key FILE`, else the identity's), then the assignment's binding and expiry.
public enum ManifestTrust {
    /// Where the base initrd carries the key (`imprint build` puts it there).
    public static let initrdKeyPath = "/etc/imprint/manifest.pub"

    /// The raw key of a `manifest.pub` (base64 of 32 bytes, whitespace around it ignored); nil otherwise.
    public static func decodeKey(_ text: String) -> [UInt8]? {
        guard let key = Base64.decode(trimmed(text)), key.count == Ed25519.keyBytes else { return nil }
        return key
    }

    /// Why `manifest` (fetched as `name`) is not to be trusted, or nil when `signatureFile` (the
    /// `.sig`'s bytes) is `key`'s signature of exactly these bytes.
    public static func problem(_ manifest: [UInt8], signatureFile: [UInt8], key: [UInt8], name: String) -> String? {
        guard let signature = Base64.decode(trimmed(String(decoding: signatureFile, as: UTF8.self))),
              signature.count == Ed25519.signatureBytes else {
            return "\(name).sig is not a base64 Ed25519 signature (64 bytes)"
        }
        guard Ed25519.verify(signature, of: manifest, publicKey: key) else {
            return "\(name) does not match its signature \(name).sig: it was changed after imprint signed it (a tampered store, mirror or cache), or signed with another key"
        }
        return nil
    }

    /// Why `assignment` is not for this machine now, or nil: its `mac`, `dmiUuid` and `serial`
    /// where given (compared without regard to case), and `expires` against the later of `now` (the
    /// machine's clock, seconds since 1970) and `serverDate` (a pinned HTTPS server's `Date`): a
    /// clock left years behind cannot revive an expired assignment when the server says otherwise.
    public static func bindingProblem(_ assignment: DeviceAssignment, mac: MACAddress, dmi: DMIInfo, now clock: Int, serverDate: Int? = nil) -> String? {
        guard assignment.mac == mac else {
            return "the assignment is bound to \(assignment.mac.colon), and this machine is \(mac.colon)"
        }
        if let uuid = assignment.dmiUuid {
            guard let ours = dmi.productUUID else { return "the assignment is bound to DMI UUID \(uuid), and this machine's cannot be read" }
            guard ours.lowercased() == uuid.lowercased() else { return "the assignment is bound to DMI UUID \(uuid), and this machine's is \(ours)" }
        }
        if let serial = assignment.serial {
            guard let ours = dmi.productSerial else { return "the assignment is bound to serial \(serial), and this machine's cannot be read" }
            guard ours.lowercased() == serial.lowercased() else { return "the assignment is bound to serial \(serial), and this machine's is \(ours)" }
        }
        if let expires = assignment.expires {
            guard let end = UTCTime.parse(expires) else { return "the assignment's expires \(expires) is not a UTC time" }
            let now = max(clock, serverDate ?? clock)
            if Double(now) >= end {
                let source = now > clock
                    ? "the pinned HTTPS server's Date says \(UTCTime.format(epochSeconds: now)); this machine's clock says \(UTCTime.format(epochSeconds: clock))"
                    : "this machine's clock says \(UTCTime.format(epochSeconds: now))"
                return "the assignment expired at \(expires) (\(source))"
            }
        }
        return nil
    }
}

