import CLinux
import Glibc

/// The disk a deploy writes: a block device on a machine, a file in host mode and tests.
public protocol DiskDevice: AnyObject {
    var path: String { get }
    /// Bytes the disk holds (a file: its length).
    var size: Int { get }
    var isBlockDevice: Bool { get }
    /// Writes all of `bytes` at `offset`.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(DeployFailure)
    /// Reads up to `count` bytes at `offset`; nil on a read error.
    func read(count: Int, at offset: Int) -> [UInt8]?
    /// fsync, then (a block device) the kernel re-reads the partition table; a warning when it could not.
    func flush() throws(DeployFailure) -> String?
}

extension DiskDevice {
    /// Exactly `count` bytes at `offset`, or nil: the reader Core's GPT code takes.
    func readExactly(_ offset: Int, _ count: Int) -> [UInt8]? {
        guard let bytes = read(count: count, at: offset), bytes.count == count else { return nil }
        return bytes
    }
}

/// A disk opened with `open(2)`: `pwrite` at offsets, `fsync`, `BLKRRPART`.
public final class OpenedDisk: DiskDevice {
    public let path: String
    public let size: Int
    public let isBlockDevice: Bool
    private let fd: Int32

    /// Opens an existing disk or file for writing; never creates one.
    public init(path: String) throws(DeployFailure) {
        let fd = open(path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else {
            throw DeployFailure(.preflight, "cannot open \(path): \(errorText(errno))", hint: "check the disk exists (host mode: create the file first, e.g. truncate -s 1G FILE)", retryable: false)
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            close(fd)
            throw DeployFailure(.preflight, "cannot stat \(path): \(errorText(errno))", hint: "check the disk", retryable: false)
        }
        let block = (info.st_mode & S_IFMT) == S_IFBLK
        var bytes: UInt64 = 0
        if block {
            guard imprint_blk_size(fd, &bytes) == 0 else {
                close(fd)
                throw DeployFailure(.preflight, "cannot read the size of \(path): \(errorText(errno))", hint: "check the disk", retryable: false)
            }
        } else {
            bytes = UInt64(info.st_size)
        }
        self.fd = fd
        self.path = path
        self.size = Int(bytes)
        self.isBlockDevice = block
    }

    deinit { close(fd) }

    public func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(DeployFailure) {
        var done = 0
        while done < bytes.count {
            let written = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            if written > 0 {
                done += written
                continue
            }
            if written < 0 && errno == EINTR { continue }
            let code = written == 0 ? ENOSPC : errno
            let what = "cannot write \(path) at byte \(offset + done): \(errorText(code))"
            if code == ENOSPC || code == EFBIG {
                throw DeployFailure(.stream, "disk full: " + what, hint: "the disk (or the file system holding it) has no room for the image: use a larger disk", retryable: false)
            }
            throw DeployFailure(.stream, what, hint: "the disk may be failing or read-only: check the console and the disk", retryable: false)
        }
    }

    public func read(count: Int, at offset: Int) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: count)
        let got = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, off_t(offset)) }
        guard got >= 0 else { return nil }
        return Array(buffer.prefix(got))
    }

    public func flush() throws(DeployFailure) -> String? {
        guard fsync(fd) == 0 else {
            let code = errno
            throw DeployFailure(.stream, "fsync \(path): \(errorText(code))", hint: code == ENOSPC ? "the disk is full" : "the disk may be failing", retryable: false)
        }
        if isBlockDevice && imprint_blk_reread_partitions(fd) != 0 {
            // Busy partitions keep the old table until reboot; the deploy itself is on disk.
            return "the kernel did not re-read \(path)'s partition table (\(errorText(errno))): partitions appear after the reboot"
        }
        return nil
    }
}
