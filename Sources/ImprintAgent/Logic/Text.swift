/// Small string helpers; the agent has no Foundation.

/// `text` without leading and trailing spaces, tabs, carriage returns and newlines.
public func trimmed<S: StringProtocol>(_ text: S) -> String {
    let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }
    guard let first = text.firstIndex(where: { !isSpace($0) }),
          let last = text.lastIndex(where: { !isSpace($0) }) else { return "" }
    return String(text[first...last])
}

/// The words of `text`, split on any run of whitespace.
func words<S: StringProtocol>(_ text: S) -> [Substring] {
    Substring(text).split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" })
}

/// The last component of a `/`-separated path: `../../bus/pci/drivers/virtio-pci` -> `virtio-pci`.
func lastPathComponent(_ path: String) -> String {
    path.split(separator: "/").last.map(String.init) ?? path
}
