import ImprintCore

/// Where and what a capture uploads (docs/capture.md), decided from the assignment alone.
public struct CapturePlan: Equatable, Sendable {
    /// `<store>/uploads/<mac>/<name>`: the zstd stream of the whole disk.
    public var blobURL: String
    /// `<store>/uploads/<mac>/<name>/descriptor`: what the agent knows of the disk.
    public var descriptorURL: String
    public var name: String

    /// The plan for `assignment`, fetched from `bootServer`: uploads go to `uploadTo` when the
    /// assignment names it, else back to `bootServer`. Refused when the assignment is not a capture.
    public init(assignment: DeviceAssignment, bootServer: String) throws(CaptureFailure) {
        guard assignment.mode == .capture else {
            throw CaptureFailure("the assignment's mode is \(assignment.mode.rawValue), not capture", hint: "imprint device capture MAC --name NAME", retryable: false)
        }
        guard ImageDescriptor.problem(withName: assignment.imageName) == nil else {
            throw CaptureFailure("the capture's name \(assignment.imageName) is not a valid image name", hint: "imprint device capture MAC --name NAME", retryable: false)
        }
        var store = assignment.uploadTo ?? bootServer
        while store.hasSuffix("/") { store.removeLast() }
        name = assignment.imageName
        blobURL = "\(store)/uploads/\(assignment.mac.hyphenated)/\(assignment.imageName)"
        descriptorURL = blobURL + "/descriptor"
    }

    /// The descriptor's fields the agent knows: the disk's SHA-256 and size, and its block map.
    public static func descriptor(name: String, uncompressedSha256: String, map: BlockMap) -> String {
        let object: JSONValue = [
            "version": 1, "name": .string(name), "format": "raw", "compression": "zstd",
            "uncompressedSha256": .string(uncompressedSha256), "uncompressedSize": .number(Double(map.size)),
            "blockMap": ["blockSize": .number(Double(map.blockSize)),
                         "ranges": .array(map.ranges.map { .array([.number(Double($0.offset)), .number(Double($0.length))]) })],
        ]
        return object.serialized(pretty: false) + "\n"
    }

    /// Whether an upload answered with `status` is worth trying again: the server's own trouble
    /// (5xx, and 507 once the operator frees space) or no answer; never a refusal (4xx).
    public static func retryable(status: Int) -> Bool { status == 0 || status >= 500 }
}

/// Why a capture failed, with what to do.
public struct CaptureFailure: Error, Equatable, Sendable, CustomStringConvertible {
    public var reason: String
    public var hint: String?
    public var retryable: Bool

    public init(_ reason: String, hint: String? = nil, retryable: Bool) {
        self.reason = reason
        self.hint = hint
        self.retryable = retryable
    }

    public var description: String { reason + (hint.map { " (\($0))" } ?? "") }
}
