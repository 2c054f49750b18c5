import Foundation
import ImprintCore

extension Store {
    /// What `addImage` did.
    public struct AddedImage: Sendable {
        public var descriptor: ImageDescriptor
        /// The blob was already in the store (another image, or an earlier add, holds the same bytes).
        public var reusedBlob: Bool
    }

    /// Imports `file` as image `name`: the blob under `blobs/sha256/` and `images/<name>.json`.
    ///
    /// `recompress`: store the image zstd-compressed, through libarchive's zstd write filter
    /// (a zstd input is stored as it is). A damaged or truncated file fails before anything
    /// becomes visible, and a store this call created is removed again.
    @discardableResult
    public func addImage(file: String, name: String, recompress: Bool = false, force: Bool = false,
                         progress: @escaping (ImportEvent) -> Void = { _ in }) throws -> AddedImage {
        if let problem = ImageDescriptor.problem(withName: name) {
            throw StoreError("image name '\(name)' \(problem): choose another --name")
        }
        let input = Glibc.open(file, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw StoreError("cannot open \(file): \(FileIO.errnoText())") }
        defer { close(input) }
        var info = stat()
        guard fstat(input, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            throw StoreError("\(file) is not a regular file: give a disk image file (raw, .zst, .xz, .gz) or a tar archive")
        }
        guard info.st_size > 0 else { throw StoreError("\(file) is empty: give a disk image or a tar archive") }
        let previous = try? loadImage(name)
        if FileIO.exists(imageDescriptor(name)) && !force {
            throw StoreError("image '\(name)' exists: remove it first (imprint image remove \(name)) or pass --force to replace it")
        }

        // The keys first: a key that cannot be used refuses the add before a byte is stored.
        _ = try keys.manifestKey()

        var magic = [UInt8](repeating: 0, count: Compression.magicLength)
        let got = magic.withUnsafeMutableBytes { pread(input, $0.baseAddress, $0.count, 0) }
        let detected = Compression.detect(magic.prefix(max(got, 0)))
        let storeZstd = recompress && detected != .zstd

        let created = !exists
        var done = false
        defer { if !done && created { try? FileIO.removeTree(root) } }
        try makeFolders(["blobs", "blobs/sha256", "images"])

        let temporary = "\(blobsDirectory)/.incoming.\(getpid()).\(UInt32.random(in: 0...UInt32.max)).partial"
        let output = Glibc.open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard output >= 0 else { throw StoreError("cannot create \(temporary): \(FileIO.errnoText())") }
        defer { unlink(temporary) }  // after the rename below, this finds nothing
        let result: ImageImport.Result
        do {
            defer { close(output) }
            progress(.stage("reading \(file) (\(detected == .none ? "uncompressed" : detected.rawValue), \(info.st_size) bytes)\(storeZstd ? ", recompressing with zstd" : "")"))
            let importer = try ImageImport(input: input, inputPath: file, inputSize: Int(info.st_size), output: output,
                                           outputPath: temporary, progress: progress)
            result = try importer.run(recompress: storeZstd, uncompressed: detected == .none)
            guard fchmod(output, 0o644) == 0 else { throw StoreError("cannot set the mode of \(temporary): \(FileIO.errnoText())") }
        }

        let blobPath = blob(result.blobSha256)
        var reused = false
        if FileIO.exists(blobPath) {
            reused = true
        } else {
            guard rename(temporary, blobPath) == 0 else {
                throw StoreError("cannot rename \(temporary) to \(blobPath): \(FileIO.errnoText())")
            }
        }
        progress(.stage("\(reused ? "reused" : "stored") blob \(result.blobSha256) (\(result.blobSize) bytes)"))

        let descriptor = ImageDescriptor(
            name: name, blob: result.blobSha256, uncompressedSha256: result.uncompressedSha256, format: result.format,
            compression: storeZstd ? .zstd : detected, size: result.blobSize, uncompressedSize: result.uncompressedSize,
            blockMap: result.format == .raw ? result.blockMap : nil)
        try writeSignedManifest(Array(descriptor.serialized.utf8), to: imageDescriptor(name), mode: 0o644)
        done = true
        progress(.stage("wrote images/\(name).json: \(descriptor.format.rawValue), \(descriptor.uncompressedSize) bytes uncompressed"))
        if let previous, previous.blob != descriptor.blob { removeBlobIfUnused(previous.blob) }
        return AddedImage(descriptor: descriptor, reusedBlob: reused)
    }

    /// `images/<name>.json`.
    public func loadImage(_ name: String) throws -> ImageDescriptor {
        guard ImageDescriptor.problem(withName: name) == nil, let text = FileIO.readText(imageDescriptor(name)) else {
            let known = imageNames()
            throw StoreError("no image '\(name)' in \(root): \(known.isEmpty ? "add one with imprint image add FILE --name \(name)" : "known images: \(known.joined(separator: ", "))")")
        }
        do {
            return try ImageDescriptor.parse(text)
        } catch {
            throw StoreError("\(imageDescriptor(name)): \(error): re-add the image with imprint image add --force")
        }
    }

    /// The names under `images/`, sorted.
    public func imageNames() -> [String] {
        FileIO.list(imagesDirectory).filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }.map { String($0.dropLast(5)) }
    }

    /// Every image descriptor; unreadable ones are reported with their error.
    public func images() -> [(name: String, descriptor: Result<ImageDescriptor, StoreError>)] {
        imageNames().map { name in
            do { return (name, .success(try loadImage(name))) } catch let error as StoreError {
                return (name, .failure(error))
            } catch { return (name, .failure(StoreError("\(error)"))) }
        }
    }

    /// Removes `images/<name>.json`, and its blob unless another image uses it. Devices assigned the
    /// image are refused unless `force`. Returns whether the blob went too.
    @discardableResult
    public func removeImage(_ name: String, force: Bool = false) throws -> Bool {
        let descriptor = try loadImage(name)
        if !force {
            let users = devices().filter { $0.assignment?.imageName == name }.map(\.mac.hyphenated)
            if !users.isEmpty {
                let shown = users.prefix(5).joined(separator: ", ") + (users.count > 5 ? " and \(users.count - 5) more" : "")
                throw StoreError("image '\(name)' is assigned to \(users.count) device\(users.count == 1 ? "" : "s") (\(shown)): remove or reassign them, or pass --force")
            }
        }
        guard unlink(imageDescriptor(name)) == 0 else {
            throw StoreError("cannot remove \(imageDescriptor(name)): \(FileIO.errnoText())")
        }
        unlink(imageDescriptor(name) + ".sig")
        return removeBlobIfUnused(descriptor.blob)
    }

    /// Removes a blob no image descriptor names; returns whether it did.
    @discardableResult
    func removeBlobIfUnused(_ hex: String) -> Bool {
        // An unreadable descriptor might name it: keep the blob then.
        let used = images().contains { if case .success(let d) = $0.descriptor { return d.blob == hex } else { return true } }
        guard !used, isSHA256Hex(hex) else { return false }
        return unlink(blob(hex)) == 0
    }
}
