import CArchive

/// A libarchive failure, with libarchive's own message.
public struct ArchiveError: Error, CustomStringConvertible {
    public var operation: String
    public var message: String
    public var description: String { "\(operation): \(message)" }
}

/// The one choke point from a libarchive return code to a Swift error.
@discardableResult
func wrap(_ code: Int32, _ archive: OpaquePointer?, _ operation: @autoclosure () -> String) throws -> Int32 {
    if code >= ARCHIVE_WARN { return code }
    let message = archive.flatMap { archive_error_string($0) }.map { String(cString: $0) } ?? "error \(code)"
    throw ArchiveError(operation: operation(), message: message)
}
