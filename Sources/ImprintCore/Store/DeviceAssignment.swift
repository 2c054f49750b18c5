/// `devices/<mac>/assignment.json`: what a device gets (DESIGN section 5).
///
/// Beyond DESIGN's list it records `profile`, the boot profile `device add` chose, so the
/// store can list devices without reading their iPXE scripts, and an agent can tell it booted
/// another profile than assigned (docs/store.md).
public struct DeviceAssignment: Equatable, Sendable {
    public static let schemaVersion = 1

    public enum Mode: String, Sendable { case deploy, capture }
    public enum After: String, Sendable { case reboot, poweroff, kexec }

    /// Which disk the image goes to.
    public enum Disk: Equatable, Sendable {
        /// A device path, such as `/dev/vda`.
        case path(String)
        /// The largest disk that is not removable.
        case largestNonRemovable

        var json: JSONValue {
            switch self {
            case .path(let path): return ["path": .string(path)]
            case .largestNonRemovable: return ["rule": "largest-non-removable"]
            }
        }
    }

    /// A file written into the deployed system.
    public struct File: Equatable, Sendable {
        /// Absolute path in the deployed system.
        public var path: String
        /// Permission bits, written as 4 octal digits.
        public var mode: UInt32
        public var content: [UInt8]
        public init(path: String, mode: UInt32, content: [UInt8]) {
            self.path = path
            self.mode = mode
            self.content = content
        }
    }

    public var mac: MACAddress
    public var profile: String
    public var dmiUuid: String?
    public var serial: String?
    /// UTC, ISO 8601 (`2026-12-31T00:00:00Z`).
    public var expires: String?
    public var mode: Mode
    /// The store a capture uploads to.
    public var uploadTo: String?
    public var imageName: String
    /// The image's blob digest (`images/<name>.json` `blob`), binding the assignment to that exact image.
    public var imageSha256: String
    public var disk: Disk
    public var hostname: String?
    public var files: [File]
    /// A cloud-init NoCloud seed written into the deployed system, when given.
    public var cloudInit: CloudInit?
    /// The GPT partition number customization writes into; nil: the partition named `root`,
    /// else the first Linux filesystem partition (docs/deploy.md).
    public var partition: Int?
    /// The partitions a `tar` image is deployed onto; nil: ``DiskLayout/standard``. Ignored for raw images.
    public var layout: DiskLayout?
    public var after: After

    /// NoCloud's two files: `meta-data` (generated from the MAC and hostname when nil) and `user-data`.
    public struct CloudInit: Equatable, Sendable {
        public var metaData: String?
        public var userData: String?
        public init(metaData: String? = nil, userData: String? = nil) {
            self.metaData = metaData
            self.userData = userData
        }
    }

    public init(mac: MACAddress, profile: String, mode: Mode = .deploy, imageName: String, imageSha256: String,
                disk: Disk = .largestNonRemovable, hostname: String? = nil, files: [File] = [], after: After = .reboot) {
        self.mac = mac
        self.profile = profile
        self.mode = mode
        self.imageName = imageName
        self.imageSha256 = imageSha256
        self.disk = disk
        self.hostname = hostname
        self.files = files
        self.after = after
    }

    /// Keys in DESIGN section 5's order; absent optionals left out; file contents base64.
    public var json: JSONValue {
        var object: JSONObject = ["version": .number(Double(Self.schemaVersion)), "mac": .string(mac.colon), "profile": .string(profile)]
        if let dmiUuid { object["dmiUuid"] = .string(dmiUuid) }
        if let serial { object["serial"] = .string(serial) }
        if let expires { object["expires"] = .string(expires) }
        object["mode"] = .string(mode.rawValue)
        if let uploadTo { object["uploadTo"] = .string(uploadTo) }
        object["image"] = ["name": .string(imageName), "sha256": .string(imageSha256)]
        object["disk"] = disk.json
        if let hostname { object["hostname"] = .string(hostname) }
        object["files"] = .array(files.map { file in
            ["path": .string(file.path), "mode": .string(octal4(file.mode)), "content": .string(Base64.encode(file.content))]
        })
        if let cloudInit {
            var seed = JSONObject()
            if let metaData = cloudInit.metaData { seed["metaData"] = .string(metaData) }
            if let userData = cloudInit.userData { seed["userData"] = .string(userData) }
            object["cloudInit"] = .object(seed)
        }
        if let partition { object["partition"] = .number(Double(partition)) }
        if let layout { object["layout"] = layout.json }
        object["after"] = .string(after.rawValue)
        return .object(object)
    }

    public var serialized: String { json.serialized(pretty: true) + "\n" }

