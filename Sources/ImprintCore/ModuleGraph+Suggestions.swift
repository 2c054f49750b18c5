extension ModuleGraph {
    /// Up to three modules the caller may have meant by the unknown `name`: first modules that
    /// have `name` as an alias (`ext3` is ext4's), then the nearest names by edit distance,
    /// with dashes and underscores alike, ties broken by name.
    func suggestions(for name: String) -> [String] {
        var result = byName.values
            .filter { module in module.info.aliases.contains { globMatch($0, name) } }
            .map(\.name)
            .sorted()

        let wanted = Array(ModInfo.normalizedModuleName(name).utf8)
        // Farther than this, a name is a different word rather than a typo of it.
        let limit = max(2, wanted.count / 3)
        let near = byName.values
            .map { (name: $0.name, distance: editDistance(wanted, Array(ModInfo.normalizedModuleName($0.name).utf8))) }
            .filter { $0.distance <= limit }
            .sorted { ($0.distance, $0.name) < ($1.distance, $1.name) }
        for candidate in near where !result.contains(candidate.name) {
            result.append(candidate.name)
        }
        return Array(result.prefix(3))
    }
}

/// The Levenshtein distance between two byte strings: the fewest single-byte insertions,
/// deletions and substitutions that turn `a` into `b`.
func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
            current[j] = min(substitution, previous[j] + 1, current[j - 1] + 1)
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}
