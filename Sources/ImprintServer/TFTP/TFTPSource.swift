import Glibc
import ImprintCore

/// The bytes a read transfer sends: an open store file read block by block (octet), or a small file
/// converted to netascii in memory. Immutable after opening; `read` uses `pread`, which any thread
/// may call, so one source is safe to hand to the transfer's thread.
final class TFTPSource: @unchecked Sendable {
    private let descriptor: CInt
    private let converted: [UInt8]?
    /// The bytes the transfer sends (after any conversion): the `tsize` a client is told.
    let size: UInt64
    /// The file's real path relative to the store, for the log.
    let path: String
    /// The open file the bytes are read from; nil when they are in memory (netascii).
    var fileDescriptor: CInt? { converted == nil ? descriptor : nil }

    private init(descriptor: CInt, converted: [UInt8]?, size: UInt64, path: String) {
        self.descriptor = descriptor
        self.converted = converted
        self.size = size
        self.path = path
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    /// Opens a served file. `root` is the store's real path; `components` passed `TFTPPath.resolve`.
    /// Symlinks are followed, and the file is refused when its real path leaves the store or is not
    /// itself a served name (a link in `boot/` to an `assignment.json` is refused too).
    static func open(root: String, components: [String], mode: TFTPMode, maxNetascii: Int) throws(TFTPRefusal) -> TFTPSource {
        let requested = root + "/" + components.joined(separator: "/")
        guard let resolved = realpath(requested, nil) else {
            let code = errno
            throw refusal(errno: code)
        }
        let real = String(cString: resolved)
        free(resolved)
        guard real.hasPrefix(root + "/") else {
            throw TFTPRefusal(.accessViolation, "the file's real path leaves the store (symlink)")
        }
        let relative = real.dropFirst(root.count + 1).split(separator: "/").map(String.init)
        guard (try? TFTPPath.resolve(Array(relative.joined(separator: "/").utf8))) == relative else {
            throw TFTPRefusal(.accessViolation, "the file's real path (\(relative.joined(separator: "/"))) is not served over TFTP (symlink)")
        }
        // O_NOFOLLOW: the real path has no links left, so one swapped in now is refused. O_NONBLOCK:
        // opening a FIFO must not hang the event loop (it is refused below as not a regular file).
        let fd = Glibc.open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard fd >= 0 else { throw refusal(errno: errno) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw TFTPRefusal(.accessViolation, "not a regular file")
        }
        let path = relative.joined(separator: "/")
        let size = UInt64(info.st_size)
        guard mode == .netascii else { return TFTPSource(descriptor: fd, converted: nil, size: size, path: path) }
        defer { close(fd) }
        guard size <= UInt64(maxNetascii) else {
            throw TFTPRefusal(.notDefined, "netascii is served for files up to \(maxNetascii) bytes; ask for octet")
        }
        var raw = [UInt8](repeating: 0, count: Int(size))
        let got = raw.withUnsafeMutableBytes { readFully(fd, into: $0, offset: 0) }
        guard got == Int(size) else { throw TFTPRefusal(.notDefined, "read error") }
        let text = NetASCII.encode(raw)
        return TFTPSource(descriptor: -1, converted: text, size: UInt64(text.count), path: path)
    }

    /// Copies `buffer.count` bytes at `offset` into `buffer`; the count copied (short only when the
    /// file shrank under the transfer), or -1 on an error.
    func read(into buffer: UnsafeMutableRawBufferPointer, offset: UInt64) -> Int {
        if let converted {
            let start = Int(offset)
            let count = min(buffer.count, max(0, converted.count - start))
            guard count > 0 else { return 0 }
            converted.withUnsafeBytes { source in
                UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count]).copyMemory(from: UnsafeRawBufferPointer(rebasing: source[start..<start + count]))
            }
            return count
        }
        return TFTPSource.readFully(descriptor, into: buffer, offset: offset)
    }

    private static func readFully(_ fd: CInt, into buffer: UnsafeMutableRawBufferPointer, offset: UInt64) -> Int {
        guard let base = buffer.baseAddress else { return 0 }
        var done = 0
        while done < buffer.count {
            let n = pread(fd, base + done, buffer.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                return -1
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    private static func refusal(errno code: CInt) -> TFTPRefusal {
        switch code {
        case ENOENT, ENOTDIR: TFTPRefusal(.fileNotFound, "file not found")
        case EACCES, EPERM, ELOOP: TFTPRefusal(.accessViolation, "access denied")
        default: TFTPRefusal(.notDefined, "cannot open the file (errno \(code))")
        }
    }
}
