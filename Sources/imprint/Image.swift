import ArgumentParser
import Foundation
import ImprintBuilder
import ImprintCore

extension Imprint {
    struct Image: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import, list and remove golden images.",
            subcommands: [Add.self, List.self, Remove.self, Demo.self, Accept.self])
    }
}

extension Imprint.Image {
    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import a golden image (raw disk or tar, uncompressed or .zst/.xz/.gz) into the store.",
            discussion: "Stores the file content-addressed under blobs/sha256/ and writes images/NAME.json.")

        @Argument(help: ArgumentHelp("The image file.", valueName: "FILE"))
        var file: String

        @Option(help: ArgumentHelp("The image's name in the store.", valueName: "NAME"))
        var name: String

        @Option(help: ArgumentHelp("Recompress the stored blob (only zstd).", valueName: "zstd"))
        var compress: String?

        @Flag(help: "Replace an existing image of that name.")
        var force = false

        @OptionGroup var store: StoreOptions

        func validate() throws {
            if let compress, compress != "zstd" { throw ValidationError("--compress takes only zstd, not '\(compress)'") }
        }

        func run() throws {
            do {
                let store = try self.store.open(create: true)
                let bar = ProgressBar(enabled: isatty(2) == 1)
                let added = try store.addImage(file: file, name: name, recompress: compress != nil, force: force) { event in
                    switch event {
                    case .stage(let line): bar.clear(); say("image add: \(line)")
                    case .progress(let done, let total): bar.show(done: done, total: total)
                    }
                }
                bar.clear()
                let d = added.descriptor
                var line = "\(d.name): \(d.format.rawValue), \(humanBytes(d.uncompressedSize)) (\(d.compression.rawValue) blob \(humanBytes(d.size)))"
                if let map = d.blockMap { line += ", \(humanBytes(map.dataBytes)) of data in \(map.ranges.count) range\(map.ranges.count == 1 ? "" : "s")" }
                print(line + ", blob \(d.blob)")
            } catch let error as StoreError {
                throw CommandFailure("image add failed: \(error)")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the store's images, or with --incoming the captures waiting for image accept.")

        @Flag(help: "Print the image descriptors as a JSON array.")
        var json = false

        @Flag(help: "List the captures in incoming/ instead.")
        var incoming = false

        @OptionGroup var store: StoreOptions

        func run() throws {
            let store: Store
            do { store = try self.store.open(create: false) } catch let error as StoreError { throw CommandFailure("\(error)") }
            if incoming { return listIncoming(store) }
            let images = store.images()
            if json {
                let values: [JSONValue] = images.map { item in
                    switch item.descriptor {
                    case .success(let d): return d.json
                    case .failure(let error): return ["name": .string(item.name), "error": .string(error.description)]
                    }
                }
                print(JSONValue.array(values).serialized(pretty: true))
                return
            }
            var table = TextTable(header: ["NAME", "FORMAT", "SIZE", "COMPRESSION", "BLOB SIZE", "BLOB"])
            for item in images {
                switch item.descriptor {
                case .success(let d):
                    table.add([d.name, d.format.rawValue, humanBytes(d.uncompressedSize), d.compression.rawValue, humanBytes(d.size), String(d.blob.prefix(16))])
                case .failure(let error):
                    table.add([item.name, "?", "?", "?", "?", "unreadable: \(error)"])
                }
            }
            print(table.rendered, terminator: "")
        }

        /// incoming/: each capture's name, device, state, sizes; `complete` when `image accept` can take it.
        private func listIncoming(_ store: Store) {
            let root = "\(store.root)/incoming"
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
            var rows: [(name: String, capture: IncomingCapture?, problem: String?)] = []
            for name in names {
                do { rows.append((name, try IncomingCapture.load(folder: "\(root)/\(name)", name: name), nil)) } catch {
                    rows.append((name, nil, "\(error)"))
                }
            }
            if json {
                let values: [JSONValue] = rows.map { row in
                    guard let c = row.capture else { return ["name": .string(row.name), "complete": false, "problem": .string(row.problem ?? "?")] }
                    return ["name": .string(c.name), "complete": true, "mac": .string(c.mac), "size": .number(Double(c.uploadSize)),
                            "sha256": .string(c.uploadSha256), "uncompressedSize": .number(Double(c.uncompressedSize)),
                            "uncompressedSha256": .string(c.uncompressedSha256)]
                }
                print(JSONValue.array(values).serialized(pretty: true))
                return
            }
            var table = TextTable(header: ["NAME", "MAC", "SIZE", "BLOB SIZE", "STATE"])
            for row in rows {
                if let c = row.capture {
                    table.add([c.name, c.mac, humanBytes(c.uncompressedSize), humanBytes(c.uploadSize), "complete: imprint image accept \(c.name)"])
                } else {
                    table.add([row.name, "-", "-", "-", row.problem ?? "?"])
                }
            }
            print(table.rendered, terminator: "")
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove an image; its blob goes too unless another image uses it.")

        @Argument(help: ArgumentHelp("The image's name.", valueName: "NAME"))
        var name: String

        @Flag(help: "Remove it even if devices are assigned it.")
        var force = false

        @OptionGroup var store: StoreOptions

        func run() throws {
            do {
                let store = try self.store.open(create: false)
                let blobGone = try store.removeImage(name, force: force)
                print("removed image \(name)\(blobGone ? " and its blob" : "; its blob stays, another image uses it")")
            } catch let error as StoreError {
                throw CommandFailure("image remove failed: \(error)")
            }
        }
    }
}

/// A one-line progress bar on stderr, drawn only on a terminal.
final class ProgressBar {
    private let enabled: Bool
    private var drawn = false
    private let started = Date()

    init(enabled: Bool) { self.enabled = enabled }

    func show(done: Int, total: Int) {
        guard enabled, total > 0 else { return }
        let fraction = min(1, Double(done) / Double(total))
        let width = 30
        let filled = Int(fraction * Double(width))
        let elapsed = Date().timeIntervalSince(started)
        let rate = elapsed > 0 ? Int(Double(done) / elapsed) : 0
        let line = "[\(String(repeating: "#", count: filled))\(String(repeating: " ", count: width - filled))] \(Int(fraction * 100))% \(humanBytes(done)) of \(humanBytes(total)), \(humanBytes(rate))/s"
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
        drawn = true
    }

    func clear() {
        guard drawn else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
        drawn = false
    }
}
