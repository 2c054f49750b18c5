import Foundation
import ImprintCore
import Testing

@testable import ImprintBuilder

@Suite("Store images")
struct StoreImageTests {
    @Test(arguments: Compression.allCases)
    func addsEachCompression(compression: Compression) throws {
        let f = try StoreFixture()
        defer { f.remove() }
        let raw = try f.rawImage()
        let file = try f.compress("\(f.work)/disk.img", compression)
        let fileBytes = try f.bytes(file)
        #expect(Compression.detect(fileBytes) == compression)

        let added = try f.store.addImage(file: file, name: "disk")
        let d = added.descriptor
        #expect(d.compression == compression)
        #expect(d.format == .raw)
        #expect(d.blob == (sha256Hex(fileBytes)), "the blob is the file as given")
        #expect(d.size == fileBytes.count)
        #expect(d.uncompressedSha256 == (sha256Hex(raw)))
        #expect(d.uncompressedSize == raw.count)
        #expect(d.blockMap?.ranges == [
            .init(offset: 0, length: 65536), .init(offset: 262_144, length: 65536), .init(offset: 983_040, length: 65536),
        ])
        #expect(try f.bytes(f.store.blob(d.blob)) == fileBytes)
        #expect(try f.mode(f.store.blob(d.blob)) == 0o644)
        #expect(try f.mode(f.store.imageDescriptor("disk")) == 0o644)
        #expect(try ImageDescriptor.parse(String(decoding: f.bytes(f.store.imageDescriptor("disk")), as: UTF8.self)) == d)
        #expect(f.storeFiles().sorted() == ["blobs/sha256/\(d.blob)", "images/disk.json", "images/disk.json.sig", "keys/manifest.pub"], "no temporary file is left")
    }

    @Test(arguments: [Compression.zstd, .xz, .gzip])
    func truncatedFileFailsAndLeavesNothing(compression: Compression) throws {
        let f = try StoreFixture()
        defer { f.remove() }
        // Random data does not compress, so cutting the file in half cuts the stream.
        var generator = SystemRandomNumberGenerator()
        let random = (0..<600_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        try Data(random).write(to: URL(fileURLWithPath: "\(f.work)/random.img"))
        let full = try f.bytes(try f.compress("\(f.work)/random.img", compression))
        try Data(full.prefix(full.count / 2)).write(to: URL(fileURLWithPath: "\(f.work)/cut"))
        let error = #expect(throws: StoreError.self) { try f.store.addImage(file: "\(f.work)/cut", name: "cut") }
        #expect(error?.description.contains("damaged or truncated") == true, "\(String(describing: error))")
        #expect(!FileManager.default.fileExists(atPath: "\(f.work)/store"), "the store this call created is gone")

        // In an existing store, nothing of it stays either.
        try f.fakeProfile()
        #expect(throws: StoreError.self) { try f.store.addImage(file: "\(f.work)/cut", name: "cut") }
        #expect(f.storeFiles().allSatisfy { $0.hasPrefix("boot/") }, "\(f.storeFiles())")
    }

    @Test func corruptZstdFails() throws {
        let f = try StoreFixture()
        defer { f.remove() }
        var generator = SystemRandomNumberGenerator()
        try Data((0..<300_000).map { _ in UInt8.random(in: 0...255, using: &generator) }).write(to: URL(fileURLWithPath: "\(f.work)/r.img"))
        var bytes = try f.bytes(try f.compress("\(f.work)/r.img", .zstd))
        for i in 1000..<1100 { bytes[i] ^= 0x5A }
        try Data(bytes).write(to: URL(fileURLWithPath: "\(f.work)/bad.zst"))
        let error = #expect(throws: StoreError.self) { try f.store.addImage(file: "\(f.work)/bad.zst", name: "bad") }
        #expect(error?.description.contains("bad.zst") == true)
        #expect(f.storeFiles().isEmpty)
    }

    @Test func recompressesWithZstd() throws {
        let f = try StoreFixture()
        defer { f.remove() }
        let raw = try f.rawImage()
        let gz = try f.compress("\(f.work)/disk.img", .gzip)
        let d = try f.store.addImage(file: gz, name: "z", recompress: true).descriptor
        #expect(d.compression == .zstd)
        let blob = try f.bytes(f.store.blob(d.blob))
        #expect(Compression.detect(blob) == .zstd)
        #expect(d.size == blob.count)
        #expect(d.blob == (sha256Hex(blob)))
        #expect(d.uncompressedSha256 == (sha256Hex(raw)))
        try f.tool(["sh", "-c", "zstd -q -d -c \(f.store.blob(d.blob)) > back.img"])
        #expect(try f.bytes("\(f.work)/back.img") == raw, "the zstd tool reads the blob back to the image")
    }

    @Test func tarIsATreeWithoutBlockMap() throws {
        let f = try StoreFixture()
        defer { f.remove() }
        try FileManager.default.createDirectory(atPath: "\(f.work)/tree/etc", withIntermediateDirectories: true)
        try Data("hello\n".utf8).write(to: URL(fileURLWithPath: "\(f.work)/tree/etc/motd"))
        try f.tool(["tar", "-C", "tree", "-cJf", "tree.tar.xz", "."])
        let d = try f.store.addImage(file: "\(f.work)/tree.tar.xz", name: "tree").descriptor
        #expect(d.format == .tar)
        #expect(d.compression == .xz)
        #expect(d.blockMap == nil)
    }

    @Test func identicalBlobIsSharedAndOutlivesOneImage() throws {
        let f = try StoreFixture()
        defer { f.remove() }
        try f.rawImage()
        let a = try f.store.addImage(file: "\(f.work)/disk.img", name: "a")
        let b = try f.store.addImage(file: "\(f.work)/disk.img", name: "b")
        #expect(!a.reusedBlob)
        #expect(b.reusedBlob)
        #expect(a.descriptor.blob == b.descriptor.blob)
        #expect(f.store.imageNames() == ["a", "b"])
        #expect(try f.store.removeImage("a") == false)
        #expect(FileManager.default.fileExists(atPath: f.store.blob(b.descriptor.blob)))
        #expect(try f.store.removeImage("b") == true)
        #expect(f.storeFiles() == ["keys/manifest.pub"])
    }

    @Test func existingNameNeedsForce() throws {
        let f = try StoreFixture()
        defer { f.remove() }
        try f.rawImage()
        let first = try f.store.addImage(file: "\(f.work)/disk.img", name: "a").descriptor
        let error = #expect(throws: StoreError.self) { try f.store.addImage(file: "\(f.work)/disk.img", name: "a") }
        #expect(error?.description.contains("--force") == true)
        try f.rawImage(dataAt: [65536])
        let second = try f.store.addImage(file: "\(f.work)/disk.img", name: "a", force: true).descriptor
        #expect(second.blob != first.blob)
        #expect(!FileManager.default.fileExists(atPath: f.store.blob(first.blob)), "the replaced image's unused blob goes")
    }

    @Test(arguments: [("../x", "may hold only"), (".x", "must not start"), ("", "1 to 128")])
    func badNamesAreRefusedBeforeAnythingIsWritten(name: String, words: String) throws {
        let f = try StoreFixture()
        defer { f.remove() }
        try f.rawImage()
        let error = #expect(throws: StoreError.self) { try f.store.addImage(file: "\(f.work)/disk.img", name: name) }
        #expect(error?.description.contains(words) == true, "\(String(describing: error))")
        #expect(!FileManager.default.fileExists(atPath: "\(f.work)/store"))
    }

    @Test func missingAndEmptyFilesAreRefused() throws {
        let f = try StoreFixture()
        defer { f.remove() }
        #expect(throws: StoreError.self) { try f.store.addImage(file: "\(f.work)/none.img", name: "x") }
        #expect(FileManager.default.createFile(atPath: "\(f.work)/empty.img", contents: Data()))
        let error = #expect(throws: StoreError.self) { try f.store.addImage(file: "\(f.work)/empty.img", name: "x") }
        #expect(error?.description.contains("empty") == true)
        #expect(!FileManager.default.fileExists(atPath: "\(f.work)/store"))
    }
}

