/// Names from the pci.ids database (Debian's `pci.ids` package, `/usr/share/misc/pci.ids`),
/// for messages: `Intel Corporation 82540EM Gigabit Ethernet Controller`.
public struct PCIDatabase: Sendable {
    var vendors: [UInt16: String] = [:]
    var devices: [UInt32: String] = [:]
    var classes: [UInt8: String] = [:]
    var subclasses: [UInt16: String] = [:]

    public init() {}

    /// Vendor lines (`8086  Intel Corporation`), device lines (`\t100e  82540EM ...`), class
    /// lines (`C 02  Network controller`, `\t00  Ethernet controller`); subsystem lines, comments
    /// and anything unreadable are skipped.
    public init(text: String) {
        var vendor: UInt16?
        var baseClass: UInt8?
        for raw in text.split(separator: "\n") {
            let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
            if line.hasPrefix("#") || line.isEmpty { continue }
            if line.hasPrefix("\t\t") { continue }
            if line.hasPrefix("C ") {
                vendor = nil
                let body = line.dropFirst(2)
                guard body.count > 4, let code = UInt8(body.prefix(2), radix: 16) else { baseClass = nil; continue }
                baseClass = code
                classes[code] = body.dropFirst(2).trimmingSpaces
            } else if line.hasPrefix("\t") {
                let body = line.dropFirst()
                if let vendor, body.count > 6, let device = UInt16(body.prefix(4), radix: 16) {
                    devices[UInt32(vendor) << 16 | UInt32(device)] = body.dropFirst(4).trimmingSpaces
                } else if let baseClass, body.count > 4, let sub = UInt8(body.prefix(2), radix: 16) {
                    subclasses[UInt16(baseClass) << 8 | UInt16(sub)] = body.dropFirst(2).trimmingSpaces
                }
            } else if line.count > 6, let code = UInt16(line.prefix(4), radix: 16) {
                baseClass = nil
                vendor = code
                vendors[code] = line.dropFirst(4).trimmingSpaces
            }
        }
    }

    public var isEmpty: Bool { vendors.isEmpty }

    public func vendorName(_ id: PCIID) -> String? { vendors[id.vendor] }
    public func deviceName(_ id: PCIID) -> String? { devices[UInt32(id.vendor) << 16 | UInt32(id.device)] }
    public func className(_ id: PCIID) -> String? {
        guard let base = id.baseClass else { return nil }
        if let sub = id.subclass, let name = subclasses[UInt16(base) << 8 | UInt16(sub)] { return name }
        return classes[base]
    }

    /// `8086:100e (Ethernet controller [0200]: Intel Corporation 82540EM Gigabit Ethernet Controller)`;
    /// as much as is known, at least the IDs.
    public func describe(_ id: PCIID) -> String {
        var parts: [String] = []
        if let name = className(id) { parts.append("\(name)\(id.classCode.map { " [\($0.prefix(4))]" } ?? "")") }
        let names = [vendorName(id), deviceName(id)].compactMap { $0 }
        if !names.isEmpty { parts.append(names.joined(separator: " ")) }
        return parts.isEmpty ? id.description : "\(id.id) (\(parts.joined(separator: ": ")))"
    }
}
