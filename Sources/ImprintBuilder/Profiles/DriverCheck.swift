import Foundation
import ImprintCore

/// Whether a profile's initrd drives one network or storage controller of a machine, and if not,
/// which module of the same kernel would (`imprint profile check`, docs/profile-check.md).
public struct DriverVerdict: Equatable, Sendable {
    public enum Kind: String, Equatable, Sendable {
        case network, storage
    }

    /// The controller, as the listing gave it.
    public var device: HardwareListing.Device
    public var kind: Kind
    /// `Ethernet controller [0200]: Intel Corporation 82540EM Gigabit Ethernet Controller`: from
    /// pci.ids, else lspci's own text, else empty.
    public var name: String
    /// Modules of the initrd that match the device (every layer: `virtio_pci` and `virtio_net`).
    public var driving: [String]
    /// Modules of the kernel, not in the initrd, that would drive it; empty when driven, and
    /// empty when no module of the kernel matches it at all.
    public var missing: [String]
    /// Whether the PCI function itself lacks a driver (a virtio function can have its PCI driver,
    /// `virtio_pci`, but not the driver of the virtio device behind it).
    public var needsPCIDriver: Bool
    /// Something the reader should know about how the match was made.
    public var note: String?
    /// How a recipe's `drivers.pci` names it: `8086:10d3`, or with the class (`1b36:0010/010802`)
    /// when only the class matches its driver.
    public var recipeID: String

    public var isDriven: Bool { missing.isEmpty && !driving.isEmpty && !needsPCIDriver && !lacksKernelDriver }

    /// No module of the kernel drives it: no recipe change helps.
    public var lacksKernelDriver: Bool

    public init(device: HardwareListing.Device, kind: Kind, name: String, driving: [String], missing: [String],
                needsPCIDriver: Bool, lacksKernelDriver: Bool, note: String? = nil, recipeID: String? = nil) {
        self.device = device
        self.kind = kind
        self.name = name
        self.driving = driving
        self.missing = missing
        self.needsPCIDriver = needsPCIDriver
        self.lacksKernelDriver = lacksKernelDriver
        self.note = note
        self.recipeID = recipeID ?? device.id.id
    }
}

/// The pure half of `imprint profile check`: controllers, the kernel's module graph and the
/// modules a profile's initrd holds in; one verdict per controller out.
public enum DriverCheck {
    /// One verdict per network (class 02) or storage (class 01) controller of `devices`, in their
    /// order. `graph` is the whole module tree of the profile's kernel (its aliases say which module
    /// binds which device); `included` the module names of the profile's `build.json`.
    ///
    /// A device is driven when a module of the initrd has a `pci:` alias that matches it for certain
    /// (``PCIID/matches(alias:)``); a virtio function (`1af4:1000`-`107f`) also needs the driver of
    /// the virtio device `virtio_pci` creates for it (`virtio_net` for a network card). A listing
    /// without the programming interface (`lspci -nn` prints `[0106]`, not `010601`) is matched
    /// against each one, so class-bound drivers (ahci, nvme) still count, with a note.
    public static func verdicts(for devices: [HardwareListing.Device], graph: ModuleGraph, included: [String],
                                database: PCIDatabase = PCIDatabase()) -> [DriverVerdict] {
        let inInitrd = Set(included.map(ModInfo.normalizedModuleName))
        return devices.compactMap { device -> DriverVerdict? in
            let kind: DriverVerdict.Kind
            if device.id.isNetwork { kind = .network } else if device.id.isStorage { kind = .storage } else { return nil }

            var note: String?
            var matchedID = device.id
            var pciModules = graph.modules(matchingPCI: device.id)
            if pciModules.isEmpty, device.id.progIf == nil, device.id.baseClass != nil,
               let (modules, progIf) = modulesAnyProgIf(device.id, graph: graph) {
                pciModules = modules
                matchedID.progIf = progIf
                matchedID.subclass = matchedID.subclass ?? 0
                note = "matched by class with programming interface \(hexByte(progIf).lowercased()): the listing gives none (an inventory.json does)"
            }
            var layers = [pciModules]
            if let modalias = virtioModalias(device.id) {
                layers.append(graph.modules(matchingModalias: modalias))
            }

            var driving: [String] = []
            var missing: [String] = []
            var lacksKernelDriver = false
            var needsPCIDriver = false
            for (index, layer) in layers.enumerated() {
                let present = layer.filter { inInitrd.contains(ModInfo.normalizedModuleName($0)) }
                driving += present
                if layer.isEmpty { lacksKernelDriver = true }
                if present.isEmpty {
                    missing += layer
                    if index == 0 { needsPCIDriver = true }
                }
            }
            return DriverVerdict(device: device, kind: kind, name: name(of: device, database: database),
                                 driving: unique(driving), missing: unique(missing), needsPCIDriver: needsPCIDriver,
                                 lacksKernelDriver: lacksKernelDriver, note: note,
                                 recipeID: recipeID(matchedID, modules: pciModules, graph: graph))
        }
    }

