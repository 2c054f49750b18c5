/// Why the demo image could not be built, with what to do about it.
public struct DemoError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
    init(_ message: String) { self.message = message }
}
