/// A store manifest that cannot be read, and why.
public struct StoreManifestError: Error, Equatable, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Reads the members of a manifest object, each failure naming the member.
struct ManifestFields {
    let object: JSONObject

    /// Parses `text` as an object whose `version` is `version`.
    init(_ text: String, kind: String, version: Int) throws(StoreManifestError) {
        let value: JSONValue
        do {
            value = try JSONValue.parse(text)
        } catch {
            throw StoreManifestError("\(kind): not valid JSON (\(error))")
        }
        guard let object = value.objectValue else { throw StoreManifestError("\(kind): not a JSON object") }
        guard let found = object["version"]?.intValue else { throw StoreManifestError("\(kind): no schema \"version\"") }
        guard found == version else {
            throw StoreManifestError("\(kind): schema version \(found) not understood (this imprint reads version \(version))")
        }
        self.object = object
    }

    init(object: JSONObject) { self.object = object }

    func string(_ key: String) throws(StoreManifestError) -> String {
        guard let value = object[key]?.stringValue else { throw StoreManifestError("\"\(key)\" missing or not a string") }
        return value
    }

    func optionalString(_ key: String) throws(StoreManifestError) -> String? {
        guard let value = object[key], !value.isNull else { return nil }
        guard let text = value.stringValue else { throw StoreManifestError("\"\(key)\" is not a string") }
        return text
    }

    func int(_ key: String) throws(StoreManifestError) -> Int {
        guard let value = object[key]?.intValue else { throw StoreManifestError("\"\(key)\" missing or not an integer") }
        return value
    }

    func optionalInt(_ key: String) throws(StoreManifestError) -> Int? {
        guard let value = object[key], !value.isNull else { return nil }
        guard let number = value.intValue else { throw StoreManifestError("\"\(key)\" is not an integer") }
        return number
    }

    func optionalDouble(_ key: String) throws(StoreManifestError) -> Double? {
        guard let value = object[key], !value.isNull else { return nil }
        guard let number = value.doubleValue else { throw StoreManifestError("\"\(key)\" is not a number") }
        return number
    }

    func enumeration<T: RawRepresentable>(_ key: String, _: T.Type) throws(StoreManifestError) -> T where T.RawValue == String {
        let text = try string(key)
        guard let value = T(rawValue: text) else { throw StoreManifestError("\"\(key)\" has unknown value \"\(text)\"") }
        return value
    }
}

/// Lower-case hex of `bytes`.
func lowerHex<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    for byte in bytes {
        out.append(digits[Int(byte >> 4)])
        out.append(digits[Int(byte & 0xF)])
    }
    return String(decoding: out, as: UTF8.self)
}

/// Whether `text` is 64 lower-case hex digits, as a SHA-256 is written in the store.
public func isSHA256Hex(_ text: String) -> Bool {
    text.utf8.count == 64 && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
}
