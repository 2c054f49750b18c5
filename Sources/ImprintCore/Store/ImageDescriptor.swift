/// `images/<name>.json`: what an image name stands for (DESIGN section 5).
public struct ImageDescriptor: Equatable, Sendable {
    public static let schemaVersion = 1

    public var name: String
    /// SHA-256 hex of the stored blob, its name under `blobs/sha256/`.
    public var blob: String
    /// SHA-256 hex of the image once decompressed: what ends up on the disk (raw) or is unpacked (tar).
    public var uncompressedSha256: String
    public var format: ImageFormat
    /// How the blob is compressed.
    public var compression: Compression
    /// The blob's size in bytes.
    public var size: Int
    public var uncompressedSize: Int
    /// Raw images only.
    public var blockMap: BlockMap?

    public init(name: String, blob: String, uncompressedSha256: String, format: ImageFormat, compression: Compression,
                size: Int, uncompressedSize: Int, blockMap: BlockMap? = nil) {
        self.name = name
        self.blob = blob
        self.uncompressedSha256 = uncompressedSha256
        self.format = format
        self.compression = compression
        self.size = size
        self.uncompressedSize = uncompressedSize
        self.blockMap = blockMap
    }

    /// Names are what `images/<name>.json` and the CLI use: 1 to 128 of `A-Z a-z 0-9 . _ -`,
    /// not starting with `.` or `-`. Returns why a name is refused, or nil.
    public static func problem(withName name: String) -> String? {
        guard !name.isEmpty, name.utf8.count <= 128 else { return "must be 1 to 128 characters" }
        guard name.utf8.allSatisfy({ isNameByte($0) }) else { return "may hold only letters, digits, '.', '_' and '-'" }
        guard let first = name.utf8.first, first != UInt8(ascii: "."), first != UInt8(ascii: "-") else {
            return "must not start with '.' or '-'"
        }
        return nil
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }

    /// Keys in the order DESIGN section 5 lists them; `blockMap` as
    /// `{"blockSize": N, "ranges": [[offset, length], ...]}`.
    public var json: JSONValue {
        var object: JSONObject = [
            "version": .number(Double(Self.schemaVersion)),
            "name": .string(name),
            "blob": .string(blob),
            "uncompressedSha256": .string(uncompressedSha256),
            "format": .string(format.rawValue),
            "compression": .string(compression.rawValue),
            "size": .number(Double(size)),
            "uncompressedSize": .number(Double(uncompressedSize)),
        ]
        if let blockMap {
            object["blockMap"] = [
                "blockSize": .number(Double(blockMap.blockSize)),
                "ranges": .array(blockMap.ranges.map { .array([.number(Double($0.offset)), .number(Double($0.length))]) }),
            ]
        }
        return .object(object)
    }

    /// The file's text: pretty, keys in a fixed order, each block-map range on one line as
    /// `[offset,length]` (a mostly full disk has thousands), one trailing newline.
    public var serialized: String {
        guard let blockMap, var object = json.objectValue else { return json.serialized(pretty: true) + "\n" }
        let marker = "\u{1}ranges"
        object["blockMap"] = ["blockSize": .number(Double(blockMap.blockSize)), "ranges": .string(marker)]
        let ranges = blockMap.ranges.isEmpty ? "[]"
            : "[\n" + blockMap.ranges.map { "      [\($0.offset),\($0.length)]" }.joined(separator: ",\n") + "\n    ]"
        var quoted = ""
        JSONValue.quote(marker, to: &quoted)
        return JSONValue.object(object).serialized(pretty: true).replacingFirst(quoted, with: ranges) + "\n"
    }

    public static func parse(_ text: String) throws(StoreManifestError) -> ImageDescriptor {
        let fields = try ManifestFields(text, kind: "image descriptor", version: schemaVersion)
        let blob = try fields.string("blob")
        let uncompressed = try fields.string("uncompressedSha256")
        guard isSHA256Hex(blob) else { throw StoreManifestError("\"blob\" is not a SHA-256 hex digest") }
        guard isSHA256Hex(uncompressed) else { throw StoreManifestError("\"uncompressedSha256\" is not a SHA-256 hex digest") }
        var descriptor = ImageDescriptor(
            name: try fields.string("name"), blob: blob, uncompressedSha256: uncompressed,
            format: try fields.enumeration("format", ImageFormat.self),
            compression: try fields.enumeration("compression", Compression.self),
            size: try fields.int("size"), uncompressedSize: try fields.int("uncompressedSize"))
        if let map = fields.object["blockMap"], !map.isNull {
            guard let object = map.objectValue else { throw StoreManifestError("\"blockMap\" is not an object") }
            let mapFields = ManifestFields(object: object)
            let blockSize = try mapFields.int("blockSize")
            guard let list = object["ranges"]?.arrayValue else { throw StoreManifestError("\"blockMap.ranges\" is not a list") }
            var ranges: [BlockMap.Range] = []
            for item in list {
                guard let pair = item.arrayValue, pair.count == 2, let offset = pair[0].intValue, let length = pair[1].intValue else {
                    throw StoreManifestError("\"blockMap.ranges\" holds something not an [offset, length] pair")
                }
                ranges.append(.init(offset: offset, length: length))
            }
            descriptor.blockMap = BlockMap(blockSize: blockSize, size: descriptor.uncompressedSize, ranges: ranges)
        }
        return descriptor
    }
}

extension String {
    /// `self` with the first occurrence of `target` replaced.
    fileprivate func replacingFirst(_ target: String, with replacement: String) -> String {
        let text = Array(utf8), pattern = Array(target.utf8)
        guard !pattern.isEmpty, text.count >= pattern.count else { return self }
        for start in 0...(text.count - pattern.count) where text[start..<(start + pattern.count)].elementsEqual(pattern) {
            return String(decoding: text[..<start], as: UTF8.self) + replacement
                + String(decoding: text[(start + pattern.count)...], as: UTF8.self)
        }
        return self
    }
}
