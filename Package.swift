// swift-tools-version:6.0
import PackageDescription

// Warnings are errors in CI (`make test` passes WERROR=1).
let strict: [SwiftSetting] = []

let package = Package(
    name: "imprint",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "imprint", targets: ["imprint"]),
        .executable(name: "imprint-agent", targets: ["imprint-agent"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        // The HTTP fast path's pipeline parts (ImprintServer; Hummingbird already depends on both).
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        // The remote-office mirror's upstream client (ImprintServer only; docs/scale.md).
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        // C libraries, through system-library targets with thin shims (DESIGN section 2).
        .systemLibrary(name: "CArchive", path: "Sources/CArchive"),
        .systemLibrary(name: "CCurl", path: "Sources/CCurl"),
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL"),
        .target(name: "CLinux", path: "Sources/CLinux"),

        // Pure logic: no Foundation, no I/O.
        .target(name: "ImprintCore", swiftSettings: strict),
        // SHA-256 through OpenSSL, shared by builder, server and agent (one digest piece, not three).
        .target(name: "ImprintDigest", dependencies: ["COpenSSL"], swiftSettings: strict),

        .target(
            name: "ImprintBuilder",
            // COpenSSL for SHA-256 of images (1.35 GiB/s here, DESIGN section 10): a departure from
            // DESIGN section 2's list for this target, noted in docs/decisions.md.
            dependencies: ["ImprintCore", "ImprintDigest", "CArchive", "COpenSSL", .product(name: "Yams", package: "Yams")],
            swiftSettings: strict),
        .target(
            name: "ImprintServer",
            dependencies: [
                "ImprintCore",
                "ImprintDigest",
                "CLinux",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: strict),
        .target(
            name: "ImprintAgent",
            dependencies: ["ImprintCore", "ImprintDigest", "CCurl", "CArchive", "COpenSSL", "CLinux"],
            swiftSettings: strict),

        .executableTarget(
            name: "imprint",
            dependencies: ["ImprintBuilder", "ImprintServer", "ImprintCore", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strict),
        .executableTarget(
            name: "imprint-agent",
            dependencies: ["ImprintAgent"],
            swiftSettings: strict,
            // The agent is PID 1 in an initrd with no Swift runtime beside it:
            // link the Swift standard library statically (DESIGN section 10).
            linkerSettings: [.unsafeFlags(["-static-stdlib"])]),

        // What more than one test target reads (the committed fuzz corpora).
        .target(name: "ImprintTestSupport", path: "Tests/ImprintTestSupport", swiftSettings: strict),
        .testTarget(name: "ImprintCoreTests", dependencies: ["ImprintCore", "ImprintTestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(
            name: "ImprintBuilderTests",
            dependencies: ["ImprintBuilder", "ImprintCore", "ImprintDigest", "CArchive", "ImprintTestSupport"]),
        .testTarget(name: "ImprintServerTests", dependencies: ["ImprintServer", "ImprintCore", "ImprintDigest", "ImprintTestSupport"]),
        .testTarget(name: "ImprintAgentTests", dependencies: ["ImprintAgent", "ImprintCore", "ImprintDigest", "ImprintTestSupport"]),
        .testTarget(name: "EndToEndTests", dependencies: ["ImprintCore"], exclude: ["Golden"]),
    ]
)
