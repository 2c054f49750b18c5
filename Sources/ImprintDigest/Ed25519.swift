import COpenSSL

/// Ed25519 signatures through OpenSSL's EVP interface (DESIGN section 8): the CLI signs manifests,
/// the agent verifies them with the raw public key from its initrd. Keys and signatures are raw
/// bytes (32-byte seed, 32-byte public key, 64-byte signature), as RFC 8032 defines them.
public enum Ed25519 {
    public static let keyBytes = 32
    public static let signatureBytes = 64

    /// A new private key (its 32-byte seed) from OpenSSL's random generator; nil if it has none.
    public static func generateSeed() -> [UInt8]? {
        var seed = [UInt8](repeating: 0, count: keyBytes)
        guard RAND_bytes(&seed, Int32(keyBytes)) == 1 else { return nil }
        return seed
    }

    /// The public key of `seed`; nil for a seed that is not 32 bytes.
    public static func publicKey(seed: [UInt8]) -> [UInt8]? {
        guard seed.count == keyBytes, let key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nil, seed, seed.count) else { return nil }
        defer { EVP_PKEY_free(key) }
        var length = keyBytes
        var out = [UInt8](repeating: 0, count: keyBytes)
        guard EVP_PKEY_get_raw_public_key(key, &out, &length) == 1, length == keyBytes else { return nil }
        return out
    }

    /// The 64-byte signature of `message` by `seed`; nil for a bad seed.
    public static func sign(_ message: [UInt8], seed: [UInt8]) -> [UInt8]? {
        guard seed.count == keyBytes, let key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nil, seed, seed.count) else { return nil }
        defer { EVP_PKEY_free(key) }
        guard let context = EVP_MD_CTX_new() else { return nil }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestSignInit(context, nil, nil, nil, key) == 1 else { return nil }
        var length = signatureBytes
        var signature = [UInt8](repeating: 0, count: signatureBytes)
        // An empty message still needs a pointer: one to a byte that is not read (count 0).
        let ok = (message.isEmpty ? [0] : message).withUnsafeBufferPointer { buffer in
            EVP_DigestSign(context, &signature, &length, buffer.baseAddress, message.count)
        }
        guard ok == 1, length == signatureBytes else { return nil }
        return signature
    }

    /// Whether `signature` is `publicKey`'s over `message` (`EVP_DigestVerify`); false for keys or
    /// signatures of the wrong length.
    public static func verify(_ signature: [UInt8], of message: [UInt8], publicKey: [UInt8]) -> Bool {
        guard signature.count == signatureBytes, publicKey.count == keyBytes,
              let key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, publicKey, publicKey.count) else { return false }
        defer { EVP_PKEY_free(key) }
        guard let context = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestVerifyInit(context, nil, nil, nil, key) == 1 else { return false }
        let ok = (message.isEmpty ? [0] : message).withUnsafeBufferPointer { buffer in
            EVP_DigestVerify(context, signature, signature.count, buffer.baseAddress, message.count)
        }
        return ok == 1
    }
}

/// HMAC-SHA256 (media tokens, DESIGN section 8).
public func hmacSHA256(key: [UInt8], message: [UInt8]) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: 32)
    var length: UInt32 = 0
    let result = key.withUnsafeBufferPointer { k in
        message.withUnsafeBufferPointer { m in
            HMAC(EVP_sha256(), k.baseAddress, Int32(k.count), m.baseAddress, m.count, &out, &length)
        }
    }
    return result == nil ? [] : Array(out.prefix(Int(length)))
}
