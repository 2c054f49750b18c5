/// Why a boot medium could not be made, worded "what went wrong: what to do".
public struct MediaError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
