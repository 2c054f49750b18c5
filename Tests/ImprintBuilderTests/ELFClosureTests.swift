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

    /// The agent's closure joined with mke2fs's and mkfs.fat's (what the initrd holds): each library
    /// once, everything every one of them needs included, the agent's loader kept.
    @Test func mergingTheMkfsToolsKeepsOneCopyOfEach() throws {
        let curl = try ELFClosure.resolve(binary: "/usr/bin/curl")
        let tools = try InitrdTool.locate(InitrdTool.all).filter(\.tool.isProgram)
        #expect(tools.map(\.tool.name) == ["mke2fs", "mkfs.fat"])
        let merged = try curl.merging(tools.map { ($0.source, try ELFClosure.resolve(binary: $0.source)) })
        let names = merged.libraries.map(\.name)
        #expect(Set(names).count == names.count, "a library twice: \(names)")
        for needed in ["libcurl.so.4", "libext2fs.so.2", "libcom_err.so.2", "libblkid.so.1", "libuuid.so.1", "libe2p.so.2", "libc.so.6", "ld-linux-x86-64.so.2"] {
            #expect(names.contains(needed), "missing \(needed) in \(names)")
        }
        #expect(merged.libraries.map(\.destination) == merged.libraries.map(\.destination).sorted(), "sorted by destination")
        #expect(merged.interpreter == curl.interpreter)
        // Merging what is already there adds nothing.
        #expect(try merged.merging([("/usr/bin/curl", curl)]).libraries == merged.libraries)
    }

    @Test func aLibraryFromTwoPlacesFails() throws {
        let curl = try ELFClosure.resolve(binary: "/usr/bin/curl")
        var other = curl
        other.libraries = other.libraries.map { library in
            var moved = library
            if library.name == "libc.so.6" { moved.source = "/elsewhere/libc.so.6" }
            return moved
        }
        #expect {
            try curl.merging([("/opt/tool", other)])
        } throws: { "\($0)".contains("/opt/tool needs libc.so.6 from /elsewhere/libc.so.6") }
    }

    @Test func missingToolsNameTheirPackages() throws {
        var tools = InitrdTool.all
        for i in tools.indices { tools[i].searchDirs = ["/nonexistent"] }
        let error = #expect(throws: InitrdToolError.self) { try InitrdTool.locate(tools) }
        #expect(error?.description.contains("mke2fs (e2fsprogs, looked for in /nonexistent)") == true, "\(String(describing: error))")
        #expect(error?.description.contains("mkfs.fat (dosfstools") == true)
        #expect(error?.description.hasSuffix("install e2fsprogs and dosfstools (scripts/bootstrap does)") == true, "\(String(describing: error))")
    }

    @Test func aMissingLibraryIsNamed() throws {
        #expect {
            try ELFClosure.resolve(binary: "/usr/bin/curl", searchDirs: ["/nonexistent"])
        } throws: { "\($0)".contains("needs lib") && "\($0)".contains("not on the library path") }
    }
}