@Suite("Store layout")
struct StoreLayoutTests {
    @Test func refusesAFolderThatIsNotAStore() throws {
        let f = try StoreFixture()
        defer { f.remove() }
        try FileManager.default.createDirectory(atPath: "\(f.work)/home", withIntermediateDirectories: true)
        try Data("x".utf8).write(to: URL(fileURLWithPath: "\(f.work)/home/notes.txt"))
        let error = #expect(throws: StoreError.self) { try Store.open("\(f.work)/home", create: true) }
        #expect(error?.description.contains("is not an imprint store") == true)
        #expect(FileManager.default.subpaths(atPath: "\(f.work)/home") == ["notes.txt"])

        #expect(throws: StoreError.self) { try Store.open("\(f.work)/home/notes.txt", create: true) }
        let missing = #expect(throws: StoreError.self) { try Store.open("\(f.work)/nothing", create: false) }
        #expect(missing?.description.contains("imprint build") == true)

        try FileManager.default.createDirectory(atPath: "\(f.work)/empty", withIntermediateDirectories: true)
        #expect(try Store.open("\(f.work)/empty/", create: false).root == "\(f.work)/empty")
        try f.fakeProfile()
        #expect(try Store.open("\(f.work)/store", create: false).builtProfileNames() == ["qemu-virtio"])
    }
}
