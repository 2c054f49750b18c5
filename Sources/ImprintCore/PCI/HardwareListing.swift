/// A machine's PCI functions, from an `inventory.json` an agent reported or from `lspci -nn`
/// (`-nnk` adds the subsystem and the bound driver).
public struct HardwareListing: Equatable, Sendable {
    public enum Source: Equatable, Sendable {
        /// An imprint agent's `inventory.json`, with the MAC it reported.
        case inventory(mac: String?)
        case lspci
    }

    public struct Device: Equatable, Sendable {
        /// `0000:00:03.0` or `00:03.0`.
        public var slot: String
        public var id: PCIID
        /// The driver bound to it when the listing says (`driver`, lspci -k's "Kernel driver in use").
        public var driver: String?
        /// lspci's text (`Ethernet controller: Intel Corporation 82540EM ...`), nil from an inventory.
        public var description: String?

        public init(slot: String, id: PCIID, driver: String? = nil, description: String? = nil) {
            self.slot = slot
            self.id = id
            self.driver = driver
            self.description = description
        }
    }

    public var source: Source
    public var devices: [Device]

    /// Network (class 02) and storage (class 01) controllers: what a deploy needs driven.
    public var controllers: [Device] { devices.filter { $0.id.isNetwork || $0.id.isStorage } }

    /// Reads either format; an error names the line (or the JSON member) it could not read.
    public static func parse(_ text: String) throws(HardwareListingError) -> HardwareListing {
        let trimmed = text.drop { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }
        if trimmed.hasPrefix("{") { return try parseInventory(text) }
        return try parseLspci(text)
    }

    static func parseInventory(_ text: String) throws(HardwareListingError) -> HardwareListing {
        let value: JSONValue
        do { value = try JSONValue.parse(text) } catch {
            throw HardwareListingError(line: nil, "not valid JSON (\(error)): give an inventory.json an agent reported, or lspci -nn output")
        }
        guard let object = value.objectValue, let list = object["pci"]?.arrayValue else {
            throw HardwareListingError(line: nil, "a JSON document without a \"pci\" list is not an imprint inventory.json (reports/<mac>/inventory.json)")
        }
        var devices: [Device] = []
        for (index, item) in list.enumerated() {
            let place = "pci[\(index)]"
            guard let entry = item.objectValue, let idText = entry["id"]?.stringValue else {
                throw HardwareListingError(line: nil, "\(place): no \"id\"")
            }
            guard var id = PCIID(recipe: idText) else { throw HardwareListingError(line: nil, "\(place): id '\(idText)' is not vendor:device (8086:100e)") }
            if let classText = entry["class"]?.stringValue, classText != "-" {
                guard let (base, sub, prog) = PCIID.parseClass(classText) else {
                    throw HardwareListingError(line: nil, "\(place): class '\(classText)' is not a PCI class (0x020000)")
                }
                (id.baseClass, id.subclass, id.progIf) = (base, sub, prog)
            }
            if let subsystem = entry["subsystem"]?.stringValue, let sub = PCIID(recipe: subsystem) {
                (id.subvendor, id.subdevice) = (sub.vendor, sub.device)
            }
            devices.append(Device(slot: entry["slot"]?.stringValue ?? place, id: id, driver: entry["driver"]?.stringValue))
        }
        return HardwareListing(source: .inventory(mac: object["mac"]?.stringValue), devices: devices)
    }

    /// `00:03.0 Ethernet controller [0200]: Red Hat, Inc. Virtio network device [1af4:1000] (rev 01)`,
    /// with lspci -k's indented `Subsystem: ... [1af4:0001]` and `Kernel driver in use: virtio-pci`.
    static func parseLspci(_ text: String) throws(HardwareListingError) -> HardwareListing {
        var devices: [Device] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
            let number = index + 1
            if line.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            if line.first == "\t" || line.first == " " {
                guard !devices.isEmpty else { throw HardwareListingError(line: number, "an indented line before any device") }
                let detail = line.drop { $0 == "\t" || $0 == " " }
                if detail.hasPrefix("Subsystem:"), let ids = lastBracketedID(detail), let sub = PCIID(recipe: ids) {
                    devices[devices.count - 1].id.subvendor = sub.vendor
                    devices[devices.count - 1].id.subdevice = sub.device
                } else if detail.hasPrefix("Kernel driver in use:") {
                    devices[devices.count - 1].driver = detail.dropFirst("Kernel driver in use:".count).trimmingSpaces
                }
                continue
            }
            guard let space = line.firstIndex(of: " ") else { throw notLspci(number, line) }
            let slot = String(line[..<space])
            let rest = line[line.index(after: space)...]
            // The class: the first "[xxxx]:" after the slot.
            guard let classOpen = rest.firstIndex(of: "["),
                  let classClose = rest[classOpen...].firstIndex(of: "]"),
                  rest[rest.index(after: classClose)...].hasPrefix(":"),
                  let (base, sub, prog) = PCIID.parseClass(rest[rest.index(after: classOpen)..<classClose]),
                  let ids = lastBracketedID(rest[classClose...]),
                  var id = PCIID(recipe: ids) else { throw notLspci(number, line) }
            (id.baseClass, id.subclass, id.progIf) = (base, sub, prog)
            let className = rest[..<classOpen].trimmingSpaces
            let name = rest[rest.index(classClose, offsetBy: 2)...].trimmingSpaces
            devices.append(Device(slot: slot, id: id, description: "\(className): \(name)"))
        }
        guard !devices.isEmpty else {
            throw HardwareListingError(line: nil, "no PCI device found: give an inventory.json an agent reported, or the output of lspci -nn")
        }
        return HardwareListing(source: .lspci, devices: devices)
    }

    /// The last `[vvvv:dddd]` in the text.
    static func lastBracketedID<S: StringProtocol>(_ text: S) -> String? where S.SubSequence == Substring {
        var found: String?
        var search = Substring(text)
        while let open = search.firstIndex(of: "[") {
            let after = search[search.index(after: open)...]
            if let close = after.firstIndex(of: "]") {
                let inside = after[..<close]
                if inside.count == 9, inside.dropFirst(4).first == ":", PCIID(recipe: String(inside)) != nil { found = String(inside) }
            }
            search = after
        }
        return found
    }

    static func notLspci(_ number: Int, _ line: Substring) -> HardwareListingError {
        HardwareListingError(line: number, "'\(line.prefix(100))' is not a line of lspci -nn output (SLOT CLASS [cccc]: NAME [vvvv:dddd])")
    }
}

public struct HardwareListingError: Error, Equatable, Sendable, CustomStringConvertible {
    public var line: Int?
    public var message: String
    public init(line: Int?, _ message: String) {
        self.line = line
        self.message = message
    }
    public var description: String { line.map { "line \($0): \(message)" } ?? message }
}

extension Substring {
    var trimmingSpaces: String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
