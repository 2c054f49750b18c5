import Glibc
import Hummingbird
import ImprintCore
import ImprintDigest
import NIOCore
import NIOPosix

/// Capture uploads (docs/capture.md): `PUT uploads/<mac>/<name>` (the zstd blob) and
/// `PUT uploads/<mac>/<name>/descriptor` (what the agent knows of the disk), each with the
/// device's token, accepted only when the device's assignment asks for a capture named `<name>`.
/// Both land in `incoming/<name>/`, which is never served; the blob is written under a temporary
/// name, hashed as it arrives, and renamed to `blob` only once whole, so an interrupted or failed
/// upload leaves nothing to accept.
extension HTTPStoreResponder {
    /// Largest descriptor accepted (a block map of a large, fragmented disk).
    static let maxUploadDescriptorBytes = 16 << 20

    func receiveUpload(_ request: Request, segments: [String]) async -> Outcome {
        guard segments.count == 3 || (segments.count == 4 && segments[3] == "descriptor") else {
            return Self.status(.methodNotAllowed, note: "PUT uploads/<mac>/<name> or uploads/<mac>/<name>/descriptor", headers: [.allow: "GET, HEAD"])
        }
        let mac = segments[1]
        let name = segments[2]
        guard let parsed = try? MACAddress(parsing: mac), parsed.hyphenated == mac else {
            return Self.status(.badRequest, note: "\(Self.printable(mac)) is not a lower-case hyphenated MAC")
        }
        if let problem = ImageDescriptor.problem(withName: name) {
            return Self.status(.badRequest, note: "image name \(Self.printable(name)) \(problem)")
        }
        if let refusal = deviceTokenRefusal(request.head, mac: mac) { return refusal }
        guard let text = Self.captureReadText("\(root)/devices/\(mac)/assignment.json"),
              let assignment = try? DeviceAssignment.parse(text) else {
            return Self.status(.forbidden, note: "\(mac) has no readable assignment")
        }
        guard assignment.mode == .capture, assignment.imageName == name else {
            return Self.status(.forbidden, note: "\(mac) is not assigned a capture named \(name)")
        }
        let folder = "\(root)/incoming/\(name)"
        let root = self.root
        do {
            try await NIOThreadPool.singleton.runIfActive {
                try Self.captureMakeFolder("\(root)/incoming", mode: 0o700)
                try Self.captureMakeFolder(folder, mode: 0o700)
            }
        } catch {
            return Self.status(.internalServerError, note: "\(error)")
        }
        if segments.count == 4 {
            return await receiveUploadDescriptor(request, folder: folder, mac: mac)
        }
        return await receiveUploadBlob(request, folder: folder, mac: mac, name: name)
    }

    private func receiveUploadDescriptor(_ request: Request, folder: String, mac: String) async -> Outcome {
        let (bytes, refusal) = await Self.boundedBody(request, limit: Self.maxUploadDescriptorBytes)
        if let refusal { return refusal }
        do {
            try await NIOThreadPool.singleton.runIfActive {
                let fd = try Self.captureTemporary(in: folder, name: "descriptor.json")
                try Self.captureFinish(fd: fd.fd, temporary: fd.path, bytes: bytes, final: "\(folder)/descriptor.json")
            }
        } catch {
            return Self.status(Self.captureIsFull(error) ? HTTPResponse.Status(code: 507, reasonPhrase: "Insufficient Storage") : .internalServerError, note: "\(error)")
        }
        return Outcome(response: Response(status: .noContent), bytes: 0, note: "capture descriptor from \(mac), \(bytes.readableBytes) bytes")
    }

