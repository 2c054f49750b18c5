/// Why a profile's firmware could not be gathered, with what to do about it.
enum FirmwareError: Error, CustomStringConvertible {
    /// apt itself failed (network, mirror, a broken download).
    case apt(String)
    /// A `drivers.firmware` package the mirror does not have; `place` is `recipe.yaml:LINE`.
    case noSuchPackage(name: String, place: String, source: String, suggestions: [String])
    /// Firmware files that modules driving the profile's devices declare and no listed package holds.
    case missing(recipe: String, packages: [String], devices: [MissingFirmware], hints: [String])
    /// Reading or writing a firmware file failed.
    case io(String)

    /// One device's driver and the files it declares that are not to be had.
    struct MissingFirmware: Sendable {
        /// `10ec:8168/0200 (Ethernet controller [0200]: Realtek ...), from drivers.pci (line 6)`.
        var device: String
        var module: String
        var files: [String]
    }

    var description: String {
        switch self {
        case let .apt(message), let .io(message):
            return message
        case let .noSuchPackage(name, place, source, suggestions):
            let near = suggestions.isEmpty ? "" : " (did you mean \(suggestions.joined(separator: ", "))?)"
            return "\(place): drivers.firmware: no package '\(name)' in \(source)\(near); firmware packages are named firmware-* (firmware-realtek, firmware-misc-nonfree, firmware-bnx2x)"
        case let .missing(recipe, packages, devices, hints):
            let listed = packages.isEmpty ? "drivers.firmware lists no package" : "none of drivers.firmware (\(packages.joined(separator: ", "))) holds them"
            var text = "\(recipe): firmware missing for devices the profile names; \(listed):\n"
            text += devices.map { "  \($0.device): \($0.module) needs \($0.files.joined(separator: ", "))" }.joined(separator: "\n")
            for hint in hints { text += "\nhint: \(hint)" }
            return text
        }
    }
}
