import ImprintCore

/// Which store files a site needs for some devices and images (`imprint replicate`, docs/scale.md).
/// Pure: the replicator fetches each file the plan names and feeds back what it read.
public enum ReplicatePlan {
    /// A store path to copy, and whether its absence upstream is an error.
    public struct File: Equatable, Hashable, Sendable {
        public var path: String
        public var required: Bool
        public init(_ path: String, required: Bool = true) {
            self.path = path
            self.required = required
        }
    }

    /// Copied whenever they exist: the manifest key, discovery's script, the chain-loaders.
    public static let common: [File] = [
        File("keys/manifest.pub", required: false),
        File("devices/default.ipxe", required: false),
        File("boot/ipxe/undionly.kpxe", required: false),
        File("boot/ipxe/ipxe.efi", required: false),
    ]

    /// A device's files; its assignment then names the image and profile (`follow(assignment:)`).
    public static func deviceFiles(_ mac: MACAddress) -> [File] {
        let folder = "devices/\(mac.hyphenated)"
        return [File("\(folder)/assignment.json"), File("\(folder)/assignment.json.sig", required: false),
                File("\(folder)/boot.ipxe"), File("\(folder)/identity.cpio")]
    }

    public static func profileFiles(_ profile: String) -> [File] {
        ["vmlinuz", "initrd.img", "build.json"].map { File("boot/\(profile)/\($0)") }
    }

    public static func imageFiles(_ name: String) -> [File] {
        [File("images/\(name).json"), File("images/\(name).json.sig", required: false)]
    }

    public static func blobPath(_ hex: String) -> String { "blobs/sha256/\(hex)" }

    /// The image and profile an assignment's text names.
    public static func follow(assignment text: String) throws(ReplicatePlanError) -> (image: String, profile: String) {
        let assignment: DeviceAssignment
        do { assignment = try DeviceAssignment.parse(text) } catch { throw ReplicatePlanError("the assignment does not parse: \(error)") }
        guard isSafeName(assignment.imageName) else { throw ReplicatePlanError("the assignment names image '\(assignment.imageName)', not a store name") }
        guard isSafeName(assignment.profile) else { throw ReplicatePlanError("the assignment names profile '\(assignment.profile)', not a store name") }
        return (assignment.imageName, assignment.profile)
    }

    /// The blob an image descriptor's text names, and its size.
    public static func follow(descriptor text: String) throws(ReplicatePlanError) -> (blob: String, size: Int) {
        let descriptor: ImageDescriptor
        do { descriptor = try ImageDescriptor.parse(text) } catch { throw ReplicatePlanError("the image descriptor does not parse: \(error)") }
        guard MirrorDecision.isBlobName(descriptor.blob) else { throw ReplicatePlanError("the descriptor's blob '\(descriptor.blob)' is not 64 lower-case hex digits") }
        return (descriptor.blob, descriptor.size)
    }

    /// One path segment: `A-Z a-z 0-9 . _ -`, not starting with `.` or `-`.
    public static func isSafeName(_ name: String) -> Bool {
        guard (1...128).contains(name.utf8.count), let first = name.utf8.first, first != UInt8(ascii: "."), first != UInt8(ascii: "-") else { return false }
        return name.utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
    }
}

public struct ReplicatePlanError: Error, CustomStringConvertible, Sendable {
    public var description: String
    init(_ description: String) { self.description = description }
}
