/// A store operation that failed, worded "what went wrong: what to do".
public struct StoreError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
