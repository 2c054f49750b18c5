import ImprintCore

/// A PCI function, from `/sys/bus/pci/devices/<slot>/{vendor,device,class,subsystem_vendor,subsystem_device,driver}`.
public struct PCIDevice: Equatable, Sendable {
    /// `0000:00:03.0`
    public var slot: String
    /// `1af4:1000`: vendor and device IDs, four lower-case hex digits each.
    public var id: String
    /// `0x020000`, as sysfs writes it (lower case).
    public var deviceClass: String
    /// `1af4:0001`: subsystem vendor and device, four lower-case hex digits each; nil when unreadable.
    public var subsystem: String?
    /// The bound driver's name (the last component of the `driver` link), nil when none is bound.
    public var driver: String?

    public init(slot: String, id: String, deviceClass: String, subsystem: String? = nil, driver: String? = nil) {
        self.slot = slot
        self.id = id
        self.deviceClass = deviceClass
        self.subsystem = subsystem
        self.driver = driver
    }

    /// A network (class `0x02xxxx`) or mass storage (`0x01xxxx`) controller: what a deploy needs driven.
    public var isController: Bool {
        deviceClass.hasPrefix("0x02") || deviceClass.hasPrefix("0x01")
    }

    /// The class without sysfs's `0x`: `020000`.
    public var classDigits: String {
        deviceClass.hasPrefix("0x") ? String(deviceClass.dropFirst(2)) : deviceClass
    }

    /// Every function under `/sys/bus/pci/devices`; one whose IDs cannot be read is left out.
    public static func gather(from fs: any FileSystem) -> [PCIDevice] {
        var devices: [PCIDevice] = []
        for entry in (try? fs.listDirectory("/sys/bus/pci/devices")) ?? [] {
            let base = "/sys/bus/pci/devices/" + entry.name
            guard let vendor = fs.readValue(base + "/vendor").flatMap(hexID),
                  let device = fs.readValue(base + "/device").flatMap(hexID) else { continue }
            let deviceClass = fs.readValue(base + "/class").map { $0.lowercased() } ?? "-"
            var subsystem: String?
            if let subVendor = fs.readValue(base + "/subsystem_vendor").flatMap(hexID),
               let subDevice = fs.readValue(base + "/subsystem_device").flatMap(hexID) {
                subsystem = subVendor + ":" + subDevice
            }
            let driver = (try? fs.readLink(base + "/driver")).map(lastPathComponent)
            devices.append(PCIDevice(slot: entry.name, id: vendor + ":" + device, deviceClass: deviceClass,
                                     subsystem: subsystem, driver: driver))
        }
        return devices
    }

    /// The network and storage controllers no driver is bound to, in the order given: after
    /// coldplug, each is a NIC or disk controller the profile has no module for.
    public static func unbound(_ devices: [PCIDevice]) -> [PCIDevice] {
        devices.filter { $0.isController && $0.driver == nil }
    }

    /// The console line for an unbound controller (docs/agent.md).
    public var unboundMessage: String {
        "coldplug: no driver for \(slot) \(id) (class \(classDigits)): the profile lacks its module — imprint profile check"
    }

    /// `0x1AF4` -> `1af4`; nil when not a 16-bit hex number.
    static func hexID(_ text: String) -> String? {
        let digits = text.hasPrefix("0x") || text.hasPrefix("0X") ? text.dropFirst(2) : Substring(text)
        guard !digits.isEmpty, digits.count <= 4, let value = UInt16(digits, radix: 16) else { return nil }
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 4 - hex.count) + hex
    }
}

/// `/sys/class/dmi/id/`: what the firmware says the machine is. A field that is
/// missing or unreadable (`product_serial` and `product_uuid` are root-only) is nil.
public struct DMIInfo: Equatable, Sendable {
    public var sysVendor: String?
    public var productName: String?
    public var productSerial: String?
    public var productUUID: String?

    public init(sysVendor: String? = nil, productName: String? = nil, productSerial: String? = nil, productUUID: String? = nil) {
        self.sysVendor = sysVendor
        self.productName = productName
        self.productSerial = productSerial
        self.productUUID = productUUID
    }

    public static func gather(from fs: any FileSystem) -> DMIInfo {
        func field(_ name: String) -> String? {
            guard let value = fs.readValue("/sys/class/dmi/id/" + name), !value.isEmpty else { return nil }
            return value
        }
        return DMIInfo(sysVendor: field("sys_vendor"), productName: field("product_name"),
                       productSerial: field("product_serial"), productUUID: field("product_uuid"))
    }
}

/// The two documents the agent PUTs once it has booted (docs/agent.md).
public enum BootReports {
    public static let inventoryVersion = 1

    /// `reports/<mac>/inventory.json`: NICs, DMI, disks, PCI functions, and the network and storage
    /// controllers no driver is bound to (``PCIDevice/unbound(_:)``).
    public static func inventory(mac: MACAddress, inventory: Inventory, dmi: DMIInfo, pci: [PCIDevice]) -> JSONValue {
        func optional(_ text: String?) -> JSONValue { text.map { .string($0) } ?? .null }
        let interfaces: [JSONValue] = inventory.interfaces.map { nic in
            .object(["name": .string(nic.name), "mac": .string(normalizedMAC(nic.mac) ?? nic.mac),
                     "driver": optional(nic.driver), "link": .string(nic.link.rawValue)])
        }
        let disks: [JSONValue] = inventory.disks.map { disk in
            .object(["name": .string(disk.name), "bytes": .number(Double(disk.bytes)), "removable": .bool(disk.removable)])
        }
        let devices: [JSONValue] = pci.map { device in
            .object(["slot": .string(device.slot), "id": .string(device.id), "class": .string(device.deviceClass),
                     "subsystem": optional(device.subsystem), "driver": optional(device.driver)])
        }
        let unbound: [JSONValue] = PCIDevice.unbound(pci).map { device in
            .object(["slot": .string(device.slot), "id": .string(device.id), "class": .string(device.deviceClass)])
        }
        return .object([
            "version": .number(Double(inventoryVersion)),
            "mac": .string(mac.colon),
            "interfaces": .array(interfaces),
            "dmi": .object(["sysVendor": optional(dmi.sysVendor), "productName": optional(dmi.productName),
                            "productSerial": optional(dmi.productSerial), "productUUID": optional(dmi.productUUID)]),
            "disks": .array(disks),
            "pci": .array(devices),
            "unbound": .array(unbound),
        ])
    }

    /// `reports/<mac>/status.json` with phase `booted`: Core's ``StatusReport``
    /// with every counter zero and an empty `timings` object (which Core leaves out when empty).
    public static func booted(mac: MACAddress, updated: String) -> JSONValue {
        let report = StatusReport(mac: mac, phase: .booted, bytesWritten: 0, bytesTotal: 0, rate: 0, updated: updated)
        guard case .object(let object) = report.json else { return report.json }
        var result = JSONObject()
        for (key, value) in object {
            if key == "updated" && result["timings"] == nil { result["timings"] = .object(JSONObject()) }
            result[key] = value
        }
        if result["timings"] == nil { result["timings"] = .object(JSONObject()) }
        return .object(result)
    }
}
