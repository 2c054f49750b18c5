import Foundation

/// Finds the `imprint-agent` binary to put into an initrd: `$IMPRINT_AGENT`, else beside this executable,
/// else built with `swift build -c release` in the package this executable was built from.
enum AgentLocator {
    static func locate(log: (String) -> Void) throws -> String {
        let fm = FileManager.default
        if let override = ProcessInfo.processInfo.environment["IMPRINT_AGENT"], !override.isEmpty {
            guard fm.isExecutableFile(atPath: override) else { throw CommandFailure("IMPRINT_AGENT=\(override) is not an executable") }
            return override
        }
        let me = (try? fm.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let dir = (me as NSString).deletingLastPathComponent
        let beside = "\(dir)/imprint-agent"
        if fm.isExecutableFile(atPath: beside) { return beside }

        // Walk up to the package root (the folder holding Package.swift) and build the agent there.
        var root = dir
        while root != "/" && !fm.fileExists(atPath: "\(root)/Package.swift") {
            root = (root as NSString).deletingLastPathComponent
        }
        guard fm.fileExists(atPath: "\(root)/Package.swift") else {
            throw CommandFailure("imprint-agent is not beside \(me), and no package to build it from: install imprint-agent beside imprint or set IMPRINT_AGENT")
        }
        log("imprint-agent not found beside \(me): building it in \(root) (swift build -c release --product imprint-agent)")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["swift", "build", "-c", "release", "--product", "imprint-agent", "--package-path", root]
        process.standardOutput = FileHandle.standardError
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CommandFailure("building imprint-agent failed (see above)") }
        let built = "\(root)/.build/release/imprint-agent"
        guard fm.isExecutableFile(atPath: built) else { throw CommandFailure("swift build did not leave \(built)") }
        return built
    }
}
