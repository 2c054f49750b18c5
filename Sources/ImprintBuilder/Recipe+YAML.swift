import Foundation
import ImprintCore
import Yams

extension Recipe {
    /// Reads a recipe file. Unknown keys and wrong types are errors naming the file, line and key.
    public static func load(path: String) throws -> Recipe {
        let bytes: [UInt8]
        do {
            bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw RecipeError(file: path, message: "cannot read the recipe (\(error.localizedDescription))")
        }
        return try parse(bytes: bytes, file: path)
    }

    /// Parses a recipe file's bytes: UTF-8 YAML. Bytes that are not UTF-8 are an error naming where.
    public static func parse(bytes: [UInt8], file: String) throws -> Recipe {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            let bad = firstInvalidUTF8(bytes)
            throw RecipeError(file: file, line: bad.line, column: bad.column,
                              message: "not UTF-8 text (byte 0x\(String(bad.byte, radix: 16, uppercase: true))): save the recipe as UTF-8")
        }
        return try parse(yaml: text, file: file)
    }

    /// Where the first byte that does not decode as UTF-8 is: its line and column (1-based, columns
    /// in bytes) and its value. Only called on bytes that fail to decode.
    static func firstInvalidUTF8(_ bytes: [UInt8]) -> (line: Int, column: Int, byte: UInt8) {
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var offset = 0, line = 1, lineStart = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case let .valid(encoded):
                if encoded.count == 1 && encoded.first == UInt8(ascii: "\n") {
                    line += 1
                    lineStart = offset + 1
                }
                offset += encoded.count
            case .error:
                return (line, offset - lineStart + 1, bytes[offset])
            case .emptyInput:
                return (line, offset - lineStart + 1, 0)
            }
        }
    }

    /// Parses recipe YAML. `file` is used only in error messages.
    public static func parse(yaml: String, file: String) throws -> Recipe {
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: yaml) else {
                throw RecipeError(file: file, message: "the recipe is empty")
            }
            root = node
        } catch let error as RecipeError {
            throw error
        } catch let error as YamlError {
            throw RecipeError(file: file, line: yamlErrorLine(error), message: "not valid YAML: \(error)")
        }
        var reader = NodeReader(file: file)
        return try reader.recipe(root)
    }

    private static func yamlErrorLine(_ error: YamlError) -> Int? {
        switch error {
        case let .scanner(_, _, mark, _), let .parser(_, _, mark, _), let .composer(_, _, mark, _):
            return mark.line
        default:
            return nil
        }
    }
}

/// Walks the composed YAML tree, checking keys and types as it goes.
private struct NodeReader {
    let file: String

    func fail(_ node: Node?, _ key: String?, _ message: String) -> RecipeError {
        RecipeError(file: file, line: node?.mark?.line, column: node?.mark?.column, key: key, message: message)
    }

    /// The mapping's entries, refusing keys outside `allowed` (naming the closest allowed key).
    func mapping(_ node: Node, _ key: String?, allowed: [String]) throws -> [(key: String, keyNode: Node, value: Node)] {
        guard case let .mapping(mapping) = node else {
            throw fail(node, key, "expected a mapping of \(allowed.joined(separator: ", ")), found \(kind(node))")
        }
        var seen = Set<String>()
        var out: [(String, Node, Node)] = []
        for (k, v) in mapping {
            guard let name = k.string else { throw fail(k, key, "keys must be strings") }
            let path = key.map { "\($0).\(name)" } ?? name
            guard allowed.contains(name) else {
                var hint = ""
                if let near = closest(name, in: allowed) { hint = " (did you mean '\(near)'?)" }
                throw fail(k, path, "unknown key\(hint); known keys here: \(allowed.joined(separator: ", "))")
            }
            guard seen.insert(name).inserted else { throw fail(k, path, "key given twice") }
            out.append((name, k, v))
        }
        return out
    }

    func string(_ node: Node, _ key: String) throws -> String {
        guard case let .scalar(scalar) = node, scalar.style == .plain || scalar.style == .singleQuoted || scalar.style == .doubleQuoted || scalar.style == .literal || scalar.style == .folded else {
            throw fail(node, key, "expected a string, found \(kind(node))")
        }
        if scalar.style == .plain, node.null != nil || scalar.string.isEmpty {
            throw fail(node, key, "expected a string, found nothing")
        }
        return scalar.string
    }

