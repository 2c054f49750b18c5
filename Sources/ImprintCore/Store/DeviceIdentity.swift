/// `etc/imprint/identity.json` in a device's `identity.cpio` (DESIGN section 5): who the
/// machine is and where its store is.
public struct DeviceIdentity: Equatable, Sendable {
    public static let schemaVersion = 1
    /// The identity's path inside `identity.cpio`, relative as initrds are.
    public static let pathInInitrd = "etc/imprint/identity.json"

    public var mac: MACAddress
    public var hostname: String?
    /// Store base URLs, tried in order.
    public var servers: [String]
    /// The device's token (64 hex digits): the store keeps only its SHA-256.
    public var token: String?
    /// The public manifest key (raw Ed25519, base64) the agent checks signed manifests with.
    public var manifestKey: String?
    /// The CA certificate (PEM) every `https://` server must chain to (`imprint ca init`).
    public var ca: String?

    public init(mac: MACAddress, hostname: String? = nil, servers: [String], token: String? = nil, manifestKey: String? = nil, ca: String? = nil) {
        self.mac = mac
        self.hostname = hostname
        self.servers = servers
        self.token = token
        self.manifestKey = manifestKey
        self.ca = ca
    }

    /// Keys in DESIGN section 5's order; absent optionals are left out. `mac` is colon-separated.
    public var json: JSONValue {
        var object: JSONObject = ["version": .number(Double(Self.schemaVersion)), "mac": .string(mac.colon)]
        if let hostname { object["hostname"] = .string(hostname) }
        object["servers"] = .array(servers.map { .string($0) })
        if let token { object["token"] = .string(token) }
        if let manifestKey { object["manifestKey"] = .string(manifestKey) }
        if let ca { object["ca"] = .string(ca) }
        return .object(object)
    }

    public var serialized: String { json.serialized(pretty: true) + "\n" }

    /// The per-device initrd: `etc`, `etc/imprint` (0755, as the base initrd has them) and the
    /// identity (0600: it holds the token), uncompressed newc padded to 4 bytes so it can follow
    /// the base initrd. The same identity always gives the same bytes.
    public var cpio: [UInt8] {
        Cpio.write([
            .directory("etc"),
            .directory("etc/imprint"),
            .file(Self.pathInInitrd, mode: 0o600, data: Array(serialized.utf8)),
        ], padTo: 4)
    }

    public static func parse(_ text: String) throws(StoreManifestError) -> DeviceIdentity {
        let fields = try ManifestFields(text, kind: "identity", version: schemaVersion)
        let macText = try fields.string("mac")
        let mac: MACAddress
        do { mac = try MACAddress(parsing: macText) } catch { throw StoreManifestError("\"mac\": \(error)") }
        var servers: [String] = []
        for item in fields.object["servers"]?.arrayValue ?? [] {
            guard let url = item.stringValue else { throw StoreManifestError("\"servers\" holds something not a URL") }
            servers.append(url)
        }
        return DeviceIdentity(mac: mac, hostname: try fields.optionalString("hostname"), servers: servers,
                              token: try fields.optionalString("token"), manifestKey: try fields.optionalString("manifestKey"),
                              ca: try fields.optionalString("ca"))
    }
}