    /// `Ethernet controller [0200]: Intel Corporation 82540EM Gigabit Ethernet Controller`: from
    /// pci.ids when it knows the device, else lspci's text, else as much as pci.ids knows.
    static func name(of device: HardwareListing.Device, database: PCIDatabase) -> String {
        if database.deviceName(device.id) == nil, let description = device.description { return lspciName(description) }
        let described = database.describe(device.id)
        let prefix = "\(device.id.id) ("
        if described.hasPrefix(prefix) && described.hasSuffix(")") {
            return String(described.dropFirst(prefix.count).dropLast())
        }
        return device.description ?? ""
    }

    /// lspci's text without the IDs and revision it ends with:
    /// `Ethernet controller: Intel Corporation I225-V [8086:15f3] (rev 03)` -> `... I225-V`.
    static func lspciName(_ text: String) -> String {
        var name = Substring(text)
        if name.hasSuffix(")"), let open = name.range(of: " (rev ", options: .backwards) { name = name[..<open.lowerBound] }
        if name.hasSuffix("]"), let open = name.lastIndex(of: "["), name.distance(from: open, to: name.endIndex) == 11 {
            name = name[..<open]
        }
        while name.hasSuffix(" ") { name = name.dropLast() }
        return String(name)
    }

    /// The modules that match `id` with some programming interface, and the first interface that
    /// matched: for a listing that names the class and subclass only. Only modules with an alias
    /// for this class are tried; nil when none matches.
    static func modulesAnyProgIf(_ id: PCIID, graph: ModuleGraph) -> (modules: [String], progIf: UInt8)? {
        guard let base = id.baseClass else { return nil }
        let marker = "bc" + hexByte(base) + "sc" + (id.subclass.map(hexByte) ?? "")
        let narrowed = ModuleGraph(graph.names.compactMap { graph[$0] }.filter { module in
            module.info.aliases.contains { $0.hasPrefix("pci:") && $0.contains(marker) }
        })
        guard !narrowed.names.isEmpty else { return nil }
        var found = Set<String>()
        var first: UInt8?
        for progIf in UInt8.min...UInt8.max {
            var candidate = id
            candidate.progIf = progIf
            if candidate.subclass == nil { candidate.subclass = 0 }
            let matched = narrowed.modules(matchingPCI: candidate)
            if !matched.isEmpty && first == nil { first = progIf }
            found.formUnion(matched)
        }
        return first.map { (found.sorted(), $0) }
    }

    /// `virtio:d00000001v00001AF4` for a virtio PCI function (vendor 1af4, device 1000-107f): the
    /// device `virtio_pci` creates, which its own driver (`virtio_net`, `virtio_blk`) binds.
    static func virtioModalias(_ id: PCIID) -> String? {
        guard let type = virtioType(id) else { return nil }
        let digits = String(type, radix: 16, uppercase: true)
        return "virtio:d" + String(repeating: "0", count: 8 - digits.count) + digits + "v00001AF4"
    }

    /// The virtio device type of a virtio PCI function (1 network, 2 block, 8 SCSI). Modern devices
    /// (1041-107f) are 1040 plus the type; transitional ones (1000-103f) carry it as their subsystem
    /// device, and without one, the type the virtio spec gives each transitional ID.
    static func virtioType(_ id: PCIID) -> UInt16? {
        guard id.vendor == 0x1af4, (0x1000...0x107f).contains(id.device) else { return nil }
        if id.device >= 0x1040 { return id.device - 0x1040 }
        if let subdevice = id.subdevice, subdevice != 0 { return subdevice }
        let transitional: [UInt16: UInt16] = [0x1000: 1, 0x1001: 2, 0x1002: 5, 0x1003: 3, 0x1004: 8, 0x1005: 4, 0x1009: 9]
        return transitional[id.device]
    }

    /// What to change in the recipe: `add drivers.pci: ["8086:2922"] or drivers.modules: [ahci] to
    /// recipes/qemu-virtio.yaml and rebuild`; nil when nothing a recipe can say would help.
    public static func hint(for verdicts: [DriverVerdict], recipe: String) -> String? {
        let fixable = verdicts.filter { !$0.isDriven && !$0.missing.isEmpty }
        guard !fixable.isEmpty else { return nil }
        let ids = unique(fixable.filter(\.needsPCIDriver).map(\.recipeID))
        let modules = unique(fixable.flatMap(\.missing))
        var parts: [String] = []
        if !ids.isEmpty { parts.append("drivers.pci: [" + ids.map { "\"\($0)\"" }.joined(separator: ", ") + "]") }
        parts.append("drivers.modules: [" + modules.joined(separator: ", ") + "]")
        return "add \(parts.joined(separator: " or ")) to \(recipe) and rebuild"
    }

    /// `8086:10d3` when the vendor and device IDs alone match one of `modules`, else the form with
    /// the class (`1b36:0010/010802`) that class-bound drivers need.
    static func recipeID(_ id: PCIID, modules: [String], graph: ModuleGraph) -> String {
        let bare = PCIID(vendor: id.vendor, device: id.device)
        if !Set(graph.modules(matchingPCI: bare)).isDisjoint(with: modules) { return bare.id }
        return id.classCode.map { "\(id.id)/\($0)" } ?? id.id
    }

    static func hexByte(_ value: UInt8) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return digits.count == 1 ? "0" + digits : digits
    }

    static func unique(_ names: [String]) -> [String] {
        var seen = Set<String>()
        return names.filter { seen.insert($0).inserted }
    }
}
