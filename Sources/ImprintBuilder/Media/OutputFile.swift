import Foundation

/// Where a medium is written: a hidden temporary name in the output's own folder, renamed into place
/// only once the medium is whole, and removed on any failure, so no partial file is ever left under
/// the output's name. Without `force` an existing output is refused, before any work and again at the
/// rename (a hard link, which fails rather than replace a file that appeared meanwhile).
struct OutputFile {
    let path: String
    let temporary: String
    let force: Bool

    init(path: String, force: Bool) throws {
        guard !path.isEmpty else { throw MediaError("no output path: give --out FILE") }
        var info = stat()
        if stat(path, &info) == 0 {
            if (info.st_mode & S_IFMT) == S_IFDIR {
                throw MediaError("\(path) is a folder: give --out a file name, such as \(path.hasSuffix("/") ? path : path + "/")device.iso")
            }
            if !force { throw MediaError("\(path) exists: pass --force to replace it, or choose another --out") }
        }
        let slash = path.lastIndex(of: "/")
        let folder = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        guard FileIO.isDirectory(folder) else {
            throw MediaError("cannot write \(path): the folder \(folder) does not exist; create it first")
        }
        guard access(folder, W_OK) == 0 else {
            throw MediaError("cannot write \(path): the folder \(folder) is not writable")
        }
        self.path = path
        self.temporary = FileIO.temporaryName(for: path)
        self.force = force
    }

    /// Moves the finished temporary file to `path` (0644).
    func publish() throws {
        guard chmod(temporary, 0o644) == 0 else { throw MediaError("cannot set the mode of \(temporary): \(FileIO.errnoText())") }
        if force {
            guard rename(temporary, path) == 0 else { throw MediaError("cannot rename \(temporary) to \(path): \(FileIO.errnoText())") }
            return
        }
        if link(temporary, path) == 0 {
            unlink(temporary)
            return
        }
        let linkError = errno
        if linkError == EEXIST { throw MediaError("\(path) appeared while the medium was being written: pass --force to replace it") }
        // A file system without hard links (FAT, some network ones): check, then rename.
        guard !FileIO.exists(path) else { throw MediaError("\(path) exists: pass --force to replace it") }
        guard rename(temporary, path) == 0 else { throw MediaError("cannot rename \(temporary) to \(path): \(FileIO.errnoText())") }
    }

    /// Removes the temporary file, if any.
    func discard() {
        unlink(temporary)
    }
}
