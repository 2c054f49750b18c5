import COpenSSL

/// Incremental SHA-256 through OpenSSL's EVP interface (about 1.35 GiB/s here, DESIGN section 10).
/// One piece for every side: image import (builder), token checks (server), the agent's stream.
public final class SHA256 {
    private let context: OpaquePointer

    /// Nil only when OpenSSL cannot allocate or start a digest.
    public init?() {
        guard let context = EVP_MD_CTX_new() else { return nil }
        self.context = context
        guard EVP_DigestInit_ex(context, EVP_sha256(), nil) == 1 else {
            EVP_MD_CTX_free(context)
            return nil
        }
    }

    deinit { EVP_MD_CTX_free(context) }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        EVP_DigestUpdate(context, base, bytes.count)
    }

    public func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// The 32 digest bytes; the hasher is spent afterwards.
    public func finishBytes() -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        EVP_DigestFinal_ex(context, &digest, &length)
        return digest
    }

    /// The digest as 64 lower-case hex digits; the hasher is spent afterwards.
    public func finish() -> String { hexString(finishBytes()) }

    /// SHA-256 of `bytes` in lower-case hex; "" only if OpenSSL cannot start a digest.
    public static func hex(of bytes: [UInt8]) -> String {
        hexString(Self.bytes(of: bytes))
    }

    /// SHA-256 of `bytes`, 32 bytes; empty only if OpenSSL cannot start a digest.
    public static func bytes(of bytes: [UInt8]) -> [UInt8] {
        guard let hasher = SHA256() else { return [] }
        hasher.update(bytes)
        return hasher.finishBytes()
    }
}

/// Lower-case hex of `bytes`.
public func hexString(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count * 2)
    for byte in bytes {
        out.append(digits[Int(byte >> 4)])
        out.append(digits[Int(byte & 0xF)])
    }
    return String(decoding: out, as: UTF8.self)
}

/// Compares without stopping at the first difference (token hashes).
public func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for i in 0..<a.count { difference |= a[i] ^ b[i] }
    return difference == 0
}
