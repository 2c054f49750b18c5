import Testing
@testable import ImprintBuilder

@Suite struct ELFClosureTests {
    /// curl's real closure on this machine: libcurl and what it pulls in, OpenSSL among them, and the loader.
    @Test func closureOfCurl() throws {
        let closure = try ELFClosure.resolve(binary: "/usr/bin/curl")
        let names = Set(closure.libraries.map(\.name))
        for needed in ["libcurl.so.4", "libssl.so.3", "libcrypto.so.3", "libc.so.6", "libz.so.1", "ld-linux-x86-64.so.2"] {
            #expect(names.contains(needed), "missing \(needed) in \(names.sorted())")
        }
        #expect(closure.interpreter == "/lib64/ld-linux-x86-64.so.2")
        #expect(closure.libraries.allSatisfy { $0.destination.hasPrefix("lib/x86_64-linux-gnu/") && $0.size > 0 })
        #expect(Set(closure.libraries.map(\.destination)).count == closure.libraries.count, "a library twice")
        // Sizes are the libraries', not their symlinks' (libcurl.so.4 -> libcurl.so.4.8.0).
        let curl = try #require(closure.libraries.first { $0.name == "libcurl.so.4" })
        #expect(curl.size > 100_000, "\(curl)")
        #expect(curl.source != "/lib/x86_64-linux-gnu/libcurl.so.4" && curl.source != "/usr/lib/x86_64-linux-gnu/libcurl.so.4")
    }

    @Test func aMissingLibraryIsNamed() throws {
        #expect {
            try ELFClosure.resolve(binary: "/usr/bin/curl", searchDirs: ["/nonexistent"])
        } throws: { "\($0)".contains("needs lib") && "\($0)".contains("not on the library path") }
    }
}
