/// One member of a cpio archive, with every field the newc header carries.
public struct CpioEntry: Equatable, Sendable {
    /// The path inside the archive; initrds use relative names (`etc/imprint/identity.json`).
    public var name: String
    /// The full `st_mode`: type bits (`0o100000` file, `0o040000` directory, `0o120000`
    /// symlink, `0o020000` character device) and permissions.
    public var mode: UInt32
    public var uid: UInt32
    public var gid: UInt32
    /// Link count. The kernel treats regular files with `nlink >= 2` and the same inode as
    /// hard links of one another.
    public var nlink: UInt32
    /// Modification time in seconds since 1970; 0 keeps archives reproducible.
    public var mtime: UInt32
    /// Inode number; 0 asks ``Cpio/write(_:padTo:)`` to number the entry.
    public var ino: UInt32
    /// Device holding the file (rarely meaningful in an archive).
    public var devMajor: UInt32
    public var devMinor: UInt32
    /// The device a device node stands for.
    public var rdevMajor: UInt32
    public var rdevMinor: UInt32
    /// File contents, or a symlink's target.
    public var data: [UInt8]

    /// An entry with every field given; owners, times and device numbers default to 0.
    public init(
        name: String, mode: UInt32, uid: UInt32 = 0, gid: UInt32 = 0, nlink: UInt32 = 1,
        mtime: UInt32 = 0, ino: UInt32 = 0, devMajor: UInt32 = 0, devMinor: UInt32 = 0,
        rdevMajor: UInt32 = 0, rdevMinor: UInt32 = 0, data: [UInt8] = []
    ) {
        self.name = name
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.nlink = nlink
        self.mtime = mtime
        self.ino = ino
        self.devMajor = devMajor
        self.devMinor = devMinor
        self.rdevMajor = rdevMajor
        self.rdevMinor = rdevMinor
        self.data = data
    }

    /// The file-type bits of `st_mode`.
    public enum FileType {
        public static let mask: UInt32 = 0o170000
        public static let regular: UInt32 = 0o100000
        public static let directory: UInt32 = 0o040000
        public static let symlink: UInt32 = 0o120000
        public static let characterDevice: UInt32 = 0o020000
    }

    /// A regular file; `mode` is its permission bits (type bits, if given, are replaced).
    public static func file(_ name: String, mode: UInt32 = 0o644, data: [UInt8]) -> CpioEntry {
        CpioEntry(name: name, mode: FileType.regular | (mode & ~FileType.mask), data: data)
    }

    /// A directory, with `nlink` 2 as a fresh directory has.
    public static func directory(_ name: String, mode: UInt32 = 0o755) -> CpioEntry {
        CpioEntry(name: name, mode: FileType.directory | (mode & ~FileType.mask), nlink: 2)
    }

    /// A symbolic link to `target`, mode 0777 as symlinks have.
    public static func symlink(_ name: String, target: String) -> CpioEntry {
        CpioEntry(name: name, mode: FileType.symlink | 0o777, data: Array(target.utf8))
    }

    /// A character device node (`dev/console` is 5:1, `dev/null` 1:3).
    public static func characterDevice(_ name: String, major: UInt32, minor: UInt32, mode: UInt32) -> CpioEntry {
        CpioEntry(
            name: name, mode: FileType.characterDevice | (mode & ~FileType.mask),
            rdevMajor: major, rdevMinor: minor)
    }
}
