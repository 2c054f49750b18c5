/// A PCI function as far as it is known: vendor and device always; subsystem and class when
/// the source says (a recipe line may name only `8086:100e`).
public struct PCIID: Hashable, Sendable, CustomStringConvertible {
    public var vendor: UInt16
    public var device: UInt16
    public var subvendor: UInt16?
    public var subdevice: UInt16?
    /// Base class (`02` network, `01` storage).
    public var baseClass: UInt8?
    public var subclass: UInt8?
    public var progIf: UInt8?

    public init(vendor: UInt16, device: UInt16, subvendor: UInt16? = nil, subdevice: UInt16? = nil,
                baseClass: UInt8? = nil, subclass: UInt8? = nil, progIf: UInt8? = nil) {
        self.vendor = vendor
        self.device = device
        self.subvendor = subvendor
        self.subdevice = subdevice
        self.baseClass = baseClass
        self.subclass = subclass
        self.progIf = progIf
    }

    /// `8086:100e` (lower case, as lspci prints it).
    public var id: String { hex(vendor, 4) + ":" + hex(device, 4) }

    /// `0200`, `010802`: as much of the class as is known; nil when none is.
    public var classCode: String? {
        guard let baseClass else { return nil }
        var text = hex(baseClass, 2)
        if let subclass {
            text += hex(subclass, 2)
            if let progIf { text += hex(progIf, 2) }
        }
        return text
    }

    /// `8086:100e` or `8086:100e/0200` (the recipe form).
    public var description: String { classCode.map { "\(id)/\($0)" } ?? id }

    /// A network controller (class 02).
    public var isNetwork: Bool { baseClass == 0x02 }
    /// A mass storage controller (class 01).
    public var isStorage: Bool { baseClass == 0x01 }

    /// `VVVV:DDDD`, optionally `/CC`, `/CCSS` or `/CCSSPP` (class, subclass, programming interface),
    /// hex digits in either case. nil when the text is anything else.
    public init?(recipe text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2 else { return nil }
        let ids = parts[0].split(separator: ":", omittingEmptySubsequences: false)
        guard ids.count == 2, ids[0].count == 4, ids[1].count == 4,
              let vendor = UInt16(ids[0], radix: 16), let device = UInt16(ids[1], radix: 16) else { return nil }
        self.init(vendor: vendor, device: device)
        if parts.count == 2 {
            guard let (base, sub, prog) = Self.parseClass(parts[1]) else { return nil }
            (baseClass, subclass, progIf) = (base, sub, prog)
        }
    }

    /// `02`, `0200`, `020000`, or sysfs's `0x020000`.
    static func parseClass<S: StringProtocol>(_ text: S) -> (UInt8, UInt8?, UInt8?)? {
        var digits = Substring(text)
        if digits.hasPrefix("0x") || digits.hasPrefix("0X") { digits = digits.dropFirst(2) }
        guard [2, 4, 6].contains(digits.count), digits.allSatisfy(\.isHexDigit) else { return nil }
        let bytes = stride(from: 0, to: digits.count, by: 2).map { offset -> UInt8 in
            let start = digits.index(digits.startIndex, offsetBy: offset)
            return UInt8(digits[start..<digits.index(start, offsetBy: 2)], radix: 16)!
        }
        return (bytes[0], bytes.count > 1 ? bytes[1] : nil, bytes.count > 2 ? bytes[2] : nil)
    }

    /// Whether a kernel module alias (`pci:v00008086d0000100Esv*sd*bc*sc*i*`) matches this device
    /// for certain. A field the device does not know matches only an alias field of `*`: an ID
    /// given without its class never matches a driver that binds by class alone (nvme's
    /// `pci:v*d*sv*sd*bc01sc08i02*`), and an alias that names a subsystem needs the subsystem.
    public func matches(alias: String) -> Bool {
        guard let fields = PCIAliasFields(alias) else { return false }
        func field(_ pattern: String, _ value: String?) -> Bool {
            guard let value else { return pattern.utf8.allSatisfy { $0 == UInt8(ascii: "*") } }
            return globMatch(pattern, value)
        }
        func upper8<T: FixedWidthInteger>(_ value: T?) -> String? { value.map { hex($0, 8).uppercased() } }
        func upper2(_ value: UInt8?) -> String? { value.map { hex($0, 2).uppercased() } }
        return field(fields.vendor, upper8(vendor)) && field(fields.device, upper8(device))
            && field(fields.subvendor, upper8(subvendor)) && field(fields.subdevice, upper8(subdevice))
            && field(fields.baseClass, upper2(baseClass)) && field(fields.subclass, upper2(subclass))
            && field(fields.progIf, upper2(progIf))
    }
}

/// The seven glob fields of a `pci:` module alias. The kernel writes them in this order, each
/// after its lower-case marker (`v`, `d`, `sv`, `sd`, `bc`, `sc`, `i`), hex digits in upper case;
/// `file2alias` ends the alias with `*` after `i`, which the last field keeps.
struct PCIAliasFields: Equatable {
    var vendor: String
    var device: String
    var subvendor: String
    var subdevice: String
    var baseClass: String
    var subclass: String
    var progIf: String

    init?(_ alias: String) {
        guard alias.hasPrefix("pci:") else { return nil }
        var rest = Substring(alias.dropFirst(4))
        var values: [String] = []
        let markers = ["v", "d", "sv", "sd", "bc", "sc", "i"]
        for (index, marker) in markers.enumerated() {
            guard rest.hasPrefix(marker) else { return nil }
            rest = rest.dropFirst(marker.count)
            if index == markers.count - 1 {
                values.append(String(rest))
                break
            }
            // The next marker is lower case; hex digits are upper case, globs are * ? [ ].
            let next = markers[index + 1]
            guard let end = rest.indices.first(where: { rest[$0...].hasPrefix(next) }) else { return nil }
            values.append(String(rest[..<end]))
            rest = rest[end...]
        }
        guard values.count == 7 else { return nil }
        vendor = values[0]; device = values[1]; subvendor = values[2]; subdevice = values[3]
        baseClass = values[4]; subclass = values[5]
        // `i*` or `i02*`: the trailing star is file2alias's, not part of the byte.
        var prog = values[6]
        if prog.count > 1 && prog.hasSuffix("*") { prog.removeLast() }
        progIf = prog
    }
}

func hex<T: FixedWidthInteger>(_ value: T, _ width: Int) -> String {
    let text = String(value, radix: 16)
    return String(repeating: "0", count: max(0, width - text.count)) + text
}