    func strings(_ node: Node, _ key: String) throws -> [String] {
        guard case let .sequence(seq) = node else {
            throw fail(node, key, "expected a list of strings, found \(kind(node))")
        }
        return try seq.enumerated().map { i, item in try string(item, "\(key)[\(i)]") }
    }

    func kind(_ node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case let .scalar(s):
            if s.style == .plain {
                if node.null != nil || s.string.isEmpty { return "nothing" }
                // The resolved tag, not Yams' `node.int`: that computes the value, and traps on a
                // YAML 1.1 base-60 number past Int (found by the RecipeParse fuzz target:
                // "2111112111119370012:2").
                if node.tag.rawValue == Tag.Name.int.rawValue { return "a number (\(s.string))" }
                if node.bool != nil { return "a boolean (\(s.string))" }
            }
            return "'\(s.string)'"
        }
    }

    mutating func recipe(_ root: Node) throws -> Recipe {
        let keys = ["profile", "arch", "kernel", "drivers", "cmdline", "agent", "formats"]
        var profile: String?
        var arch = "x86_64"
        var kernel: Recipe.KernelSource?
        var modules: [String] = [], pci: [PCIID] = [], firmware: [String] = []
        var inventory: String?
        var controllers: [HardwareListing.Device] = []
        var lines: [String: Int] = [:]
        var cmdline = "console=tty0 console=ttyS0"
        var server: String?
        var formats = ["pxe"]
        for (key, _, value) in try mapping(root, nil, allowed: keys) {
            switch key {
            case "profile":
                let p = try string(value, key)
                // Not empty: the profile's files go to boot/PROFILE/, and "" would be boot/ itself
                // (found by the RecipeParse fuzz target: `profile: |` with nothing under it).
                guard !p.isEmpty, p.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }), !p.hasPrefix(".") else {
                    throw fail(value, key, "'\(p)' is not a usable profile name: use letters, digits, '-', '_' and '.'")
                }
                profile = p
            case "arch":
                arch = try string(value, key)
                guard arch == "x86_64" else { throw fail(value, key, "only x86_64 is supported, not '\(arch)'") }
            case "kernel":
                kernel = try kernelSource(value)
            case "drivers":
                for (k, _, v) in try mapping(value, "drivers", allowed: ["modules", "pci", "inventory", "firmware"]) {
                    switch k {
                    case "modules": modules = try strings(v, "drivers.modules")
                    case "pci": pci = try pciIDs(v, lines: &lines)
                    case "inventory": (inventory, controllers) = try inventoryFile(v)
                    default: firmware = try packages(v, lines: &lines)
                    }
                }
            case "cmdline":
                cmdline = try string(value, key)
            case "agent":
                for (_, _, v) in try mapping(value, "agent", allowed: ["server"]) {
                    server = try string(v, "agent.server")
                }
            default:
                formats = try strings(value, key)
                for f in formats where !["pxe", "iso", "usb"].contains(f) {
                    throw fail(value, key, "unknown format '\(f)': use pxe, iso or usb")
                }
            }
        }
        guard let profile else { throw fail(root, "profile", "missing: every recipe names its profile") }
        guard let kernel else { throw fail(root, "kernel", "missing: give `debian: PACKAGE` or `path: FILE`") }
        var recipe = Recipe(profile: profile, arch: arch, kernel: kernel, modules: modules, pci: pci, inventory: inventory,
                            inventoryControllers: controllers, firmware: firmware, cmdline: cmdline, agentServer: server,
                            formats: formats, sourcePath: file)
        recipe.lines = lines
        return recipe
    }

    func kernelSource(_ node: Node) throws -> Recipe.KernelSource {
        let entries = try mapping(node, "kernel", allowed: ["debian", "path", "modules"])
        var debian: String?, path: String?, modules: String?
        for (k, _, v) in entries {
            switch k {
            case "debian": debian = try string(v, "kernel.debian")
            case "path": path = try string(v, "kernel.path")
            default: modules = try string(v, "kernel.modules")
            }
        }
        switch (debian, path) {
        case let (package?, nil):
            if modules != nil { throw fail(node, "kernel.modules", "only with `path:`; a Debian package brings its own modules") }
            return .debian(package: package)
        case let (nil, path?):
            return .path(resolve(path), modules: modules.map(resolve))
        default:
            throw fail(node, "kernel", "give exactly one of `debian: PACKAGE` or `path: FILE`")
        }
    }

    /// Relative kernel paths are taken relative to the recipe's folder.
    func resolve(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        let dir = (file as NSString).deletingLastPathComponent
        return dir.isEmpty ? path : dir + "/" + path
    }

    /// `drivers.pci`: each item a ``PCIID`` in the recipe form, remembered by line for the build's messages.
    func pciIDs(_ node: Node, lines: inout [String: Int]) throws -> [PCIID] {
        let texts = try strings(node, "drivers.pci")
        guard case let .sequence(items) = node else { return [] }
        var ids: [PCIID] = []
        for (index, (text, item)) in zip(texts, items).enumerated() {
            guard let id = PCIID(recipe: text) else {
                throw fail(item, "drivers.pci", "'\(text)' is not a PCI ID: give vendor:device in hex (8086:100e), optionally with the class (8086:100e/0200, 1b36:0010/010802)")
            }
            lines["drivers.pci[\(index)]"] = item.mark?.line
            ids.append(id)
        }
        return ids
    }

    /// `drivers.firmware`: Debian package names (lower case letters, digits, `+ - .`).
    func packages(_ node: Node, lines: inout [String: Int]) throws -> [String] {
        let names = try strings(node, "drivers.firmware")
        guard case let .sequence(items) = node else { return [] }
        for (index, (name, item)) in zip(names, items).enumerated() {
            guard Recipe.isPackageName(name) else {
                throw fail(item, "drivers.firmware", "'\(name)' is not a Debian package name (such as firmware-realtek)")
            }
            lines["drivers.firmware[\(index)]"] = item.mark?.line
        }
        return names
    }

    /// `drivers.inventory`: reads the file (relative to the recipe's folder) and keeps its network and
    /// storage controllers. A file that is neither an inventory.json nor lspci -nn output is an error
    /// naming its line.
    func inventoryFile(_ node: Node) throws -> (String, [HardwareListing.Device]) {
        let path = resolve(try string(node, "drivers.inventory"))
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw fail(node, "drivers.inventory", "cannot read \(path) (\(error.localizedDescription))")
        }
        let listing: HardwareListing
        do {
            listing = try HardwareListing.parse(text)
        } catch {
            throw fail(node, "drivers.inventory", "\(path): \(error)")
        }
        let controllers = listing.controllers
        guard !controllers.isEmpty else {
            throw fail(node, "drivers.inventory", "\(path) lists no network or storage controller (PCI class 02 or 01)")
        }
        return (path, controllers)
    }
}

extension Recipe {
    /// Debian policy 5.6.1: at least two characters, lower-case letters, digits, `+`, `-` and `.`,
    /// starting with a letter or digit.
    static func isPackageName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        func alnum(_ c: UInt8) -> Bool { (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) }
        guard bytes.count >= 2, alnum(bytes[0]) else { return false }
        return bytes.allSatisfy { alnum($0) || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") }
    }
}

/// The closest candidate by edit distance, if it is close enough to be a likely typo.
func closest(_ word: String, in candidates: [String]) -> String? {
    let ranked = candidates.map { ($0, editDistance(word, $0)) }.min { $0.1 < $1.1 }
    guard let (best, distance) = ranked, distance <= max(2, word.count / 3) else { return nil }
    return best
}

func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a.utf8), b = Array(b.utf8)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var row = Array(0...b.count)
    for i in 1...a.count {
        var previous = row[0]
        row[0] = i
        for j in 1...b.count {
            let current = row[j]
            row[j] = a[i - 1] == b[j - 1] ? previous : 1 + min(previous, row[j], row[j - 1])
            previous = current
        }
    }
    return row[b.count]
}
