import ImprintCore

/// Why a manifest was refused; the text names the file's problem.
public struct ManifestError: Error, Equatable, Sendable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}

/// `/etc/imprint/profile.json`, written by `imprint build` into the base initrd.
public struct Profile: Equatable, Sendable {
    public static let schemaVersion = 1

    public var profile: String
    /// The kernel release the initrd's modules are for.
    public var kernel: String?
    /// The default store URL.
    public var server: String?
    /// The imprint version that built it.
    public var built: String?

    public init(profile: String, kernel: String? = nil, server: String? = nil, built: String? = nil) {
        self.profile = profile
        self.kernel = kernel
        self.server = server
        self.built = built
    }

    public static func parse(_ text: String) throws(ManifestError) -> Profile {
        let json = try parseManifest(text, version: schemaVersion)
        guard let name = json["profile"]?.stringValue, !name.isEmpty else {
            throw ManifestError("no \"profile\" name")
        }
        return Profile(profile: name, kernel: json["kernel"]?.stringValue,
                       server: json["server"]?.stringValue, built: json["built"]?.stringValue)
    }
}

/// `/etc/imprint/identity.json`, from the per-device initrd appended to the base one.
public struct Identity: Equatable, Sendable {
    public static let schemaVersion = 1

    /// Lower-case, colon-separated: `52:54:00:12:34:56`.
    public var mac: String
    public var hostname: String?
    /// Store base URLs, tried in order.
    public var servers: [String]
    /// Never logged.
    public var token: String?
    /// The manifest public key (raw Ed25519, base64): host mode's, when no --manifest-key is given.
    public var manifestKey: String?
    /// The CA certificate (PEM) that `https://` servers must chain to.
    public var ca: String?

    public init(mac: String, hostname: String? = nil, servers: [String] = [], token: String? = nil, manifestKey: String? = nil, ca: String? = nil) {
        self.mac = mac
        self.hostname = hostname
        self.servers = servers
        self.token = token
        self.manifestKey = manifestKey
        self.ca = ca
    }

    public static func parse(_ text: String) throws(ManifestError) -> Identity {
        let json = try parseManifest(text, version: schemaVersion)
        guard let macText = json["mac"]?.stringValue else { throw ManifestError("no \"mac\"") }
        guard let mac = normalizedMAC(macText) else { throw ManifestError("\"mac\" \(macText) is not a MAC address") }
        var servers: [String] = []
        if let list = json["servers"] {
            guard let array = list.arrayValue else { throw ManifestError("\"servers\" is not a list") }
            for server in array {
                guard let url = server.stringValue else { throw ManifestError("\"servers\" holds something not a URL") }
                servers.append(url)
            }
        }
        return Identity(mac: mac, hostname: json["hostname"]?.stringValue, servers: servers,
                        token: json["token"]?.stringValue, manifestKey: json["manifestKey"]?.stringValue, ca: json["ca"]?.stringValue)
    }
}

/// A JSON object whose `version` this agent understands.
private func parseManifest(_ text: String, version: Int) throws(ManifestError) -> JSONValue {
    let json: JSONValue
    do {
        json = try JSONValue.parse(text)
    } catch {
        throw ManifestError("not valid JSON (\(error))")
    }
    guard json.objectValue != nil else { throw ManifestError("not a JSON object") }
    guard let found = json["version"]?.intValue else { throw ManifestError("no schema \"version\"") }
    guard found == version else {
        throw ManifestError("schema version \(found) not understood (this agent reads version \(version))")
    }
    return json
}

/// `52:54:00:12:34:56` from any case, with `:` or `-` separators; nil if not six hex octets.
public func normalizedMAC(_ text: String) -> String? {
    let octets = text.split(separator: ":", omittingEmptySubsequences: false).count == 6
        ? text.split(separator: ":", omittingEmptySubsequences: false)
        : text.split(separator: "-", omittingEmptySubsequences: false)
    guard octets.count == 6 else { return nil }
    for octet in octets {
        guard octet.count == 2, octet.allSatisfy({ $0.isASCII && $0.isHexDigit }) else { return nil }
    }
    return octets.map { $0.lowercased() }.joined(separator: ":")
}
