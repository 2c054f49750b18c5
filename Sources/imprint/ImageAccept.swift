import ArgumentParser
import Foundation
import ImprintBuilder
import ImprintCore

extension Imprint.Image {
    struct Accept: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Publish a capture waiting in incoming/ as an image.",
            discussion: """
                Checks incoming/NAME (the upload's digest and size as the server recorded them, and the descriptor the \
                agent sent: uncompressed SHA-256, size, block map) and imports the blob exactly as image add would: \
                blobs/sha256/<hex> and images/NAME.json. incoming/NAME goes once published (docs/capture.md).
                """)

        @Argument(help: ArgumentHelp("The capture's name.", valueName: "NAME"))
        var name: String

        @Flag(help: "Replace an existing image of that name.")
        var force = false

        @OptionGroup var store: StoreOptions

        func run() throws {
            let store: Store
            do { store = try self.store.open(create: false) } catch let error as StoreError { throw CommandFailure("\(error)") }
            if let problem = ImageDescriptor.problem(withName: name) { throw CommandFailure("image accept failed: name '\(name)' \(problem)") }
            let folder = "\(store.root)/incoming/\(name)"
            let capture: IncomingCapture
            do { capture = try IncomingCapture.load(folder: folder, name: name) } catch let error as CommandFailure {
                throw CommandFailure("image accept failed: \(error)")
            }
            if FileManager.default.fileExists(atPath: store.imageDescriptor(name)) && !force {
                throw CommandFailure("image accept failed: image '\(name)' exists: remove it (imprint image remove \(name)) or pass --force")
            }
            let added: Store.AddedImage
            do {
                added = try store.addImage(file: "\(folder)/blob", name: name, force: force)
            } catch let error as StoreError {
                throw CommandFailure("image accept failed: \(error)")
            }
            let d = added.descriptor
            var problems: [String] = []
            if d.blob != capture.uploadSha256 { problems.append("the blob's sha256 is \(d.blob), the server recorded \(capture.uploadSha256) as it arrived") }
            if d.size != capture.uploadSize { problems.append("the blob is \(d.size) bytes, the server received \(capture.uploadSize)") }
            if d.compression != .zstd { problems.append("the blob is \(d.compression.rawValue), a capture is zstd") }
            if d.uncompressedSha256 != capture.uncompressedSha256 { problems.append("the disk's sha256 is \(d.uncompressedSha256), the agent read \(capture.uncompressedSha256)") }
            if d.uncompressedSize != capture.uncompressedSize { problems.append("the disk is \(d.uncompressedSize) bytes, the agent read \(capture.uncompressedSize)") }
            if let map = capture.blockMap, let found = d.blockMap, map.ranges != found.ranges || map.blockSize != found.blockSize {
                problems.append("the block map differs from the agent's")
            }
            guard problems.isEmpty else {
                _ = try? store.removeImage(name, force: true)
                throw CommandFailure("image accept failed: incoming/\(name) does not check: \(problems.joined(separator: "; ")); capture it again (imprint device capture)")
            }
            try? FileManager.default.removeItem(atPath: folder)
            var line = "\(d.name): accepted capture from \(capture.mac), \(humanBytes(d.uncompressedSize)) (zstd blob \(humanBytes(d.size)))"
            if let map = d.blockMap { line += ", \(humanBytes(map.dataBytes)) of data in \(map.ranges.count) range\(map.ranges.count == 1 ? "" : "s")" }
            print(line + ", blob \(d.blob)")
        }
    }
}

/// A capture waiting in `incoming/<name>/`: `blob`, `upload.json` (the server's record) and `descriptor.json` (the agent's).
struct IncomingCapture {
    var name: String
    var mac: String
    var uploadSha256: String
    var uploadSize: Int
    var uncompressedSha256: String
    var uncompressedSize: Int
    var blockMap: BlockMap?

    static func load(folder: String, name: String) throws -> IncomingCapture {
        guard FileManager.default.fileExists(atPath: folder) else {
            throw CommandFailure("no capture '\(name)' waits in incoming/ (imprint image list --incoming shows what does)")
        }
        guard FileManager.default.fileExists(atPath: "\(folder)/blob"),
              let record = FileManager.default.contents(atPath: "\(folder)/upload.json") else {
            throw CommandFailure("incoming/\(name) holds no complete upload (interrupted?): capture it again")
        }
        guard let descriptor = FileManager.default.contents(atPath: "\(folder)/descriptor.json") else {
            throw CommandFailure("incoming/\(name) has no descriptor: the agent did not finish; capture it again")
        }
        do {
            let upload = try JSONValue.parse(String(decoding: record, as: UTF8.self))
            let sent = try JSONValue.parse(String(decoding: descriptor, as: UTF8.self))
            guard let sha = upload["sha256"]?.stringValue, let size = upload["size"]?.intValue,
                  let mac = upload["mac"]?.stringValue,
                  let diskSha = sent["uncompressedSha256"]?.stringValue, let diskSize = sent["uncompressedSize"]?.intValue else {
                throw CommandFailure("incoming/\(name): upload.json or descriptor.json lacks a field")
            }
            var map: BlockMap?
            if let object = sent["blockMap"], let blockSize = object["blockSize"]?.intValue, let list = object["ranges"]?.arrayValue {
                var ranges: [BlockMap.Range] = []
                for item in list {
                    guard let pair = item.arrayValue, pair.count == 2, let offset = pair[0].intValue, let length = pair[1].intValue else {
                        throw CommandFailure("incoming/\(name): descriptor.json's blockMap holds something not an [offset, length] pair")
                    }
                    ranges.append(.init(offset: offset, length: length))
                }
                map = BlockMap(blockSize: blockSize, size: diskSize, ranges: ranges)
            }
            return IncomingCapture(name: name, mac: mac, uploadSha256: sha, uploadSize: size, uncompressedSha256: diskSha,
                                   uncompressedSize: diskSize, blockMap: map)
        } catch let error as JSONError {
            throw CommandFailure("incoming/\(name): \(error)")
        }
    }
}
