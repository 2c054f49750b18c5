import Foundation
import ImprintCore

/// The firmware files a profile's initrd carries at `lib/firmware/<name>`: for every chosen module,
/// the files its `.modinfo` declares (`firmware=`), taken from the recipe's firmware packages only.
/// The kernel loads them from `/lib/firmware` itself (docs/profiles.md).
struct FirmwareSelection {
    struct File: Equatable {
        /// The name the kernel asks for, relative to `/lib/firmware` (`rtl_nic/rtl8168d-1.fw`).
        var name: String
        var package: String
        var version: String
        /// The chosen modules that declare it, sorted.
        var modules: [String]
        /// The file to copy: in the unpacked package, or its decompressed copy.
        var source: String
        var size: Int

        var initrdPath: String { "lib/firmware/\(name)" }
    }

    var files: [File] = []
    var packages: [FirmwarePackage] = []
    /// Firmware that modules not driving a listed device declare and no package holds: build.json only.
    var warnings: [String] = []

    var totalSize: Int { files.reduce(0) { $0 + $1.size } }
}

extension FirmwareSelection {
    /// Fetches the recipe's firmware packages through the private apt and picks the files the chosen
    /// modules declare. Files missing for the driver of a device the profile names fail the build, all
    /// of them in one error; for other modules they become warnings.
    static func gather(drivers: DriverSelection, recipe: Recipe, cache: Cache,
                       log: @escaping (String) -> Void) throws -> FirmwareSelection {
        var packages: [FirmwarePackage] = []
        if !recipe.firmware.isEmpty {
            let apt = PrivateApt(cache: cache, log: log)
            let lock = try cache.lock("apt/state")
            defer { lock.unlock() }
            try apt.updateLists()
            let places = recipe.firmware.indices.map { recipe.place("drivers.firmware[\($0)]") }
            for candidate in try FirmwarePackage.candidates(recipe.firmware, apt: apt, places: places) {
                let package = try FirmwarePackage.fetch(candidate, apt: apt)
                log("firmware package \(package.name) \(package.version)")
                packages.append(package)
            }
        }
        return try select(drivers: drivers, recipe: recipe, packages: packages)
    }

    /// The pure half of ``gather(drivers:recipe:cache:log:)``, over packages already unpacked.
    static func select(drivers: DriverSelection, recipe: Recipe, packages: [FirmwarePackage]) throws -> FirmwareSelection {
        // Which listed devices each module drives (a module may drive several).
        var devicesOf: [String: [DriverSelection.DeviceMatch]] = [:]
        for match in drivers.devices {
            for module in match.modules { devicesOf[module, default: []].append(match) }
        }
        var byName: [String: File] = [:]
        var missing: [FirmwareError.MissingFirmware] = []
        var warnings: [String] = []
        for choice in drivers.modules.sorted(by: { $0.name < $1.name }) {
            guard let module = drivers.graph[choice.name] else { continue }
            var absent: [String] = []
            var absentPatterns: [String] = []
            for declared in module.info.firmware.sorted() {
                guard let (package, found) = packages.lazy.compactMap({ p in
                    let hits = p.lookup(declared)
                    return hits.isEmpty ? nil : (p, hits)
                }).first else {
                    if declared.contains(where: { $0 == "*" || $0 == "?" || $0 == "[" }) {
                        absentPatterns.append(declared)
                    } else {
                        absent.append(declared)
                    }
                    continue
                }
                for hit in found {
                    if var file = byName[hit.name] {
                        if !file.modules.contains(module.name) { file.modules.append(module.name); file.modules.sort() }
                        byName[hit.name] = file
                        continue
                    }
                    let source = try plainFile(hit, in: package)
                    byName[hit.name] = File(name: hit.name, package: package.name, version: package.version,
                                            modules: [module.name], source: source,
                                            size: (try? FileManagerSize.size(of: source)) ?? 0)
                }
            }
            if !absent.isEmpty, let devices = devicesOf[module.name] {
                missing += devices.map { .init(device: $0.description, module: module.name, files: absent) }
            } else if !absent.isEmpty || !absentPatterns.isEmpty {
                let all = absent + absentPatterns
                let likely = Set(all.compactMap(FirmwareHints.package(for:))).sorted()
                let hint = likely.isEmpty ? "" : " (likely in \(likely.joined(separator: ", ")))"
                warnings.append("\(module.name): no drivers.firmware package holds \(all.joined(separator: ", "))\(hint)")
            }
        }
        if !missing.isEmpty {
            throw FirmwareError.missing(recipe: recipe.sourcePath, packages: recipe.firmware, devices: missing,
                                        hints: hints(for: missing.flatMap(\.files), listed: packages))
        }
        return FirmwareSelection(files: byName.values.sorted { $0.name < $1.name }, packages: packages, warnings: warnings)
    }

    /// What to add to drivers.firmware for the missing files, as far as the names tell.
    static func hints(for files: [String], listed: [FirmwarePackage]) -> [String] {
        var byPackage: [String: [String]] = [:]
        var unknown: [String] = []
        for file in Set(files).sorted() {
            if let package = FirmwareHints.package(for: file) { byPackage[package, default: []].append(file) } else { unknown.append(file) }
        }
        var hints: [String] = byPackage.sorted { $0.key < $1.key }.map { package, files in
            if let have = listed.first(where: { $0.name == package }) {
                return "\(package) \(have.version) is listed but does not hold \(files.joined(separator: ", ")): a newer Debian release's package may"
            }
            return "add \(package) to drivers.firmware: Debian ships \(files.count == 1 ? "that file" : "those files") there"
        }
        if !unknown.isEmpty {
            hints.append("find the package that ships \(unknown.joined(separator: ", ")) (packages.debian.org, search the contents of non-free-firmware) and add it to drivers.firmware")
        }
        return hints
    }

    /// The file to copy for a hit: the unpacked file, or for a compressed one a plain copy beside the
    /// package's tree (made once).
    private static func plainFile(_ hit: FirmwarePackage.Found, in package: FirmwarePackage) throws -> String {
        guard hit.compression != nil else { return hit.file }
        let plain = "\(package.root)/.plain/\(hit.name)"
        if !FileManager.default.fileExists(atPath: plain) { try FirmwarePackage.decompress(hit.file, to: plain) }
        return plain
    }
}
