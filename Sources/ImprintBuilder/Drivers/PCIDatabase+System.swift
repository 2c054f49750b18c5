import Foundation
import ImprintCore

extension PCIDatabase {
    /// Where Debian's `pci.ids` package (and hwdata elsewhere) puts the database.
    public static let systemPaths = ["/usr/share/misc/pci.ids", "/usr/share/hwdata/pci.ids"]

    /// The machine's pci.ids, for names in messages; nil when none is installed (messages then give
    /// the IDs alone).
    public static func system(paths: [String] = systemPaths) -> PCIDatabase? {
        for path in paths {
            if let text = try? String(contentsOfFile: path, encoding: .utf8) { return PCIDatabase(text: text) }
        }
        return nil
    }
}
