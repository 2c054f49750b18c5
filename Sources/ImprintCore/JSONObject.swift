/// A JSON object that keeps its keys in insertion order, so serialising a manifest gives the
/// same text every time.
///
/// Keys are unique: setting an existing key replaces its value in place. Two objects are equal
/// when they hold the same keys with equal values, in any order, as JSON objects are.
public struct JSONObject: Equatable, Sendable, Sequence, ExpressibleByDictionaryLiteral {
    /// The keys, in insertion order.
    public private(set) var keys: [String]
    /// The values, in the order of ``keys``.
    public private(set) var values: [JSONValue]
    private var index: [String: Int]

    /// An empty object.
    public init() {
        keys = []
        values = []
        index = [:]
    }

    /// An object of `pairs` in order; a repeated key keeps its first position and its last value.
    public init(_ pairs: [(String, JSONValue)]) {
        self.init()
        for (key, value) in pairs { self[key] = value }
    }

    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self.init(elements)
    }

    /// The number of keys.
    public var count: Int { keys.count }

    /// Whether the object has no keys.
    public var isEmpty: Bool { keys.isEmpty }

    /// The value for `key`. Setting a new key appends it; setting `nil` removes the key.
    public subscript(key: String) -> JSONValue? {
        get {
            index[key].map { values[$0] }
        }
        set {
            if let position = index[key] {
                if let newValue {
                    values[position] = newValue
                } else {
                    keys.remove(at: position)
                    values.remove(at: position)
                    index[key] = nil
                    for later in position..<keys.count { index[keys[later]] = later }
                }
            } else if let newValue {
                index[key] = keys.count
                keys.append(key)
                values.append(newValue)
            }
        }
    }

    public func makeIterator() -> some IteratorProtocol<(key: String, value: JSONValue)> {
        zip(keys, values).lazy.map { (key: $0.0, value: $0.1) }.makeIterator()
    }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.count == rhs.count else { return false }
        for (key, value) in zip(lhs.keys, lhs.values) where rhs[key] != value {
            return false
        }
        return true
    }
}