    private func receiveUploadBlob(_ request: Request, folder: String, mac: String, name: String) async -> Outcome {
        let file: (fd: Int32, path: String)
        do {
            file = try await NIOThreadPool.singleton.runIfActive {
                // A new upload replaces whatever an earlier one left: its descriptor goes with it.
                unlink("\(folder)/descriptor.json")
                unlink("\(folder)/upload.json")
                unlink("\(folder)/blob")
                return try Self.captureTemporary(in: folder, name: "blob")
            }
        } catch {
            return Self.status(.internalServerError, note: "\(error)")
        }
        var kept = false
        defer {
            close(file.fd)
            if !kept { unlink(file.path) }
        }
        guard let hasher = SHA256() else { return Self.status(.internalServerError, note: "OpenSSL could not start a SHA-256") }
        var size = 0
        do {
            for try await part in request.body {
                let chunk = part
                chunk.withUnsafeReadableBytes { hasher.update($0) }
                try await NIOThreadPool.singleton.runIfActive {
                    try chunk.withUnsafeReadableBytes { raw in try Self.captureWriteAll(file.fd, raw, path: file.path) }
                }
                size += chunk.readableBytes
            }
        } catch let error as HTTPWriteError {
            configuration.log("\(configuration.logPrefix) capture upload \(mac)/\(name) failed after \(size) bytes: \(error); the partial file is removed")
            return Self.status(error.full ? HTTPResponse.Status(code: 507, reasonPhrase: "Insufficient Storage") : .internalServerError, note: "\(error)")
        } catch {
            configuration.log("\(configuration.logPrefix) capture upload \(mac)/\(name) interrupted after \(size) bytes: \(error); the partial file is removed")
            return Self.status(.badRequest, note: "upload interrupted after \(size) bytes: \(error)")
        }
        let digest = hasher.finish()
        let record: JSONValue = ["version": 1, "mac": .string(mac), "name": .string(name), "sha256": .string(digest), "size": .number(Double(size))]
        var recordBytes = ByteBuffer()
        recordBytes.writeString(record.serialized(pretty: true) + "\n")
        let bytes = recordBytes
        do {
            try await NIOThreadPool.singleton.runIfActive {
                guard fsync(file.fd) == 0 else { throw HTTPWriteError("cannot sync \(file.path): errno \(errno)", full: errno == ENOSPC) }
                guard rename(file.path, "\(folder)/blob") == 0 else { throw HTTPWriteError("cannot rename \(file.path): errno \(errno)") }
            }
            kept = true
            try await NIOThreadPool.singleton.runIfActive {
                let recordFile = try Self.captureTemporary(in: folder, name: "upload.json")
                try Self.captureFinish(fd: recordFile.fd, temporary: recordFile.path, bytes: bytes, final: "\(folder)/upload.json")
            }
        } catch {
            unlink("\(folder)/blob")
            return Self.status(Self.captureIsFull(error) ? HTTPResponse.Status(code: 507, reasonPhrase: "Insufficient Storage") : .internalServerError, note: "\(error)")
        }
        return Outcome(response: Response(status: .noContent), bytes: 0, note: "capture \(name) from \(mac), \(size) bytes, sha256 \(digest)")
    }

    /// Nil when the request carries `mac`'s token, else the refusal (as for reports).
    func deviceTokenRefusal(_ request: HTTPRequest, mac: String) -> Outcome? {
        guard let token = Self.bearer(request.headerFields[.authorization]) else {
            return Self.status(.unauthorized, note: "no token", headers: [.wwwAuthenticate: "Bearer realm=\"imprint\""])
        }
        guard let stored = Self.readSmall("\(root)/secrets/devices/\(mac).sha256") else {
            return Self.status(.forbidden, note: "no token is stored for \(mac)")
        }
        let expected = Array(String(decoding: stored, as: UTF8.self).trimmingSpaces.trimmingNewlines.utf8)
        guard expected.count == 64, constantTimeEqual(Array(SHA256.hex(of: Array(token.utf8)).utf8), expected) else {
            return Self.status(.forbidden, note: "wrong token for \(mac)")
        }
        return nil
    }

    static func captureIsFull(_ error: any Error) -> Bool { (error as? HTTPWriteError)?.full == true }

    static func captureReadText(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while bytes.count < (4 << 20) {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            bytes.append(contentsOf: buffer[0..<n])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func captureMakeFolder(_ path: String, mode: mode_t) throws {
        if mkdir(path, mode) != 0 && errno != EEXIST { throw HTTPWriteError("cannot create \(path): errno \(errno)") }
        var info = stat()
        guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else { throw HTTPWriteError("\(path) is not a folder") }
    }

    static func captureTemporary(in folder: String, name: String) throws -> (fd: Int32, path: String) {
        let path = "\(folder)/.\(name).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).partial"
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw HTTPWriteError("cannot create \(path): errno \(errno)", full: errno == ENOSPC) }
        return (fd, path)
    }

    static func captureWriteAll(_ fd: Int32, _ raw: UnsafeRawBufferPointer, path: String) throws {
        var done = 0
        while done < raw.count, let base = raw.baseAddress {
            let n = write(fd, base + done, raw.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                let full = errno == ENOSPC || errno == EDQUOT
                throw HTTPWriteError(full ? "no space left writing \(path): free space on the store's disk, then capture again" : "cannot write \(path): errno \(errno)", full: full)
            }
            done += n
        }
    }

    /// Writes `bytes` to the open temporary, syncs, closes and renames it to `final`; on any error the temporary goes.
    static func captureFinish(fd: Int32, temporary: String, bytes: ByteBuffer, final: String) throws {
        var ok = false
        defer { if !ok { unlink(temporary) } }
        do {
            defer { close(fd) }
            try bytes.withUnsafeReadableBytes { raw in try captureWriteAll(fd, raw, path: temporary) }
            guard fsync(fd) == 0 else { throw HTTPWriteError("cannot sync \(temporary): errno \(errno)", full: errno == ENOSPC) }
        }
        guard rename(temporary, final) == 0 else { throw HTTPWriteError("cannot rename \(temporary): errno \(errno)") }
        ok = true
    }
}

extension HTTPWriteError {
    init(_ description: String, full: Bool) {
        self.init(full ? "disk full: " + description : description)
    }

    var full: Bool { description.hasPrefix("disk full: ") }
}
