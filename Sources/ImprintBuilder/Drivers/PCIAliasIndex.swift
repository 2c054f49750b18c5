import ImprintCore

/// A kernel's `pci:` module aliases grouped by the vendor they name, so matching a profile's IDs
/// looks at a few hundred aliases instead of every alias of every module (the kernel has about
/// 20,000). Matching itself is Core's ``PCIID/matches(alias:)``.
struct PCIAliasIndex {
    private var byVendor: [UInt16: [(module: String, alias: String)]] = [:]
    /// Aliases whose vendor field is a glob (`pci:v*d*sv*sd*bc01sc08i02*`).
    private var anyVendor: [(module: String, alias: String)] = []

    init(_ graph: ModuleGraph) {
        for name in graph.names {
            guard let module = graph[name] else { continue }
            for alias in module.info.aliases where alias.hasPrefix("pci:v") {
                if let vendor = Self.vendor(of: alias) {
                    byVendor[vendor, default: []].append((name, alias))
                } else {
                    anyVendor.append((name, alias))
                }
            }
        }
    }

    /// The vendor an alias names outright (`pci:v00008086d...`), nil when its vendor field is a glob.
    static func vendor(of alias: String) -> UInt16? {
        let field = alias.utf8.dropFirst(5).prefix(9)
        guard field.count == 9, field.last == UInt8(ascii: "d") else { return nil }
        let digits = field.dropLast()
        guard digits.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x46) }) else { return nil }
        return UInt16(String(decoding: digits, as: UTF8.self), radix: 16)
    }

    /// The modules with an alias that matches `id` for certain, sorted, without duplicates; the same
    /// answer as ``ModuleGraph/modules(matchingPCI:)``.
    func modules(matching id: PCIID) -> [String] {
        let candidates = (byVendor[id.vendor] ?? []) + anyVendor
        return Set(candidates.filter { id.matches(alias: $0.alias) }.map(\.module)).sorted()
    }
}
