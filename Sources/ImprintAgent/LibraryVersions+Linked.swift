import CArchive
import CCurl
import COpenSSL

extension LibraryVersions {
    /// Asks each linked library for its version: a real call into libcurl,
    /// libcrypto and libarchive, so a missing shared library in the initrd shows
    /// at once rather than at the first download.
    public static func linked() -> LibraryVersions {
        // CURLVERSION_NOW is a macro Swift does not import; every age of the
        // struct starts with `version`, so the first age is enough.
        let curl = curl_version_info(CURLVERSION_FIRST).flatMap { $0.pointee.version }.map { String(cString: $0) }
        // The bare version numbers: "3.0.19", not "OpenSSL 3.0.19 27 Jan 2026".
        let openssl = OpenSSL_version(Int32(OPENSSL_VERSION_STRING)).map { String(cString: $0) }
        let archive = archive_version_string().map { String(cString: $0) }.map { $0.hasPrefix("libarchive ") ? String($0.dropFirst(11)) : $0 }
        return LibraryVersions(curl: curl ?? "?", openssl: openssl ?? "?", libarchive: archive ?? "?")
    }
}
