import Foundation
import ImprintCore
import ImprintDigest

/// The GPT disk GUID and the ESP's FAT serial, derived from everything on the medium (its kernel,
/// initrds, command line and volume id): the same inputs give the same medium, different inputs
/// different ids, as a random GUID would but reproducibly. xorriso derives the partitions' GUIDs
/// from the disk's.
struct MediumIDs: Equatable {
    var diskGUID: GUID
    /// Eight hex digits, as `mformat -N` takes it.
    var fatSerial: String
    /// The offline stick's data partition's FAT serial.
    var dataSerial: String

    /// `extra`: what else the medium carries (an offline stick's data), folded into the seed.
    init(inputs: BootMedium.Inputs, cmdline: String, extra: String = "") throws {
        var seed = "\(BootMedium.formatVersion)|label=\(inputs.label)|cmdline=\(cmdline)"
        if !extra.isEmpty { seed += "|\(extra)" }
        for file in [inputs.kernel, inputs.initrd] + (inputs.identity.map { [$0] } ?? []) {
            seed += "|\(try Self.digest(of: file))"
        }
        self.init(seed: seed)
    }

    init(seed: String) {
        func derive(_ label: String) -> [UInt8] { SHA256.bytes(of: Array("\(seed)|\(label)".utf8)) }
        diskGUID = GUID.derived(from: derive("gpt-disk"))
        fatSerial = hexString(Array(derive("fat-serial").prefix(4))).uppercased()
        dataSerial = hexString(Array(derive("data-serial").prefix(4))).uppercased()
    }

    /// SHA-256 of a file, hex, read in 1 MiB chunks (about 15 ms for a 20 MB kernel and initrd).
    static func digest(of path: String) throws -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw MediaError("cannot read \(path): \(FileIO.errnoText())") }
        defer { close(fd) }
        guard let hasher = SHA256() else { throw MediaError("SHA-256: OpenSSL could not start a digest") }
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw MediaError("cannot read \(path): \(FileIO.errnoText())")
            }
            if n == 0 { return hasher.finish() }
            chunk.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
    }
}
