import Testing
@testable import ImprintBuilder

@Suite struct DebianKernelTests {
    @Test(arguments: [
        ("linux-image-6.1.0-56-amd64", true), ("linux-image-amd64", false),
        ("linux-image-cloud-amd64", false), ("linux-headers-6.1.0-56-amd64", false),
    ])
    func versionedKernelNames(name: String, versioned: Bool) {
        #expect(DebianKernel.isVersionedKernel(name) == versioned)
    }

    @Test func metapackageDependsOnTheVersionedKernel() {
        #expect(DebianKernel.kernelDependency("linux-image-6.1.0-56-amd64 (= 6.1.192-2)") == "linux-image-6.1.0-56-amd64")
        #expect(DebianKernel.kernelDependency("foo, linux-image-6.1.0-50-amd64-unsigned | linux-image-6.1.0-50-amd64") == "linux-image-6.1.0-50-amd64-unsigned")
        #expect(DebianKernel.kernelDependency("initramfs-tools, kmod") == nil)
    }

    @Test func controlFieldsOfTheCandidate() {
        let info = DebianKernel.parseControl("""
            Package: linux-image-amd64
            Source: linux-signed-amd64 (6.1.192+2)
            Version: 6.1.192-2
            Depends: linux-image-6.1.0-56-amd64 (= 6.1.192-2)

            Package: linux-image-amd64
            Version: 6.1.176-1
            """, fallbackName: "x")
        #expect(info.package == "linux-image-amd64")
        #expect(info.version == "6.1.192-2")
        #expect(info.depends == "linux-image-6.1.0-56-amd64 (= 6.1.192-2)")
    }

    @Test func unknownPackageSaysApt() throws {
        let kernel = DebianKernel(package: "linux-image-does-not-exist-amd64", cache: Cache(root: "/nonexistent"), log: { _ in })
        #expect {
            try kernel.resolve("linux-image-does-not-exist-amd64")
        } throws: { error in
            "\(error)".contains("apt cannot find kernel package 'linux-image-does-not-exist-amd64'")
        }
    }
}