    /// Reads the whole assignment, file contents decoded; a `disk` rule other than
    /// `largest-non-removable`, a file without an absolute path or with bad base64, is refused.
    public static func parse(_ text: String) throws(StoreManifestError) -> DeviceAssignment {
        let fields = try ManifestFields(text, kind: "assignment", version: schemaVersion)
        let mac: MACAddress
        do { mac = try MACAddress(parsing: try fields.string("mac")) } catch let error as MACAddressError {
            throw StoreManifestError("\"mac\": \(error)")
        } catch { throw StoreManifestError("\(error)") }
        guard let image = fields.object["image"]?.objectValue else { throw StoreManifestError("\"image\" missing or not an object") }
        let imageFields = ManifestFields(object: image)
        var disk = Disk.largestNonRemovable
        if let path = fields.object["disk"]?["path"]?.stringValue {
            disk = .path(path)
        } else if let rule = fields.object["disk"]?["rule"]?.stringValue, rule != "largest-non-removable" {
            throw StoreManifestError("\"disk.rule\" \"\(rule)\" not understood (this imprint knows \"largest-non-removable\")")
        }
        var assignment = DeviceAssignment(
            mac: mac, profile: try fields.string("profile"), mode: try fields.enumeration("mode", Mode.self),
            imageName: try imageFields.string("name"), imageSha256: try imageFields.string("sha256"), disk: disk,
            hostname: try fields.optionalString("hostname"), after: try fields.enumeration("after", After.self))
        assignment.expires = try fields.optionalString("expires")
        if let expires = assignment.expires, UTCTime.parse(expires) == nil {
            throw StoreManifestError("\"expires\" \(expires) is not a UTC time such as 2026-12-31T00:00:00Z")
        }
        assignment.dmiUuid = try fields.optionalString("dmiUuid")
        assignment.serial = try fields.optionalString("serial")
        assignment.uploadTo = try fields.optionalString("uploadTo")
        assignment.files = try parseFiles(fields.object["files"])
        if let seed = fields.object["cloudInit"], !seed.isNull {
            guard let object = seed.objectValue else { throw StoreManifestError("\"cloudInit\" is not an object") }
            let seedFields = ManifestFields(object: object)
            assignment.cloudInit = CloudInit(metaData: try seedFields.optionalString("metaData"),
                                             userData: try seedFields.optionalString("userData"))
        }
        if let partition = try fields.optionalInt("partition") {
            guard partition >= 1 && partition <= 128 else { throw StoreManifestError("\"partition\" \(partition) is not a GPT partition number (1-128)") }
            assignment.partition = partition
        }
        if let layout = fields.object["layout"], !layout.isNull {
            assignment.layout = try DiskLayout.parse(layout)
        }
        return assignment
    }

    private static func parseFiles(_ value: JSONValue?) throws(StoreManifestError) -> [File] {
        guard let value, !value.isNull else { return [] }
        guard let list = value.arrayValue else { throw StoreManifestError("\"files\" is not a list") }
        var files: [File] = []
        for (index, item) in list.enumerated() {
            guard let object = item.objectValue else { throw StoreManifestError("\"files[\(index)]\" is not an object") }
            let fields = ManifestFields(object: object)
            let path = try fields.string("path")
            guard path.hasPrefix("/"), !path.split(separator: "/").contains("..") else {
                throw StoreManifestError("\"files[\(index)].path\" \(path) must be absolute, without ..")
            }
            let modeText = try fields.optionalString("mode") ?? "0644"
            guard let mode = UInt32(modeText, radix: 8), mode <= 0o7777 else {
                throw StoreManifestError("\"files[\(index)].mode\" \(modeText) is not an octal mode")
            }
            guard let content = Base64.decode(try fields.optionalString("content") ?? "") else {
                throw StoreManifestError("\"files[\(index)].content\" is not base64")
            }
            files.append(File(path: path, mode: mode, content: content))
        }
        return files
    }
}

/// `0644` for 0o644.
func octal4(_ mode: UInt32) -> String {
    let text = String(mode & 0o7777, radix: 8)
    return String(repeating: "0", count: max(0, 4 - text.count)) + text
}

/// RFC 4648 base64 with padding.
public enum Base64 {
    public static func encode(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index < bytes.count {
            let b0 = UInt32(bytes[index])
            let b1 = index + 1 < bytes.count ? UInt32(bytes[index + 1]) : 0
            let b2 = index + 2 < bytes.count ? UInt32(bytes[index + 2]) : 0
            let triple = b0 << 16 | b1 << 8 | b2
            out.append(alphabet[Int(triple >> 18 & 63)])
            out.append(alphabet[Int(triple >> 12 & 63)])
            out.append(index + 1 < bytes.count ? alphabet[Int(triple >> 6 & 63)] : UInt8(ascii: "="))
            out.append(index + 2 < bytes.count ? alphabet[Int(triple & 63)] : UInt8(ascii: "="))
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes of padded or unpadded base64 (whitespace ignored); nil for anything else.
    public static func decode(_ text: String) -> [UInt8]? {
        var values: [UInt8] = []
        values.reserveCapacity(text.utf8.count)
        var padding = 0
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): guard padding == 0 else { return nil }; values.append(byte - 65)
            case UInt8(ascii: "a")...UInt8(ascii: "z"): guard padding == 0 else { return nil }; values.append(byte - 97 + 26)
            case UInt8(ascii: "0")...UInt8(ascii: "9"): guard padding == 0 else { return nil }; values.append(byte - 48 + 52)
            case UInt8(ascii: "+"): guard padding == 0 else { return nil }; values.append(62)
            case UInt8(ascii: "/"): guard padding == 0 else { return nil }; values.append(63)
            case UInt8(ascii: "="): padding += 1
            case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"): continue
            default: return nil
            }
        }
        guard padding <= 2, values.count % 4 != 1, padding == 0 || (values.count + padding) % 4 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(values.count * 3 / 4)
        var index = 0
        while index < values.count {
            let chunk = values[index..<min(index + 4, values.count)]
            var word: UInt32 = 0
            for value in chunk { word = word << 6 | UInt32(value) }
            word <<= UInt32(6 * (4 - chunk.count))
            let bytes = [UInt8(truncatingIfNeeded: word >> 16), UInt8(truncatingIfNeeded: word >> 8), UInt8(truncatingIfNeeded: word)]
            out.append(contentsOf: bytes.prefix(chunk.count - 1))
            index += 4
        }
        return out
    }
}
