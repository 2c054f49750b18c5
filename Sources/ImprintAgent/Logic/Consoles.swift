/// One line of `/proc/consoles`: `ttyS0                -W- (EC p a)    4:64`.
public struct ConsoleEntry: Equatable, Sendable {
    /// The device name under `/dev`: `ttyS0`.
    public var name: String
    /// The `C` flag: this console is `/dev/console`, where init's first
    /// output already went.
    public var isPreferred: Bool

    public init(name: String, isPreferred: Bool) {
        self.name = name
        self.isPreferred = isPreferred
    }

    /// `/dev/ttyS0`.
    public var devicePath: String { "/dev/" + name }
}

/// Parses `/proc/consoles`: each line's first column is the device name, the
/// flags in parentheses mark the preferred console. Duplicates and names that
/// are not a plain device name are dropped.
public func parseConsoles(_ text: String) -> [ConsoleEntry] {
    var consoles: [ConsoleEntry] = []
    for line in text.split(separator: "\n") {
        let columns = words(line)
        guard let first = columns.first else { continue }
        let name = String(first)
        guard !name.contains("/"), name != ".", name != "..",
              !consoles.contains(where: { $0.name == name }) else { continue }
        var preferred = false
        if let open = line.firstIndex(of: "("), let close = line[open...].firstIndex(of: ")") {
            preferred = line[line.index(after: open)..<close].contains("C")
        }
        consoles.append(ConsoleEntry(name: name, isPreferred: preferred))
    }
    return consoles
}
